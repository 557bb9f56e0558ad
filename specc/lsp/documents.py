"""The server's memory of each open document: its latest analysis, and per-layer shapes
from the last analysis that could infer them.

While a file is mid-edit the current analysis often has no shapes for a model (a layer
failed to build, or cannot take its input). The layers before the model's first error
still get their shapes from the current text (`partial_shapes`); for the layers from the
error on, hover, inlay hints and the outline fall back to the last good shapes of that
model, matched by position in the model (`(model, 3)` is its fourth layer statement) and
kept only if the statement there still has the same keyword.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from specc import cst
from specc.analysis import Analysis, analyze
from specc.diagnostics import SpecError
from specc.ir.base import Node
from specc.ir.layers import Branch, Layer, Repeat
from specc.ir.spec import Model
from specc.lsp.context import is_layer_statement, model_name
from specc.lsp.positions import LineIndex
from specc.shapes import LayerInfo, ModelShapes, layer_count, walk

Shape = tuple[int, ...]
LayerKey = tuple[str, tuple[int, ...]]


@dataclass(frozen=True)
class LayerSummary:
    """What one layer statement does: `repeat` statements summarise all their copies."""

    keyword: str
    name: str
    input: Shape
    output: Shape
    params: int
    copies: int = 1


def layer_statements(
    stmt: cst.Statement, parent: type[Node], path: tuple[int, ...] = ()
) -> list[tuple[tuple[int, ...], cst.Statement]]:
    """(path, statement) for every layer statement in a model's body, nested: inside
    `repeat`, `residual` (and its `shortcut`), `parallel` and its branches."""
    out: list[tuple[tuple[int, ...], cst.Statement]] = []
    if stmt.body is None:
        return out
    index = 0
    for inner in stmt.body.statements:
        cls = _container(parent, inner.keyword.name)
        layer = is_layer_statement(parent, inner.keyword.name)
        if not layer and cls is None:
            continue
        here = (*path, index)
        if layer or cls is Branch:
            out.append((here, inner))
        if cls is not None:
            out.extend(layer_statements(inner, cls, here))
        index += 1
    return out


def _container(parent: type[Node], keyword: str) -> type[Node] | None:
    """The class of a statement that holds layers (`repeat`, `residual`, `shortcut`, a
    `branch`), else None."""
    from specc.ir.registry import collector_members, list_item, members

    field = parent.keywords.get(keyword)
    if field is not None:
        annotation = parent.model_fields[field].annotation
        kinds = members(list_item(annotation) or annotation)
        cls = next(iter(kinds.values()), None)
    else:
        cls = collector_members(parent).get(keyword)
    if cls is None or not (cls.collector == "layers" or cls.keywords):
        return None
    return cls


def _summaries(shapes: ModelShapes) -> dict[int, LayerSummary]:
    """Summary per IR layer start offset (the layer's span is its statement's span); a
    block's summary covers every layer inside it and the merge that closes it."""
    infos: dict[int, list[LayerInfo]] = {}
    for info in shapes.layers:
        infos.setdefault(id(info.block if info.block is not None else info.layer), []).append(info)
    out: dict[int, LayerSummary] = {}

    def walk(layers: list[Layer]) -> list[LayerInfo]:
        seen: list[LayerInfo] = []
        for layer in layers:
            if layer.structural:
                ids = {id(i) for i in walk(layer.nested())} | {
                    id(i) for i in infos.get(id(layer), [])
                }
                mine = [i for i in shapes.layers if id(i) in ids]  # in model order
                if len(mine) != layer_count([layer]):
                    mine = []  # inference stopped inside the block: no summary
            else:
                mine = infos.get(id(layer), [])
            if mine and layer.span is not None:
                out[layer.span.start] = LayerSummary(
                    keyword=layer.kind_name(),
                    name=layer.name or (mine[-1].name if layer.structural else mine[0].name),
                    input=mine[0].input,
                    output=mine[-1].output,
                    params=sum(i.params for i in mine),
                    copies=layer.times if isinstance(layer, Repeat) else len(mine),
                )
            seen.extend(mine)
        return seen

    walk(list(shapes.model.layers))
    return out


def partial_shapes(model: Model, stop: int) -> ModelShapes | None:
    """Shapes of a model's layers up to its first error: the layers that start before
    offset `stop` (the first error in the model) and that shape inference gets through.

    `specc.shapes.infer` gives all or nothing, as the checks need; an editor wants the
    shapes of every layer before a mistake, so it keeps whatever inference reached."""
    if model.input is None:
        return None
    try:
        shapes = walk(model, stop)
    except (SpecError, ValueError, ArithmeticError):
        return None
    return shapes if shapes.layers else None


def _first_error(analysis: Analysis, stmt: cst.Statement) -> int:
    """Offset of the first error inside a model statement (its end when there is none)."""
    starts = [
        d.span.start for d in analysis.errors if stmt.span.start <= d.span.start <= stmt.span.end
    ]
    return min(starts, default=stmt.span.end + 1)


def current_layers(
    analysis: Analysis,
) -> dict[str, tuple[bool, dict[LayerKey, tuple[cst.Statement, LayerSummary]]]]:
    """Model name -> (whether the shapes are complete, layer key -> (statement, summary)).

    A model with an error has the shapes of its layers up to the error."""
    out: dict[str, tuple[bool, dict[LayerKey, tuple[cst.Statement, LayerSummary]]]] = {}
    models = {m.name: m for m in analysis.spec.models}
    for stmt in analysis.document.statements:
        name = model_name(stmt)
        if name is None or name in out:
            continue
        shapes = analysis.shapes.get(name)
        complete = shapes is not None
        if shapes is None and name in models:
            shapes = partial_shapes(models[name], _first_error(analysis, stmt))
        if shapes is None:
            continue
        by_start = _summaries(shapes)
        table: dict[LayerKey, tuple[cst.Statement, LayerSummary]] = {}
        for path, inner in layer_statements(stmt, Model):
            summary = by_start.get(inner.span.start)
            if summary is not None:
                table[(name, path)] = (inner, summary)
        out[name] = (complete, table)
    return out


@dataclass
class DocState:
    uri: str
    version: int | None
    analysis: Analysis
    index: LineIndex
    layers: dict[LayerKey, LayerSummary] = field(default_factory=dict)
    good: dict[str, dict[LayerKey, LayerSummary]] = field(default_factory=dict)
    # The last state whose text parsed without syntax errors, kept while the current text
    # has some: a half-typed line (`init=`) can make the parser misread the rest of the file.
    parsed: DocState | None = None
    _tokens: list[tuple[int, int, int, int]] | None = field(default=None, repr=False)

    @property
    def outline(self) -> DocState:
        """The state to draw the outline from: the last one that parsed cleanly."""
        return self.parsed or self

    @property
    def shapes(self) -> DocState:
        """The state to place shape hints from: this one unless its tree is empty."""
        return self.parsed if self.parsed and not self.analysis.document.statements else self

    def tokens(self, start: int = 0, end: int | None = None) -> list[int]:
        """Semantic tokens (LSP wire form) of the current text, between two offsets."""
        from specc.lsp.tokens import classify, encode

        if self._tokens is None:
            self._tokens = classify(self.analysis.document)
        return encode(self._tokens, self.index, start, end)

    def summary(self, key: LayerKey, keyword: str) -> tuple[LayerSummary, bool] | None:
        """The shapes of a layer statement and whether they are current (else: last good)."""
        if key in self.layers:
            return self.layers[key], True
        old = self.good.get(key[0], {}).get(key)
        if old is not None and _same_kind(old.keyword, keyword):
            return old, False
        return None


def _same_kind(ir_kind: str, keyword: str) -> bool:
    from specc.ir.layers import AnyLayer
    from specc.ir.registry import members

    cls = members(AnyLayer).get(keyword)
    return cls is not None and cls.kind_name() == ir_kind


class Documents:
    """Open documents by URI."""

    def __init__(self) -> None:
        self.states: dict[str, DocState] = {}

    def update(
        self, uri: str, text: str, version: int | None, path: str, encoding: str
    ) -> DocState:
        analysis = analyze(text, path)
        old = self.states.get(uri)
        good = dict(old.good) if old else {}
        layers: dict[LayerKey, LayerSummary] = {}
        for model, (complete, table) in current_layers(analysis).items():
            now = {key: summary for key, (_, summary) in table.items()}
            good[model] = now if complete else {**good.get(model, {}), **now}
            layers.update(now)
        state = DocState(uri, version, analysis, LineIndex(text, encoding), layers, good)
        if analysis.document.diagnostics and old is not None:
            state.parsed = old.parsed or (old if not old.analysis.document.diagnostics else None)
        self.states[uri] = state
        return state

    def get(self, uri: str) -> DocState | None:
        return self.states.get(uri)

    def close(self, uri: str) -> None:
        self.states.pop(uri, None)
