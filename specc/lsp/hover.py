"""Hover: the docs of the statement, kind or argument under the cursor (from the IR), a
layer's input -> output shape and parameter count, and the explanation of any diagnostic
code at that place."""

from __future__ import annotations

from lsprotocol import types

from specc import cst
from specc.ir.layers import fmt_shape
from specc.ir.registry import collector_members, list_item, literal_values, user_fields
from specc.ir.spec import Model
from specc.lsp.context import (
    Frame,
    Target,
    dispatches,
    field_of,
    first_word,
    is_layer_statement,
    kinds,
    statement_at,
    target_at,
    user_field,
)
from specc.lsp.convert import explanation
from specc.lsp.describe import class_doc, field_doc
from specc.lsp.documents import DocState, LayerSummary, layer_statements
from specc.lsp.signature import argument_doc


def shape_line(summary: LayerSummary, current: bool) -> str:
    copies = f" (x{summary.copies})" if summary.keyword == "repeat" else ""
    line = (
        f"`{summary.name}`{copies}: {fmt_shape(summary.input)} → {fmt_shape(summary.output)}"
        f" · {summary.params:,} parameters"
    )
    return line if current else line + " _(last successful check)_"


def layer_summary(
    state: DocState, frames: tuple[Frame, ...] | list[Frame], stmt: cst.Statement
) -> tuple[LayerSummary, bool] | None:
    """Shapes of a layer statement, located by its model and position in it."""
    top = frames[0].stmt if frames else None
    name = first_word(top) if top is not None and top.keyword.name == "model" else None
    if top is None or name is None:
        return None
    for path, inner in layer_statements(top, Model):
        if inner.span.start == stmt.span.start:
            return state.summary((name, path), stmt.keyword.name)
    return None


def model_line(state: DocState, name: str) -> str | None:
    shapes = state.analysis.shapes.get(name)
    if shapes is None:
        return None
    return (
        f"`{name}`: {fmt_shape(shapes.input)} → {fmt_shape(shapes.output)} · "
        f"{shapes.params:,} parameters ({shapes.trainable_params:,} trainable), "
        f"{len(shapes.layers)} layers"
    )


def _keyword(state: DocState, frames: tuple[Frame, ...], target: Target) -> list[str]:
    frame = target.frame
    parent, word = frame.parent, target.word.name
    if is_layer_statement(parent, word):
        cls = collector_members(parent).get(word)
        if cls is None:
            return []
        out = [class_doc(cls, "layer")]
        found = layer_summary(state, frames, frame.stmt)
        if found is not None:
            out.append(shape_line(*found))
        return out
    out = []
    field = field_of(parent, word)
    cls = frame.cls
    if cls is not None and not dispatches(parent, word):
        out.append(class_doc(cls, word))  # `batch`, `model`: the node's own docs say more
    elif field is not None:
        out.append(field_doc(word, field[1]))
    name = first_word(frame.stmt)
    if word == "model" and name is not None:
        out.extend(filter(None, [model_line(state, name)]))
    return out


def _key(target: Target) -> list[str]:
    cls = target.frame.cls
    found = user_field(cls, target.word.name) if cls is not None else None
    return [field_doc(*found)] if found else []


def _value(state: DocState, target: Target) -> list[str]:
    frame, word = target.frame, target.word.name
    table = dispatches(frame.parent, frame.stmt.keyword.name)
    if word in table and first_word(frame.stmt) == word:
        return [class_doc(table[word], frame.stmt.keyword.name)]
    if frame.stmt.keyword.name == "model" and first_word(frame.stmt) == word:
        return list(filter(None, [model_line(state, word)]))
    cls = frame.cls
    if cls is None:  # a value of the block's own field: `metrics accuracy`, `device cpu`
        found = field_of(frame.parent, frame.stmt.keyword.name)
        fields = [found] if found else []
    elif target.arg is not None and target.arg.key is not None:
        found = user_field(cls, target.arg.key.name)
        fields = [found] if found else []
    else:
        fields = list(user_fields(cls).items())
    for name, info in fields:
        annotation = list_item(info.annotation) or info.annotation
        member = kinds(annotation).get(word)
        if member is not None:
            return [class_doc(member, name)]
        if word in map(str, literal_values(annotation)):
            return [field_doc(name, info)]
    return []


def hover(state: DocState, position: types.Position) -> types.Hover | None:
    offset = state.index.offset(position)
    statements = state.analysis.document.statements
    target = target_at(statements, offset)
    parts: list[str] = []
    if target is not None:
        frames = statement_at(statements, offset)
        handler = {"keyword": lambda: _keyword(state, frames, target), "key": lambda: _key(target)}
        parts = handler.get(target.role, lambda: _value(state, target))()
    else:  # a number, shape or text: the docs of the field it fills
        parts = argument_doc(state, offset)
    codes = dict.fromkeys(
        d.code for d in state.analysis.diagnostics if d.span.start <= offset <= d.span.end
    )
    parts.extend(filter(None, (explanation(code) for code in codes)))
    if not parts:
        return None
    return types.Hover(
        contents=types.MarkupContent(
            kind=types.MarkupKind.Markdown, value="\n\n---\n\n".join(parts)
        ),
        range=state.index.range(target.word.span) if target is not None else None,
    )
