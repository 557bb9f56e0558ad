"""Where the cursor is: the enclosing blocks, the statement and the word under it, and the
IR class each of them means.

Everything here reads the concrete syntax tree (which the parser recovers even from broken
text) and the IR registry (specc/ir/registry.py); it never keeps a vocabulary of its own.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pydantic.fields import FieldInfo

from specc import cst
from specc.ir.base import Node
from specc.ir.registry import collector_members, list_item, members, user_fields
from specc.ir.spaces import SPACE_TYPES
from specc.ir.spec import Spec


def kinds(annotation: Any) -> dict[str, type[Node]]:
    """Words naming a node kind for a field, without search-space helpers."""
    return {k: c for k, c in members(annotation).items() if c not in SPACE_TYPES}


def field_of(parent: type[Node], keyword: str) -> tuple[str, FieldInfo] | None:
    """The field a statement keyword fills in a block of `parent` (`epochs` in train)."""
    name = parent.keywords.get(keyword)
    if name is None:
        return None
    return name, parent.model_fields[name]


def statement_class(parent: type[Node], keyword: str, first_word: str | None) -> type[Node] | None:
    """The IR class a statement builds inside a block of `parent`, if it builds a node.

    `dense` in a model builds Dense; `optimizer adam` in train builds Adam (the first word
    picks the kind); `batch` in data builds Batch; `epochs` builds no node (None).
    """
    collected = collector_members(parent)
    if keyword in collected and keyword not in parent.keywords:
        return collected[keyword]
    found = field_of(parent, keyword)
    if found is None:
        return None
    annotation = found[1].annotation
    item = list_item(annotation)
    if isinstance(item, type) and issubclass(item, Node):
        return item
    choices = kinds(item if item is not None else annotation)
    classes = set(choices.values())
    if len(classes) == 1:
        return next(iter(classes))
    if len(classes) > 1 and item is None and first_word is not None:
        return choices.get(first_word)
    return None


def dispatches(parent: type[Node], keyword: str) -> dict[str, type[Node]]:
    """Kinds chosen by the statement's first word (`loss mse`), or {} when it has none."""
    found = field_of(parent, keyword)
    if found is None or list_item(found[1].annotation) is not None:
        return {}
    choices = kinds(found[1].annotation)
    return choices if len(set(choices.values())) > 1 else {}


def first_word(stmt: cst.Statement) -> str | None:
    if stmt.args and stmt.args[0].key is None and isinstance(stmt.args[0].value, cst.Word):
        return stmt.args[0].value.name
    return None


def _inside_body(stmt: cst.Statement, offset: int) -> bool:
    body = stmt.body
    if body is None:
        return False
    if not body.closed:
        return body.span.start < offset
    return body.span.start < offset < body.span.end


@dataclass(frozen=True)
class Frame:
    """One statement on the path to the cursor and the class of the block it sits in."""

    stmt: cst.Statement
    parent: type[Node]

    @property
    def cls(self) -> type[Node] | None:
        """The class this statement builds (and whose block its body is)."""
        return statement_class(self.parent, self.stmt.keyword.name, first_word(self.stmt))


def statement_at(statements: tuple[cst.Statement, ...], offset: int) -> tuple[Frame, ...]:
    """Frames down to the innermost statement whose text holds `offset` (inclusive end)."""
    out: list[Frame] = []
    parent: type[Node] | None = Spec
    current = statements
    while parent is not None:
        stmt = next((s for s in current if s.span.start <= offset <= s.span.end), None)
        if stmt is None:
            break
        frame = Frame(stmt, parent)
        out.append(frame)
        if stmt.body is None or not _inside_body(stmt, offset):
            break
        parent = frame.cls
        current = stmt.body.statements
    return tuple(out)


def _within(span: Any, offset: int) -> bool:
    return bool(span.start <= offset <= span.end)


@dataclass(frozen=True)
class Target:
    """The word under the cursor: a statement keyword, an argument key, or a value word."""

    frame: Frame
    role: str  # "keyword" | "key" | "value"
    word: cst.Word
    arg: cst.Arg | None = None


def target_at(statements: tuple[cst.Statement, ...], offset: int) -> Target | None:
    frames = statement_at(statements, offset)
    if not frames:
        return None
    frame = frames[-1]
    stmt = frame.stmt
    if _within(stmt.keyword.span, offset):
        return Target(frame, "keyword", stmt.keyword)
    for arg in stmt.args:
        if arg.key is not None and _within(arg.key.span, offset):
            return Target(frame, "key", arg.key, arg)
        for word in _words(arg.value):
            if _within(word.span, offset):
                return Target(frame, "value", word, arg)
    return None


def _words(value: cst.Value) -> Iterator[cst.Word]:
    if isinstance(value, cst.Word):
        yield value
    elif isinstance(value, cst.Call):
        yield value.name
        for arg in value.args:
            yield from _words(arg.value)
    elif isinstance(value, cst.List):
        for item in value.items:
            yield from _words(item)


def is_layer_statement(parent: type[Node], keyword: str) -> bool:
    return parent.collector == "layers" and keyword not in parent.keywords


def model_name(stmt: cst.Statement) -> str | None:
    """The name in `model NAME { ... }`."""
    return first_word(stmt) if stmt.keyword.name == "model" else None


def user_field(cls: type[Node], key: str) -> tuple[str, FieldInfo] | None:
    """A user-writable argument by name or alias (`p` -> `rate` for dropout)."""
    name = cls.arg_aliases.get(key, key)
    info = user_fields(cls).get(name)
    return (name, info) if info is not None else None
