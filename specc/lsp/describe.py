"""Human-readable text about IR classes and fields, for completion details and hovers.

All of it is read from the IR: class docstrings, field descriptions (attribute docstrings),
annotations and defaults, so the editor shows exactly what `specc explain` and the docs say.
"""

from __future__ import annotations

import types
import typing
from typing import Any, Literal, Union, get_args, get_origin

from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from specc.ir import docs
from specc.ir.base import Node
from specc.ir.registry import literal_values
from specc.lsp.context import kinds

_SCALARS = {int: "int", float: "number", bool: "true/false", str: "text"}


def _parts(annotation: Any) -> list[Any]:
    while get_origin(annotation) is typing.Annotated:
        annotation = get_args(annotation)[0]
    if get_origin(annotation) in (Union, types.UnionType):
        out: list[Any] = []
        for arg in get_args(annotation):
            out.extend(_parts(arg))
        return out
    return [annotation]


def type_text(annotation: Any) -> str:
    """`int`, `number`, `relu | gelu | ...`, `valid | same | int`, `shape`, `list of number`."""
    words: list[str] = []
    names = list(dict.fromkeys(c.kind_name() for c in kinds(annotation).values()))
    if names:
        shown = " | ".join(names[:6]) + (" | ..." if len(names) > 6 else "")
        words.append(shown)
    for part in _parts(annotation):
        if part is type(None) or (isinstance(part, type) and issubclass(part, Node)):
            continue
        origin = get_origin(part)
        if origin is Literal:
            words.append(" | ".join(str(v) for v in get_args(part)))
        elif origin is tuple:
            words.append("shape")
        elif origin is list:
            words.append(f"list of {type_text(get_args(part)[0])}")
        elif part in _SCALARS:
            words.append(_SCALARS[part])
        elif origin is typing.Annotated:
            words.append(type_text(part))
    unique = list(dict.fromkeys(w for w in words if w))
    return " | ".join(unique) or "value"


def default_text(info: FieldInfo) -> str | None:
    """The default as it would be written in a spec, or None when the field is required."""
    if info.default is PydanticUndefined and info.default_factory is None:
        return None
    value = info.default if info.default_factory is None else info.default_factory()  # type: ignore[call-arg]
    if isinstance(value, Node):
        return value.kind_name()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, tuple):
        return "x".join(str(v) for v in value)
    if value is None:
        return "none"
    if isinstance(value, list):
        return "[]" if not value else str(value)
    return str(value)


def field_detail(info: FieldInfo) -> str:
    default = default_text(info)
    return type_text(info.annotation) + (f" = {default}" if default is not None else " (required)")


def field_doc(name: str, info: FieldInfo) -> str:
    """Markdown for one argument."""
    # Field descriptions are read from the IR's attribute docstrings the first time the
    # server describes an argument (not at start-up: `specc check` never pays for it).
    docs.install()
    return f"**{name}**: `{field_detail(info)}`\n\n{info.description or ''}".rstrip()


def class_doc(cls: type[Node], role: str) -> str:
    """Markdown for a statement or kind: its word, what it is, aliases and docstring."""
    head = f"**{cls.kind_name()}** ({role})"
    if cls.aliases:
        head += f" · also {', '.join(f'`{a}`' for a in cls.aliases)}"
    return f"{head}\n\n{cls.doc()}"


def choices(info: FieldInfo) -> list[tuple[str, str]]:
    """(word, short doc) for every word a field accepts as a value."""
    out = [(word, cls.doc()) for word, cls in kinds(info.annotation).items()]
    out.extend((str(v), "") for v in literal_values(info.annotation))
    if any(p is bool for p in _parts(info.annotation)):
        out.extend([("true", ""), ("false", "")])
    return out
