"""Signature help for statements (`dense <units> <activation> name=… [bias] init=…`) and the
field an argument fills, for hovers on positional values (the `32` of `conv2d 32 3`).

Which field a positional value fills is the builder's decision; it records it in each IR
node's `field_spans`, so this module reads it from there and only guesses (positional
fields in order) for a statement that did not build.
"""

from __future__ import annotations

from collections.abc import Iterator

from lsprotocol import types
from pydantic.fields import FieldInfo

from specc import cst
from specc.ir.base import Node
from specc.ir.registry import is_bool_field, user_fields
from specc.lsp.context import Frame, dispatches, first_word, statement_at
from specc.lsp.describe import field_doc
from specc.lsp.documents import DocState


def _nodes(value: object) -> Iterator[Node]:
    if isinstance(value, Node):
        yield value
        for name in type(value).model_fields:
            yield from _nodes(getattr(value, name))
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _nodes(item)


def node_for(state: DocState, stmt: cst.Statement, cls: type[Node]) -> Node | None:
    """The IR node a statement built, if it built one."""
    for node in _nodes(state.analysis.spec):
        if type(node) is cls and node.span is not None and node.span.start == stmt.span.start:
            return node
    return None


def _skips(frame: Frame, arg: cst.Arg, cls: type[Node]) -> bool:
    """Arguments that fill no field: the kind word (`adam`), filler words (`from`)."""
    if arg.key is not None or not isinstance(arg.value, cst.Word):
        return False
    word = arg.value.name
    if word in cls.filler_words:
        return True
    return arg is frame.stmt.args[0] and word in dispatches(frame.parent, frame.stmt.keyword.name)


def arg_field(state: DocState, frame: Frame, arg: cst.Arg) -> tuple[str, FieldInfo] | None:
    """The field an argument of the statement fills."""
    cls = frame.cls
    if cls is None or _skips(frame, arg, cls):
        return None
    fields = user_fields(cls)
    if arg.key is not None:
        name = cls.arg_aliases.get(arg.key.name, arg.key.name)
        return (name, fields[name]) if name in fields else None
    node = node_for(state, frame.stmt, cls)
    if node is not None:
        for name, span in node.field_spans.items():
            if span.start == arg.span.start and name in fields:
                return name, fields[name]
    # Not built (or a flag): positional fields in order, flags by their own name.
    if isinstance(arg.value, cst.Word) and arg.value.name in fields:
        info = fields[arg.value.name]
        if is_bool_field(info):
            return arg.value.name, info
    plain = [a for a in frame.stmt.args if a.key is None and not _skips(frame, a, cls)]
    index = next((i for i, a in enumerate(plain) if a is arg), None)
    if index is not None and index < len(cls.positional):
        name = cls.positional[index]
        return name, fields[name]
    return None


def argument_doc(state: DocState, offset: int) -> list[str]:
    """Docs of the field a (positional or named) value under the cursor fills."""
    frames = statement_at(state.analysis.document.statements, offset)
    if not frames:
        return []
    frame = frames[-1]
    arg = next((a for a in frame.stmt.args if a.span.start <= offset <= a.span.end), None)
    found = arg_field(state, frame, arg) if arg is not None else None
    return [field_doc(*found)] if found else []


def signature_help(state: DocState, position: types.Position) -> types.SignatureHelp | None:
    offset = state.index.offset(position)
    text = state.analysis.text
    probe = offset  # `dense 10 |`: the statement ends before the spaces typed after it
    while probe > 0 and text[probe - 1] in " \t":
        probe -= 1
    frames = statement_at(state.analysis.document.statements, probe)
    if not frames:
        return None
    frame = frames[-1]
    cls = frame.cls
    if cls is None or (frame.stmt.body is not None and frame.stmt.body.span.start < offset):
        return None
    head = frame.stmt.keyword.name
    kind = first_word(frame.stmt)
    if kind is not None and kind in dispatches(frame.parent, head):
        head = f"{head} {kind}"
    label = head
    parameters: list[types.ParameterInformation] = []
    names: list[str] = []
    fields = user_fields(cls)
    ordered = [*cls.positional, *(n for n in fields if n not in cls.positional)]
    for name in ordered:
        info = fields[name]
        text = f"<{name}>" if name in cls.positional else f"{name}=…"
        if name not in cls.positional and is_bool_field(info):
            text = f"[{name}]"
        start = len(label) + 1
        label = f"{label} {text}"
        parameters.append(
            types.ParameterInformation(
                label=(start, len(label)),
                documentation=types.MarkupContent(
                    kind=types.MarkupKind.Markdown, value=field_doc(name, info)
                ),
            )
        )
        names.append(name)
    active = _active(state, frame, offset)
    signature = types.SignatureInformation(
        label=label,
        documentation=types.MarkupContent(kind=types.MarkupKind.Markdown, value=cls.doc()),
        parameters=parameters,
    )
    return types.SignatureHelp(
        signatures=[signature],
        active_signature=0,
        active_parameter=names.index(active) if active in names else None,
    )


def _active(state: DocState, frame: Frame, offset: int) -> str | None:
    """The field being written at the cursor: the argument under it, else the next
    positional field still free."""
    cls = frame.cls
    if cls is None:
        return None
    for arg in frame.stmt.args:
        if arg.span.start <= offset <= arg.span.end:
            found = arg_field(state, frame, arg)
            return found[0] if found else None
    taken = {
        found[0]
        for arg in frame.stmt.args
        if arg.span.end < offset and (found := arg_field(state, frame, arg)) is not None
    }
    return next((name for name in cls.positional if name not in taken), None)
