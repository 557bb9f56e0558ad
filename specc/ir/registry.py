"""The vocabulary, read off the IR's type annotations: one source of truth.

`members(annotation)` answers "which words may stand here?" for any field, so the
builder, completion, hover docs and `specc explain` never keep lists of their own.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo

from specc.ir.base import Node

INTERNAL_FIELDS = frozenset({"span", "field_spans", "kind"})


def _strip(annotation: Any) -> Any:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    return annotation


_UNION_ARGS: dict[int, tuple[Any, tuple[Any, ...]]] = {}


def _union_args(annotation: Any) -> tuple[Any, ...]:
    # Memoised by identity: the builder asks this for the same few field annotations
    # thousands of times per file, and hashing typing objects is itself slow. The entry
    # keeps the annotation alive, so its id cannot be reused by another object.
    hit = _UNION_ARGS.get(id(annotation))
    if hit is not None and hit[0] is annotation:
        return hit[1]
    stripped = _strip(annotation)
    if get_origin(stripped) in (Union, types.UnionType):
        out: list[Any] = []
        for arg in get_args(stripped):
            out.extend(_union_args(arg))
        result: tuple[Any, ...] = tuple(out)
    else:
        result = (stripped,)
    _UNION_ARGS[id(annotation)] = (annotation, result)
    return result


_MEMBERS: dict[int, tuple[Any, dict[str, type[Node]]]] = {}


def _members(annotation: Any) -> dict[str, type[Node]]:
    table: dict[str, type[Node]] = {}
    for arg in _union_args(annotation):
        if isinstance(arg, type) and issubclass(arg, Node) and "kind" in arg.model_fields:
            table[arg.kind_name()] = arg
            for alias in arg.aliases:
                table.setdefault(alias, arg)
    return table


def members(annotation: Any) -> dict[str, type[Node]]:
    """Word (canonical kind or alias) -> IR class, for every node type `annotation` admits."""
    # Memoised by identity like `_union_args`: hashing a large Union (every layer) costs
    # a quarter of a millisecond, and the builder asks for the same few annotations.
    hit = _MEMBERS.get(id(annotation))
    if hit is not None and hit[0] is annotation:
        return hit[1]
    table = _members(annotation)
    _MEMBERS[id(annotation)] = (annotation, table)
    return table


_CANONICAL: dict[int, tuple[Any, list[str]]] = {}


def canonical(annotation: Any) -> list[str]:
    """Canonical kinds only (no aliases), in declaration order (memoised like `members`:
    the builder asks once per statement; callers must not modify the list)."""
    hit = _CANONICAL.get(id(annotation))
    if hit is not None and hit[0] is annotation:
        return hit[1]
    seen = list(dict.fromkeys(cls.kind_name() for cls in members(annotation).values()))
    _CANONICAL[id(annotation)] = (annotation, seen)
    return seen


def list_item(annotation: Any) -> Any | None:
    """X for list[X] (through Optional/Annotated), else None."""
    for arg in _union_args(annotation):
        if get_origin(arg) is list:
            return get_args(arg)[0]
    return None


def literal_values(annotation: Any) -> list[Any]:
    values: list[Any] = []
    for arg in _union_args(annotation):
        if get_origin(arg) is Literal:
            values.extend(get_args(arg))
    return values


def accepts(annotation: Any, kind: type) -> bool:
    """Whether a plain value of python type `kind` fits somewhere in `annotation`."""
    for arg in _union_args(annotation):
        if arg is kind or arg is Any:
            return True
        if get_origin(arg) is tuple and kind is tuple:
            return True
        if kind is float and arg is float:
            return True
    return False


def admits_plain(annotation: Any) -> bool:
    """Whether a plain value (number, text, shape, list) can stand here, not only a kind."""
    return any(
        arg is not type(None) and not (isinstance(arg, type) and issubclass(arg, Node))
        for arg in _union_args(annotation)
    )


def only_text(annotation: Any) -> bool:
    """Whether only a name or text can stand here (`Identifier | None`)."""
    args = [a for a in _union_args(annotation) if a is not type(None)]
    return bool(args) and all(a is str for a in args)


def is_bool_field(info: FieldInfo) -> bool:
    return any(arg is bool for arg in _union_args(info.annotation))


def user_fields(cls: type[Node]) -> dict[str, FieldInfo]:
    """The arguments a user may write for this node."""
    return {k: v for k, v in cls.model_fields.items() if k not in INTERNAL_FIELDS}


def block_words(cls: type[Node]) -> list[str]:
    """Every statement keyword valid inside a block of `cls`."""
    words = list(cls.keywords)
    if cls.collector:
        item = list_item(cls.model_fields[cls.collector].annotation)
        words.extend(members(item))
    return words


def collector_members(cls: type[Node]) -> dict[str, type[Node]]:
    if not cls.collector:
        return {}
    return members(list_item(cls.model_fields[cls.collector].annotation))
