"""Shape inference: each layer's input and output shape, parameters and FLOPs.

Layer names are assigned here too (explicit `name=`, else `<kind>_<n>` counting per kind,
with `_<copy>` suffixes inside `repeat`), because weights are saved and matched by them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from specc.diagnostics import Diagnostic, Related, SpecError
from specc.ir.layers import Dense, Layer, Repeat, fmt_shape
from specc.ir.sequence import check_input
from specc.ir.spaces import is_space
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

    @property
    def activation_bytes(self) -> int:
        return 4 * math.prod(self.output)


@dataclass(frozen=True)
class ModelShapes:
    model: Model
    input: Shape
    layers: tuple[LayerInfo, ...]

    @property
    def output(self) -> Shape:
        return self.layers[-1].output if self.layers else self.input

    @property
    def params(self) -> int:
        return sum(info.params for info in self.layers)

    @property
    def trainable_params(self) -> int:
        return sum(info.params for info in self.layers if info.trainable)

    @property
    def flops(self) -> int:
        return sum(info.flops for info in self.layers)


def unroll(model: Model) -> list[tuple[str, Layer]]:
    """Layers in order with `repeat` expanded and every layer named.

    `repeat N frozen { ... }` freezes every layer inside it.
    """
    counts: dict[str, int] = {}
    out: list[tuple[str, Layer]] = []

    def walk(layers: list[Layer], suffix: str, frozen: bool) -> None:
        for layer in layers:
            if isinstance(layer, Repeat):
                for copy in range(1, layer.times + 1):
                    walk(list(layer.layers), f"{suffix}_{copy}", frozen or layer.frozen)
                continue
            if frozen and not layer.frozen:
                layer = layer.model_copy(update={"frozen": True})
            if layer.name:
                out.append((layer.name + suffix, layer))
            else:
                kind = layer.kind_name()
                counts[kind] = counts.get(kind, 0) + 1
                out.append((f"{kind}_{counts[kind]}", layer))

    walk(list(model.layers), "", False)
    return out


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
    shape: Shape = tuple(model.input.shape)
    dtype: str = model.input.dtype  # token ids stop at the first layer (an embedding)
    infos: list[LayerInfo] = []
    previous: tuple[str, Span | None] = ("the input", model.input.span)
    for name, layer in unroll(model):
        if any(is_space(getattr(layer, f)) for f in type(layer).model_fields):
            return None, diagnostics  # `units=choice(...)`: shapes exist only per sweep trial
        try:
            check_input(layer, shape, dtype)
            out = layer.infer(shape)
        except SpecError as err:
            where = previous[1]  # None for IR made in code (sweep trials, tests)
            gives = f"{previous[0]} gives {fmt_shape(shape)}"
            err.related = (Related(span=where, message=gives),) if where else ()
            diagnostics.append(err.diagnostic(layer.span or _nowhere()))
            return None, diagnostics
        params = layer.params(shape)
        infos.append(
            LayerInfo(
                name=name,
                layer=layer,
                input=shape,
                output=out,
                params=params,
                trainable=not layer.frozen,
                flops=layer.flops(shape, out),
            )
        )
        previous = (f"`{name}`", layer.span)
        shape, dtype = out, "float"
    result = ModelShapes(model=model, input=tuple(model.input.shape), layers=tuple(infos))
    if result.params > MAX_PARAMS:
        diagnostics.append(
            Diagnostic(
                code="E405",
                message=f"model `{model.name}` has {result.params:,} parameters; the limit is {MAX_PARAMS:,}",
                span=_biggest(infos).layer.span or _nowhere(),
                help="this layer holds the most weights; make it smaller",
            )
        )
    return result, diagnostics


def layer_count(layers: list[Layer]) -> int:
    """How many layers `unroll` would produce, without producing them."""
    return sum(
        layer.times * layer_count(list(layer.layers)) if isinstance(layer, Repeat) else 1
        for layer in layers
    )


def _biggest(infos: list[LayerInfo]) -> LayerInfo:
    return max(infos, key=lambda info: info.params)


def _duplicate_names(model: Model) -> list[Diagnostic]:
    seen: dict[str, Layer] = {}
    out: list[Diagnostic] = []
    for layer in model.layers:
        if layer.name is None:
            continue
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
