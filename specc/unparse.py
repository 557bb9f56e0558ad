"""IR to spec text: `to_text(spec)` writes a `Spec` back as a .nn file that builds to the same IR.

Nothing here knows a layer or an optimizer: the IR classes' metadata (`positional`,
`keywords`, `collector`, `variadic`, `filler_words`, field defaults) decides how each node
is written, so new IR classes are written correctly without touching this file:

- only fields that differ from their default are written;
- a positional field is written positionally when the builder's own routing rule
  (`Builder._positional_target`) would put the value back in that field, else as `key=value`;
- a boolean set to True where the default is False is a flag word (`shuffle`);
- nested nodes are words (`relu`) or calls (`uniform(-0.1, 0.1)`); floats use `repr`, so
  they read back bit for bit.

The result is CST, printed by `specc.fmt.layout`, so it is already `specc fmt` clean.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from specc import cst
from specc.build import Builder
from specc.fmt import layout
from specc.ir.base import Node, strip_spans
from specc.ir.registry import accepts, is_bool_field, list_item, members, user_fields
from specc.ir.spaces import SPACE_TYPES
from specc.ir.spec import Spec
from specc.span import Span

_NOWHERE = Span(line=1, column=1, end_line=1, end_column=1, start=0, end=0)
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


class UnparseError(ValueError):
    """The IR holds a value the spec language has no way to write (e.g. NaN)."""


def to_text(spec: Spec) -> str:
    """Spec text that builds to the same IR as `spec` (compare with `strip_spans`)."""
    return layout(to_statements(spec))


def to_statements(spec: Spec) -> list[cst.Statement]:
    """The CST of `to_text(spec)`."""
    _, body = _parts(spec)
    return body


# ---- nodes -------------------------------------------------------------------------------


def _body_fields(cls: type[Node]) -> set[str]:
    """Fields written as statements inside the node's block rather than as arguments."""
    fields = {f for f in cls.keywords.values() if f not in cls.positional}
    if cls.collector:
        fields.add(cls.collector)
    return fields


def _parts(node: Node) -> tuple[list[cst.Arg], list[cst.Statement]]:
    """A node's header arguments and the statements of its block."""
    cls = type(node)
    inside = _body_fields(cls)
    args = _args(node, [name for name in user_fields(cls) if name not in inside])
    body: list[cst.Statement] = []
    for name in user_fields(cls):
        if name not in inside or not _differs(node, name):
            continue
        value = getattr(node, name)
        if name == cls.collector:
            body.extend(_statement(item.kind_name(), item) for item in value)
        else:
            body.extend(_field_statements(cls, name, value))
    return args, body


def _statement(keyword: str, node: Node, first: Sequence[cst.Arg] = ()) -> cst.Statement:
    args, body = _parts(node)
    block = cst.Block(tuple(body), _NOWHERE) if body else None
    return cst.Statement(_word(keyword), (*first, *args), block, _NOWHERE)


def _field_statements(cls: type[Node], name: str, value: Any) -> list[cst.Statement]:
    """The statements that set field `name` of a block, mirroring `Builder.statement_value`."""
    keyword = next(k for k, f in cls.keywords.items() if f == name)
    annotation = cls.model_fields[name].annotation
    item = list_item(annotation)
    if item is not None:
        if isinstance(item, type) and issubclass(item, Node):
            return [_statement(keyword, v) for v in value]  # `model a {...}`, one per element
        values = tuple(_arg(_value(v, item, name)) for v in value)
        return [cst.Statement(_word(keyword), values, None, _NOWHERE)]  # `metrics a b`
    if value is None:
        raise UnparseError(f"`{name}` is None but its default is not; the language cannot say so")
    kinds = {c for c in members(annotation).values() if c not in SPACE_TYPES}
    if len(kinds) > 1:  # `optimizer sgd lr=0.1`: the kind first
        return [_statement(keyword, value, (_arg(_word(value.kind_name())),))]
    if kinds:  # `batch 128 shuffle`
        return [_statement(keyword, value)]
    return [cst.Statement(_word(keyword), (_arg(_value(value, annotation, name)),), None, _NOWHERE)]


def _differs(node: Node, name: str) -> bool:
    info = type(node).model_fields[name]
    if info.is_required():
        return True
    default = info.get_default(call_default_factory=True)
    return bool(strip_spans(getattr(node, name)) != strip_spans(default))


# ---- arguments ---------------------------------------------------------------------------


def _args(node: Node, names: Sequence[str]) -> list[cst.Arg]:
    """Positional values first (where they route back), then flags, then `key=value`."""
    cls = type(node)
    fields = user_fields(cls)
    todo = [n for n in names if _differs(node, n)]
    router = _Router(cls)
    positional: list[cst.Arg] = []
    for name in cls.positional:
        value = getattr(node, name)
        if name not in todo or value is None or (is_bool_field(fields[name]) and value is True):
            continue
        written = _value(value, fields[name].annotation, name)
        if router.place(written, name):
            positional.append(_arg(written))
            todo.remove(name)
    if positional and cls.filler_words:
        positional.insert(0, _arg(_word(cls.filler_words[0])))  # `init from "..."`
    flags: list[cst.Arg] = []
    for name in list(todo):
        flag = is_bool_field(fields[name]) and getattr(node, name) is True
        if flag and router.place(_word(name), name):
            flags.append(_arg(_word(name)))
            todo.remove(name)
    extra: list[cst.Arg] = []
    if cls.variadic and cls.variadic in todo:
        todo.remove(cls.variadic)
        item = list_item(fields[cls.variadic].annotation) or Any
        for value in getattr(node, cls.variadic):
            written = _value(value, item, cls.variadic)
            if not router.place(written, None):
                raise UnparseError(
                    f"`{cls.kind_name()}` cannot list {value!r}: it reads as another argument"
                )
            extra.append(_arg(written))
    keyed: list[cst.Arg] = []
    for name in todo:
        if name in cls.arg_aliases:
            raise UnparseError(
                f"`{cls.kind_name()}.{name}` is spelled like an alias of another field"
            )
        value = getattr(node, name)
        if value is None:
            raise UnparseError(f"`{cls.kind_name()}.{name}` is None but its default is not")
        key = cls.spelled.get(name, name)
        keyed.append(cst.Arg(_word(key), _value(value, fields[name].annotation, name), _NOWHERE))
    return [*positional, *flags, *extra, *keyed]


class _Router:
    """Replays the builder's assignment of positional values, so we write only what reads back."""

    def __init__(self, cls: type[Node]) -> None:
        self.cls = cls
        self.pending = list(cls.positional)
        self.assigned: dict[str, Any] = {}
        self.builder = Builder("")

    def place(self, value: cst.Value, field: str | None) -> bool:
        """Whether `value`, written next, fills `field` (None: the variadic list); if so,
        the slot is taken, as the builder would take it."""
        if isinstance(value, cst.Word) and value.name in self.cls.filler_words:
            return False  # the builder skips filler words
        target = self.builder._positional_target(self.cls, value, self.pending, self.assigned)
        if target != field:
            return False
        if target is not None:
            self.assigned[target] = value
            if target in self.pending:
                self.pending.remove(target)
        return True


# ---- values ------------------------------------------------------------------------------


def _value(value: Any, annotation: Any, name: str) -> cst.Value:
    """One value as CST; `annotation` is the slot's type (it decides word vs string)."""
    for kind, write in _WRITERS:
        if isinstance(value, kind):
            return write(value, annotation, name)
    raise UnparseError(f"`{name}`: cannot write a value of type {type(value).__name__}")


def _node_value(value: Node, annotation: Any, name: str) -> cst.Value:
    args, body = _parts(value)
    if body:
        raise UnparseError(f"`{name}`: a block cannot be written as a value")
    kind = _word(value.kind_name())
    return cst.Call(kind, tuple(args), _NOWHERE) if args else kind


def _bool_value(value: bool, annotation: Any, name: str) -> cst.Value:
    return _word("true" if value else "false")


def _int_value(value: int, annotation: Any, name: str) -> cst.Value:
    return cst.Number(value, str(value), _NOWHERE)


def _float_value(value: float, annotation: Any, name: str) -> cst.Value:
    if not math.isfinite(value):
        raise UnparseError(f"`{name}` is {value!r}; specs only hold finite numbers")
    return cst.Number(value, repr(value), _NOWHERE)  # repr: the shortest exact form


def _str_value(value: str, annotation: Any, name: str) -> cst.Value:
    # A bare word reads back as the same text unless it names a kind or a boolean.
    plain = (
        _WORD.fullmatch(value)
        and value not in ("true", "false")
        and value not in members(annotation)
    )
    return _word(value) if plain else cst.String(value, _quote(value), _NOWHERE)


def _tuple_value(value: tuple[Any, ...], annotation: Any, name: str) -> cst.Value:
    if len(value) >= 2 and all(isinstance(d, int) and d >= 0 for d in value):
        return cst.Shape(value, "x".join(str(d) for d in value), _NOWHERE)
    if len(value) == 1 and isinstance(value[0], int) and not accepts(annotation, int):
        return _int_value(value[0], annotation, name)  # `input 8` builds (8,)
    return _list_value(list(value), annotation, name)


def _list_value(value: list[Any], annotation: Any, name: str) -> cst.Value:
    item = list_item(annotation) or Any
    return cst.List(tuple(_value(v, item, name) for v in value), _NOWHERE)


_WRITERS: tuple[tuple[type, Any], ...] = (
    (Node, _node_value),
    (bool, _bool_value),  # before int: a bool is an int in Python
    (int, _int_value),
    (float, _float_value),
    (str, _str_value),
    (tuple, _tuple_value),
    (list, _list_value),
)

_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t"}


def _quote(text: str) -> str:
    if "\r" in text or "\x00" in text:
        raise UnparseError(f"{text!r}: strings cannot hold carriage returns or NUL characters")
    return '"' + "".join(_ESCAPES.get(ch, ch) for ch in text) + '"'


def _word(name: str) -> cst.Word:
    return cst.Word(name, _NOWHERE)


def _arg(value: cst.Value) -> cst.Arg:
    return cst.Arg(None, value, _NOWHERE)
