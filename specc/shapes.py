"""Shape inference: each layer's input and output shape, parameters and FLOPs.

Layer names are assigned here too (explicit `name=`, else `<kind>_<n>` counting per kind,
with `_<copy>` suffixes inside `repeat`), because weights are saved and matched by them.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from specc.diagnostics import Diagnostic, Related, SpecError
from specc.ir.layers import Branch, Dense, Layer, Output, Repeat
from specc.ir.spec import Model
from specc.span import Span

Shape = tuple[int, ...]
MAX_PARAMS = 2**31 - 1
# Nested `repeat`s multiply: `repeat 1000 { repeat 1000 { ... } }` is a 60-byte file with a
# million layers. Counting before unrolling keeps the checker fast on it.
MAX_LAYERS = 10_000


@dataclass(frozen=True)
class LayerInfo:
    """One unrolled layer of a model, as `specc summary` shows it."""

    name: str
    layer: Layer
    input: Shape
    output: Shape
    params: int
    trainable: bool
    flops: int
    sources: tuple[str, ...] = ()
    """The values it reads, by name (an input's or an earlier layer's): one for a layer,
    several for a merge."""
    block: Layer | None = None
    """The residual or parallel block a merge closes, if any."""

    @classmethod
    def of(
        cls,
        name: str,
        layer: Layer,
        input: Shape,
        output: Shape,
        sources: tuple[str, ...],
        block: Layer | None = None,
    ) -> LayerInfo:
        return cls(
            name=name,
            layer=layer,
            input=input,
            output=output,
            params=layer.params(input),
            trainable=not layer.frozen,
            flops=layer.flops(input, output),
            sources=sources,
            block=block,
        )

    @property
    def activation_bytes(self) -> int:
        return 4 * math.prod(self.output)


@dataclass(frozen=True)
class Unused:
    """An input or branch nothing reads (W507)."""

    what: str
    where: Span | None


@dataclass(frozen=True)
class ModelShapes:
    model: Model
    input: Shape
    """The first (usually only) input's shape."""
    layers: tuple[LayerInfo, ...]
    inputs: tuple[tuple[str, Shape], ...] = ()
    """Every input: (name, shape); `input` for a model's single unnamed one."""
    output_name: str = ""
    """The value the model outputs (the last layer's, unless a dead branch follows it)."""
    unused: tuple[Unused, ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    """A model with `output` blocks: (output name, the layer computing it), in order;
    empty for a model with one unnamed output (`output_name` is then the first's layer)."""

    def output_info(self, name: str) -> LayerInfo:
        """The layer computing output `name`."""
        step = dict(self.outputs)[name]
        return next(info for info in self.layers if info.name == step)

    def for_output(self, name: str) -> ModelShapes:
        """The model seen from one of its outputs: only the layers it reads, `last`/`output`
        are that output's (what the per-loss checks and the prediction head read)."""
        step = dict(self.outputs)[name]
        needed, kept = {step}, []
        for info in reversed(self.layers):
            if info.name in needed:
                kept.append(info)
                needed.update(info.sources)
        return dataclasses.replace(
            self, layers=tuple(reversed(kept)), output_name=step, outputs=(), unused=()
        )

    @property
    def last(self) -> LayerInfo | None:
        """The layer computing the model's output (None for a model without layers)."""
        for info in reversed(self.layers):
            if info.name == self.output_name or not self.output_name:
                return info
        return None

    @property
    def output(self) -> Shape:
        last = self.last
        return last.output if last is not None else self.input

    @property
    def is_chain(self) -> bool:
        """One input, and every layer reads the one before it: an `nn.Sequential` (a model
        with `output` blocks returns its outputs by name, so it is never one)."""
        if len(self.inputs) > 1 or self.outputs:
            return False
        previous = self.inputs[0][0] if self.inputs else None
        for info in self.layers:
            if info.sources != (previous,):
                return False
            previous = info.name
        return self.last is None or self.last is self.layers[-1]

    @property
    def params(self) -> int:
        return sum(info.params for info in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(info.params for info in self.layers if info.trainable)

    @property
    def flops(self) -> int:
        return sum(info.flops for info in self.layers)


def walk(model: Model, stop: int | None = None) -> ModelShapes:
    """Shapes through `model` (SpecError at the first statement that does not fit). With
    `stop`, only the layers written before that offset, and whatever inference reached."""
    from specc.flow import Flow, Stop

    assert model.input is not None
    flow = Flow(model, stop=stop)
    output = ""
    unused: list[Unused] = []
    try:
        output = flow.run() or ""
        unused = flow.unused()
    except Stop:
        output = flow.infos[-1].name if flow.infos else ""
    except SpecError:
        if stop is None:
            raise
        output = flow.infos[-1].name if flow.infos else ""
    inputs = tuple((i.value_name, tuple(i.shape)) for i in model.inputs)
    return ModelShapes(
        model=model,
        input=tuple(model.input.shape),
        layers=tuple(flow.infos),
        inputs=inputs,
        output_name=output,
        unused=tuple(unused),
        outputs=tuple(flow.outputs),
    )


def infer(model: Model) -> tuple[ModelShapes | None, list[Diagnostic]]:
    """Shapes through `model`; diagnostics for the first layer that cannot take its input."""
    if model.input is None:
        return None, [
            Diagnostic(
                code="E401",
                message=f"model `{model.name}` has no `input` statement",
                span=model.where("name") or _nowhere(),
                help="add `input 28x28` (or the shape of one example) as its first line",
            )
        ]
    count = layer_count(list(model.layers))
    if count > MAX_LAYERS:
        return None, [
            Diagnostic(
                code="E405",
                message=f"model `{model.name}` unrolls to {count:,} layers; the limit is {MAX_LAYERS:,}",
                span=model.where("name") or _nowhere(),
                help="use fewer or smaller `repeat` blocks",
            )
        ]
    diagnostics: list[Diagnostic] = _duplicate_names(model)
    from specc.flow import Flow, Stop

    flow = Flow(model)
    try:
        output = flow.run()
    except Stop:
        return None, diagnostics
    except SpecError as err:
        diagnostics.append(err.diagnostic(err.span or model.span or _nowhere()))
        return None, diagnostics
    inputs = tuple((i.value_name, tuple(i.shape)) for i in model.inputs)
    result = ModelShapes(
        model=model,
        input=tuple(model.input.shape),
        layers=tuple(flow.infos),
        inputs=inputs,
        output_name=output or "",
        unused=tuple(flow.unused()),
        outputs=tuple(flow.outputs),
    )
    if result.params > MAX_PARAMS:
        diagnostics.append(
            Diagnostic(
                code="E405",
                message=f"model `{model.name}` has {result.params:,} parameters; the limit is {MAX_PARAMS:,}",
                span=_biggest(list(result.layers)).layer.span or _nowhere(),
                help="this layer holds the most weights; make it smaller",
            )
        )
    return result, diagnostics


def layer_count(layers: list[Layer]) -> int:
    """How many layers `unroll` would produce, without producing them."""
    return sum(_count(layer) for layer in layers)


def _count(layer: Layer) -> int:
    if isinstance(layer, Repeat):
        return layer.times * layer_count(list(layer.layers))
    if isinstance(layer, Branch):  # only its layers; the merge reading it counts once
        return layer_count(layer.nested())
    # a residual or parallel block adds the merge that closes it
    return layer_count(layer.nested()) + 1 if layer.structural else 1


def _biggest(infos: list[LayerInfo]) -> LayerInfo:
    return max(infos, key=lambda info: info.params)


def _duplicate_names(model: Model) -> list[Diagnostic]:
    seen: dict[str, Layer] = {}
    out: list[Diagnostic] = []
    for layer in model.layers:
        if layer.name is None or isinstance(layer, Output):
            continue  # outputs share the values' namespace: specc/flow.py says so
        if layer.name in seen:
            first = seen[layer.name].where("name")
            out.append(
                Diagnostic(
                    code="E203",
                    message=f"two layers are named `{layer.name}`",
                    span=layer.where("name") or _nowhere(),
                    help="layer names key the saved weights; make them unique",
                    related=(Related(span=first, message="first named here"),) if first else (),
                )
            )
        seen[layer.name] = layer
    return out


def _nowhere() -> Span:
    return Span(line=1, column=1, end_line=1, end_column=1, start=0, end=0)


def last_dense(shapes: ModelShapes) -> LayerInfo | None:
    for info in reversed(shapes.layers):
        if isinstance(info.layer, Dense):
            return info
    return None
