"""Lowering: from the checked IR to a `Plan`, the render-ready view every template reads.

Templates only loop and interpolate, so every decision lives here, as small passes:

- `plan()` unrolls the model (`repeat`, default names), gives each layer a Python
  identifier that is valid and clashes with nothing the template writes (specc/emit/names.py),
  and splits a trailing `softmax`/`sigmoid` off into `Plan.prediction` when the loss is a
  cross-entropy (it is fused into the loss; docs/semantics.md#losses);
- per-target rewrites (`Target.rewrites`) then transform the plan, for example
  `channels_last` inserts the transposes a channels-last framework needs.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from specc.emit.names import Namer, class_name
from specc.emit.target import Target
from specc.ir.data import Augment, Data, OneHot
from specc.ir.layers import Activation, BatchNorm, Conv2D, Dense, LayerNorm
from specc.ir.losses import (
    BinaryCrossentropy,
    CategoricalCrossentropy,
    SparseCategoricalCrossentropy,
)
from specc.ir.spec import Model, Spec
from specc.ir.training import Train
from specc.shapes import ModelShapes, unroll

Shape = tuple[int, ...]

# Which final activation each loss takes logits for (docs/semantics.md#losses).
FUSED_ACTIVATION: dict[type, str] = {
    SparseCategoricalCrossentropy: "softmax",
    CategoricalCrossentropy: "softmax",
    BinaryCrossentropy: "sigmoid",
}
WEIGHTED = (Dense, Conv2D, BatchNorm, LayerNorm)


@dataclass(frozen=True)
class LayerView:
    """One layer as the template writes it."""

    name: str
    """Python identifier in the script (attribute / variable)."""
    weights_name: str
    """The spec's name for it: saved weights are `<weights_name>.weight`."""
    kind: str
    """The IR kind, or a lowering-only kind such as `permute`."""
    ir: Any
    """The IR layer (None for lowering-only layers)."""
    input: Shape
    output: Shape
    activation: Any = None
    """The fused activation of a dense/conv layer (an IR activation), or None."""
    args: dict[str, Any] = field(default_factory=dict)
    """Extra arguments computed by lowering (e.g. `dims` of a permute)."""

    @property
    def has_weights(self) -> bool:
        return isinstance(self.ir, WEIGHTED)

    @property
    def is_activation(self) -> bool:
        """A standalone activation layer (`relu`): no weights, no module of its own."""
        return isinstance(self.ir, Activation)

    @property
    def frozen(self) -> bool:
        return bool(self.ir is not None and self.ir.frozen)


@dataclass(frozen=True)
class Plan:
    """Everything a target template needs, nothing it has to decide."""

    target: str
    spec_path: str
    spec_sha256: str
    command: str
    script: str
    """The script's file name, for the run command in its docstring."""
    model: Model
    model_name: str
    class_name: str
    input: Shape
    output: Shape
    layers: tuple[LayerView, ...]
    prediction: str | None
    """`softmax`/`sigmoid` fused into the loss (applied for predictions only), or None."""
    data: Data
    train: Train
    classes: int | None
    task: str
    one_hot: bool
    changing_lr: bool
    """True when the learning rate moves (a schedule or warm-up): the script computes it."""
    extras: dict[str, Any] = field(default_factory=dict)
    """Flags set by target rewrites, read by that target's templates."""
    channels_last_data: bool = False
    """The script's data loader gives images channels-last (N, H, W, C) and `input` is in
    that layout (`channels_last_input`): the model starts without a transpose."""

    @property
    def weighted(self) -> tuple[LayerView, ...]:
        return tuple(layer for layer in self.layers if layer.has_weights)

    def replace(self, **changes: Any) -> Plan:
        return dataclasses.replace(self, **changes)


def spec_digest(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def plan(
    spec: Spec,
    shapes: ModelShapes,
    target: Target,
    *,
    text: str,
    path: str,
    command: str,
    script: str,
) -> Plan:
    """Lower one checked model of `spec` for `target` (spec errors were reported before)."""
    assert spec.data is not None and spec.train is not None
    namer = Namer(target.reserved)
    views = []
    for (weights_name, layer), info in zip(unroll(shapes.model), shapes.layers, strict=True):
        activation = layer.activation if isinstance(layer, (Dense, Conv2D)) else None
        views.append(
            LayerView(
                name=namer.take(weights_name),
                weights_name=weights_name,
                kind=layer.kind_name(),
                ir=layer,
                input=info.input,
                output=info.output,
                activation=activation,
            )
        )
    layers, prediction = split_prediction(views, spec.train)
    _, classes, task = spec.data.sample_facts()
    result = Plan(
        target=target.name,
        spec_path=path,
        spec_sha256=spec_digest(text),
        command=command,
        script=script,
        model=shapes.model,
        model_name=shapes.model.name,
        class_name=class_name(shapes.model.name, target.reserved),
        input=shapes.input,
        output=shapes.output,
        layers=tuple(layers),
        prediction=prediction,
        data=spec.data,
        train=spec.train,
        classes=classes if classes is not None else _classes_from_output(shapes, task),
        task=task or "classification",
        one_hot=any(isinstance(t, OneHot) for t in spec.data.transforms),
        changing_lr=spec.train.schedule.kind != "constant" or spec.train.warmup is not None,
    )
    for rewrite in target.rewrites:
        result = rewrite(result)
    return result


def _classes_from_output(shapes: ModelShapes, task: str | None) -> int | None:
    if task == "regression":
        return None
    units = math.prod(shapes.output)
    return 2 if units == 1 else units


def split_prediction(views: list[LayerView], train: Train) -> tuple[list[LayerView], str | None]:
    """Remove the final softmax/sigmoid a cross-entropy loss fuses; say which it was."""
    fused = FUSED_ACTIVATION.get(type(train.loss))
    if fused is None or not views:
        return views, None
    last = views[-1]
    if last.kind == fused:
        return views[:-1], fused
    if last.activation is not None and last.activation.kind == fused:
        return [*views[:-1], dataclasses.replace(last, activation=None)], fused
    return views, None


# ---- target rewrites -------------------------------------------------------------------

# Layers that compute on images in the framework's native (channels-last) layout.
SPATIAL = frozenset({"conv2d", "maxpool2d", "avgpool2d", "global_avgpool", "batchnorm"})
# Layers whose result depends on the order of values in memory: they need channels-first.
ORDER_SENSITIVE = frozenset({"flatten", "reshape", "layernorm"})


def channels_last(p: Plan) -> Plan:
    """Keep the IR's channels-first meaning on a channels-last framework (Keras, TF).

    Images go to channels-last before the first spatial layer and back to channels-first
    before anything that reads values in order (flatten, reshape), so a dense layer after
    a conv sees features in the same order as in PyTorch (docs/semantics.md#shapes).
    """
    namer = Namer({layer.name for layer in p.layers})
    out: list[LayerView] = []
    last = False  # current layout of rank-3 tensors: channels-last?
    for layer in p.layers:
        image = len(layer.input) == 3
        if image and not last and layer.kind in SPATIAL:
            out.append(_permute(namer, "to_channels_last", layer.input, (2, 3, 1)))
            last = True
        elif image and last and layer.kind in ORDER_SENSITIVE:
            c, h, w = layer.input
            out.append(_permute(namer, "to_channels_first", (h, w, c), (3, 1, 2)))
            last = False
        out.append(_in_layout(layer, last))
        if len(layer.output) != 3:
            last = False
    if last:  # the model ends on an image: give it back channels-first
        c, h, w = out[-1].output
        out.append(_permute(namer, "to_channels_first", (h, w, c), (3, 1, 2)))
    return p.replace(layers=tuple(out))


def keras_imports(p: Plan) -> Plan:
    """`extras["uses_layers"]`: whether the script writes `layers.X` (Keras, TF), so it
    imports `keras.layers` only then (a model of only `input` has no layer at all)."""
    return p.replace(extras={**p.extras, "uses_layers": bool(p.layers)})


def _in_layout(layer: LayerView, last: bool) -> LayerView:
    if not last:
        return layer
    shape = lambda s: (s[1], s[2], s[0]) if len(s) == 3 else s  # noqa: E731
    return dataclasses.replace(
        layer, input=shape(layer.input), output=shape(layer.output), args={"channels_last": True}
    )


def _permute(namer: Namer, name: str, shape: Shape, dims: Shape) -> LayerView:
    out = tuple(shape[d - 1] for d in dims)
    unique = namer.take(name)
    return LayerView(
        name=unique,
        weights_name=unique,  # no weights; a unique name for frameworks that need one
        kind="permute",
        ir=None,
        input=shape,
        output=out,
        args={"dims": dims},
    )


def channels_last_input(p: Plan) -> Plan:
    """Give a channels-last framework its images channels-last from the data loader.

    After `channels_last`, a model whose first layer is spatial starts by transposing
    its input; the loader of an MNIST-format set can give (N, H, W, C) directly instead
    (keras-io's `np.expand_dims(x, -1)`), which means the same. Not with `augment`, whose
    random transforms read images channels-first.
    """
    data = p.data
    first = p.layers[0] if p.layers else None
    augmented = any(isinstance(t, Augment) for t in data.transforms)
    if not type(data).image_set or augmented or first is None or first.kind != "permute":
        return p
    if first.args.get("dims") != (2, 3, 1):
        return p
    return p.replace(layers=p.layers[1:], input=first.output, channels_last_data=True)
