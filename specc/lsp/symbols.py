"""The outline (document symbols), inlay hints with each layer's output shape, and
go-to-definition for model names (`train { model NAME }`) and runs (`init from "RUN"`)."""

from __future__ import annotations

from lsprotocol import types
from pygls.uris import from_fs_path

from specc import cst
from specc.ir.layers import fmt_shape
from specc.ir.spec import Model, Spec
from specc.lsp.context import Frame, first_word, is_layer_statement, statement_at, target_at
from specc.lsp.documents import DocState, LayerSummary, layer_statements

Symbol = types.SymbolKind


def _line_text(state: DocState, stmt: cst.Statement) -> str:
    """The statement's source up to its block (`dense 512 relu`, `data mnist`)."""
    end = stmt.body.span.start if stmt.body is not None else stmt.span.end
    return " ".join(state.analysis.text[stmt.span.start : end].split())


def _layer_shapes(
    state: DocState, model: cst.Statement
) -> list[tuple[cst.Statement, LayerSummary]]:
    """Each layer statement of a model with its shapes (current, else the last good ones)."""
    name = first_word(model)
    out: list[tuple[cst.Statement, LayerSummary]] = []
    if name is None:
        return out
    for path, stmt in layer_statements(model, Model):
        found = state.summary((name, path), stmt.keyword.name)
        if found is not None:
            out.append((stmt, found[0]))
    return out


def _summaries(state: DocState, model: cst.Statement) -> dict[int, LayerSummary]:
    """Layer statement start offset -> shapes (current, else the last good ones)."""
    return {stmt.span.start: summary for stmt, summary in _layer_shapes(state, model)}


def _symbol(
    state: DocState, stmt: cst.Statement, parent: type, shapes: dict[int, LayerSummary]
) -> types.DocumentSymbol:
    index = state.index
    summary = shapes.get(stmt.span.start)
    layer = is_layer_statement(parent, stmt.keyword.name)
    frame = Frame(stmt, parent)
    name = stmt.keyword.name
    detail = _line_text(state, stmt)
    if summary is not None:
        name = summary.name if stmt.keyword.name != "repeat" else detail
        detail = f"{detail} → {fmt_shape(summary.output)}"
    named = frame.cls is not None and frame.cls.positional[:1] == ("name",)
    if summary is None and named and stmt.body is not None and first_word(stmt):
        name = f"{stmt.keyword.name} {first_word(stmt)}"  # `output kind` in `train`
    children = []
    if stmt.body is not None and frame.cls is not None:
        children = [_symbol(state, s, frame.cls, shapes) for s in stmt.body.statements]
    kind = Symbol.Field if layer else Symbol.Property
    selection = stmt.keyword.span
    if parent is Spec:
        model = first_word(stmt) if stmt.keyword.name == "model" else None
        name = model or detail
        kind = Symbol.Class if model else Symbol.Module
        if model and stmt.args:
            selection = stmt.args[0].span
        shapes_now = state.analysis.shapes.get(model or "")
        gives = fmt_shape(shapes_now.output) if shapes_now else ""
        if shapes_now and shapes_now.outputs:  # `16 → kind 6, big 1`
            gives = ", ".join(
                f"{n} {fmt_shape(shapes_now.output_info(n).output)}" for n, _ in shapes_now.outputs
            )
        detail = (
            f"{fmt_shape(shapes_now.input)} → {gives}, {shapes_now.params:,} parameters"
            if shapes_now
            else ""
        )
    elif stmt.keyword.name == "repeat":
        kind = Symbol.Array
    return types.DocumentSymbol(
        name=name or stmt.keyword.name,
        kind=kind,
        range=index.range(stmt.span),
        selection_range=index.range(selection),
        detail=detail or None,
        children=children or None,
    )


def document_symbols(state: DocState) -> list[types.DocumentSymbol]:
    out = []
    for stmt in state.analysis.document.statements:
        shapes = _summaries(state, stmt) if stmt.keyword.name == "model" else {}
        out.append(_symbol(state, stmt, Spec, shapes))
    return out


def hint_offset(text: str, stmt: cst.Statement) -> int:
    """Where a layer's hint goes: after the statement's last character, never past the
    line break a half-typed statement (`dense 10 init=`) runs into."""
    return stmt.span.start + len(text[stmt.span.start : stmt.span.end].rstrip())


def inlay_hints(state: DocState, window: types.Range) -> list[types.InlayHint]:
    """`→ 512` after every layer statement whose output shape is known (one pass over
    the models: linear in the number of layers)."""
    start, end = state.index.offset(window.start), state.index.offset(window.end)
    text = state.analysis.text
    hints = []
    for model in state.analysis.document.statements:
        if model.keyword.name != "model" or model.span.end < start or model.span.start > end:
            continue
        for layer, summary in _layer_shapes(state, model):
            at = hint_offset(text, layer)
            if not start <= at <= end:
                continue
            hints.append(
                types.InlayHint(
                    position=state.index.position(at),
                    label=f"→ {fmt_shape(summary.output)}",
                    kind=types.InlayHintKind.Type,
                    padding_left=True,
                    tooltip=f"{summary.name}: {fmt_shape(summary.input)} → "
                    f"{fmt_shape(summary.output)}, {summary.params:,} parameters",
                )
            )
    return hints


def definition(state: DocState, position: types.Position, uri: str) -> types.Location | None:
    offset = state.index.offset(position)
    statements = state.analysis.document.statements
    target = target_at(statements, offset)
    if target is not None and target.role == "value" and target.frame.stmt.keyword.name == "model":
        for stmt in statements:
            if stmt.keyword.name == "model" and first_word(stmt) == target.word.name:
                return types.Location(uri=uri, range=state.index.range(stmt.args[0].span))
        return None
    frames = statement_at(statements, offset)
    if frames and frames[-1].stmt.keyword.name == "init":
        for arg in frames[-1].stmt.args:
            if isinstance(arg.value, cst.String) and arg.span.start <= offset <= arg.span.end:
                return _run_location(arg.value.value, uri)
    return None


def _run_location(reference: str, uri: str) -> types.Location | None:
    """A run directory's spec (or record), or the weights file itself."""
    from specc.lsp.navigation import resolve, spec_folder

    path = resolve(spec_folder(uri), reference, "run")
    target = from_fs_path(str(path)) if path is not None and path.is_file() else None
    if target is None:
        return None
    start = types.Position(line=0, character=0)
    return types.Location(uri=target, range=types.Range(start=start, end=start))
