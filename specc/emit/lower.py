"""The emit side of the lowering: from the shared lowered model to a `ScriptPlan`, the
render-ready view every template reads.

Templates only loop and interpolate, so every decision lives in passes:

- the shared lowering (specc/lowering) unrolls and names the model, gives each step its
  neutral weights, splits off the prediction head a cross-entropy fuses, and runs the
  target's layout pass (`Target.layout`: `channels_last` for Keras and TensorFlow, the
  same rewrite the TensorFlow executor uses);
- `plan()` gives each step a Python identifier that is valid and clashes with nothing the
  template writes (specc/emit/names.py) and the script-level facts;
- per-target rewrites (`Target.rewrites`) then fill in that target's typed facts;
- `variables()` (specc/emit/graph.py) gives each layer the script variables it reads and
  writes, so a graph model's `forward` or functional-API model is only interpolated.
"""

from __future__ import annotations

import dataclasses
import hashlib
import math
from dataclasses import dataclass, field
from typing import Any

from specc.emit.graph import MAIN, assign
from specc.emit.names import Namer, class_name
from specc.emit.target import Target
from specc.ir.data import Augment, Data, OneHot, Synthetic
from specc.ir.layer import Weight
from specc.ir.layers import Activation
from specc.ir.sequence import Embedding, is_sequence, mask_reaches, vocabulary
from specc.ir.spec import Model, Spec
from specc.ir.training import Train
from specc.lowering import Step, lower
from specc.lowering.steps import LoweredOutput
from specc.shapes import ModelShapes

Shape = tuple[int, ...]


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
    weights: tuple[Weight, ...] = ()
    """The arrays the layer owns (neutral layout), from `Layer.weights`."""
    sources: tuple[str, ...] = ()
    """The values it reads, by the spec's names (an input's or an earlier layer's)."""
    block: Any = None
    """The residual or parallel block a merge closes (IR), else None."""
    reads: tuple[str, ...] = (MAIN,)
    """The script variables it reads (specc/emit/graph.py): `("x",)` in a chain."""
    writes: str = MAIN
    """The script variable it assigns."""
    copies: tuple[tuple[str, str], ...] = ()
    """`(to, from)` assignments written just before it (`skip = x`)."""

    @property
    def has_weights(self) -> bool:
        return bool(self.weights)

    @property
    def operand(self) -> str:
        """What a functional-API call takes: its variable, or a list of them for a merge."""
        return self.reads[0] if len(self.reads) == 1 else "[" + ", ".join(self.reads) + "]"

    @property
    def is_activation(self) -> bool:
        """A standalone activation layer (`relu`): no weights, no module of its own."""
        return isinstance(self.ir, Activation)

    @property
    def frozen(self) -> bool:
        return bool(self.ir is not None and self.ir.frozen)


@dataclass(frozen=True)
class OutputView:
    """One named output of a model with several (docs/semantics.md#outputs) as the
    template writes it: its value, loss, weight, metrics and target."""

    name: str
    """The spec's output name: `y_<name>` targets, `<name>_loss` and `<name>_<metric>`."""
    value: str
    """The step computing it (its loss's final activation split off)."""
    shape: Shape
    head: str | None
    """The softmax/sigmoid its loss fuses (applied for predictions only), or None."""
    train: Train
    """The `train` block seen from this output: its loss and metrics only (what the
    single-output metric and loss macros read)."""
    weight: float
    target: str
    """How its target is encoded (`Loss.target`): class, onehot, binary or real."""
    var: str = ""
    """The script variable holding it at the end of `forward`."""

    @property
    def metrics_function(self) -> str:
        """The script's function computing its metrics (reserved: `output_functions`)."""
        return metrics_function(self.name)


def metrics_function(output: str) -> str:
    return f"metrics_{output}"


def output_functions(train: Train) -> frozenset[str]:
    """Module-level names a script with several outputs defines per output: no layer may
    take them."""
    return frozenset(metrics_function(o.name) for o in train.outputs)


@dataclass(frozen=True)
class ScriptPlan:
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
    # Facts that target rewrites fill in (each read by that target's templates only).
    weight_names: tuple[tuple[str, str], ...] = ()
    """MindSpore: (parameter name, the spec's weight key) pairs."""
    channels_last_data: bool = False
    """The script's data loader gives images channels-last (N, H, W, C) and `input` is in
    that layout (`channels_last_input`): the model starts without a transpose."""
    input_name: str = "input"
    """The value the model's input gives, as steps' `sources` name it."""
    inputs: tuple[tuple[str, Shape, str], ...] = ()
    """A model with several inputs: (name, shape of one example, script variable) of each,
    in the order written (`forward(self, image, meta)`); empty for one input."""
    output_name: str = ""
    """The value the model outputs (a step's name, or `input_name`)."""
    output_var: str = MAIN
    """The script variable holding the model's output (`return x`)."""
    vocab: int | None = None
    """A model reading token ids (`input N int` into `embedding V D`): V, the script checks
    every id lies in 0..V-1; None for float inputs."""
    outputs: tuple[OutputView, ...] = ()
    """A model with several named outputs: each, in order (empty for one output)."""
    pad: int | None = None
    """The padding id when the model makes a padding mask (docs/semantics.md#masking): the
    layers `padding_mask` marked (`args["mask"]`) read it."""

    @property
    def is_chain(self) -> bool:
        """Each layer reads the one before and the last one is the output: the script
        writes the model as a list (Keras's `Sequential`), or `x = f(x)` lines."""
        previous = self.input_name
        for layer in self.layers:
            if layer.sources != (previous,):
                return False
            previous = layer.weights_name
        return previous == self.output_name

    @property
    def several(self) -> bool:
        """The model takes several named inputs (docs/data.md#several-inputs)."""
        return bool(self.inputs)

    @property
    def weighted(self) -> tuple[LayerView, ...]:
        return tuple(layer for layer in self.layers if layer.has_weights)

    def for_output(self, out: OutputView) -> ScriptPlan:
        """The plan seen from one of several outputs (what the metric macros read)."""
        return self.replace(output=out.shape, prediction=out.head, train=out.train, outputs=())

    def replace(self, **changes: Any) -> ScriptPlan:
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
) -> ScriptPlan:
    """Lower one checked model of `spec` for `target` (spec errors were reported before)."""
    assert spec.data is not None and spec.train is not None
    losses = {o.name: o.loss for o in spec.train.outputs if o.loss is not None}
    lowered = lower(shapes, spec.train.main_loss, losses)
    if target.layout is not None:
        lowered = target.layout(lowered)
    namer = Namer(target.reserved | output_functions(spec.train))
    blocks = {info.name: info.block for info in shapes.layers if info.block is not None}
    views = tuple(
        _view(step, namer.take(step.name), blocks.get(step.name)) for step in lowered.steps
    )
    _, classes, task = spec.data.sample_facts()
    result = ScriptPlan(
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
        layers=views,
        prediction=lowered.head,
        data=spec.data,
        train=spec.train,
        classes=_script_classes(spec.data, shapes, classes, task, bool(lowered.outputs)),
        task=task or "classification",
        one_hot=any(isinstance(t, OneHot) for t in spec.data.transforms),
        changing_lr=spec.train.schedule.kind != "constant" or spec.train.warmup is not None,
        input_name=lowered.inputs[0][0],
        inputs=_several_inputs(lowered.inputs, target),
        output_name=lowered.output_name,
        vocab=vocabulary(shapes),
        outputs=_outputs(lowered.outputs, spec.train),
    )
    result = padding_mask(result)
    for rewrite in target.rewrites:
        result = rewrite(result)
    return variables(result, target)


def variables(p: ScriptPlan, target: Target) -> ScriptPlan:
    """Each layer's script variables (specc/emit/graph.py): `x` throughout for a chain."""
    found, output, named = assign(
        p.layers,
        p.input_name,
        p.output_name,
        input_var=target.input_var,
        reserved=target.reserved,
        inputs={name: var for name, _, var in p.inputs} or None,
        outputs={o.value: o.name for o in p.outputs} or None,
    )
    layers = tuple(
        dataclasses.replace(layer, reads=v.reads, writes=v.writes, copies=v.copies)
        for layer, v in zip(p.layers, found, strict=True)
    )
    outputs = tuple(dataclasses.replace(o, var=named[o.value]) for o in p.outputs)
    return p.replace(layers=layers, output_var=output, outputs=outputs)


def _outputs(lowered: tuple[LoweredOutput, ...], train: Train) -> tuple[OutputView, ...]:
    """Each named output with its own training (the checks made sure every one has a loss)."""
    views = []
    for out in lowered:
        own = train.output_named(out.name)
        assert own is not None and own.loss is not None
        alone = train.model_copy(update={"loss": own.loss, "metrics": own.metrics, "outputs": []})
        views.append(
            OutputView(out.name, out.value, out.shape, out.head, alone, own.weight, own.loss.target)
        )
    return tuple(views)


def _several_inputs(
    inputs: tuple[tuple[str, Shape], ...], target: Target
) -> tuple[tuple[str, Shape, str], ...]:
    """Each input's script variable: its own name, unless that shadows a script name."""
    if len(inputs) < 2:
        return ()
    namer = Namer({*target.reserved, MAIN, target.input_var})
    return tuple((name, shape, namer.take(name)) for name, shape in inputs)


def _view(step: Step, name: str, block: Any = None) -> LayerView:
    args: dict[str, Any] = {}
    if step.kind == "permute":
        args["dims"] = step.dims
    elif step.channels_last:
        args["channels_last"] = True
    if is_sequence(step.input):
        args["time_major"] = True  # an (L, D) token sequence: pools pool its L axis
    return LayerView(
        name=name,
        weights_name=step.name,
        kind=step.kind,
        ir=step.ir,
        input=step.input,
        output=step.output,
        activation=step.activation,
        args=args,
        weights=step.weights,
        sources=step.sources,
        block=block,
    )


def padding_mask(p: ScriptPlan) -> ScriptPlan:
    """The padding mask of a chain that starts with `embedding ... pad=P`: `pad` on the
    plan, `args["mask"]` on the layers `mask_reaches` gives it to (the rule both backends
    follow, docs/semantics.md#masking). Graphs build without it, as the runners do."""
    first = p.layers[0].ir if p.layers else None
    if not isinstance(first, Embedding) or first.pad is None or not p.is_chain:
        return p
    if any(layer.ir is None for layer in p.layers):
        return p  # a lowering-only step (a permute) in a token model: never built here
    reaches = mask_reaches([layer.ir for layer in p.layers])
    if not any(reaches):
        return p  # no layer honours it (a `dense`, `flatten`, `conv1d` ends it): none made
    layers = tuple(
        dataclasses.replace(layer, args={**layer.args, "mask": True}) if masked else layer
        for layer, masked in zip(p.layers, reaches, strict=True)
    )
    return p.replace(layers=layers, pad=int(first.pad))


def _script_classes(
    data: Data, shapes: ModelShapes, classes: int | None, task: str | None, several: bool
) -> int | None:
    """The script's CLASSES: the data's classes, else the output's width. With several
    outputs `data synthetic` draws one latent class label per example from its `classes`
    clusters whatever its task, and derives every output's target from it
    (specc/data/outputs.py), so CLASSES is that count there."""
    if several and isinstance(data, Synthetic):
        return int(data.classes)
    return classes if classes is not None else _classes_from_output(shapes, task)


def _classes_from_output(shapes: ModelShapes, task: str | None) -> int | None:
    if task == "regression":
        return None
    if is_sequence(shapes.output):  # a class per step: the last axis scores the classes
        return shapes.output[-1]
    units = math.prod(shapes.output)
    return 2 if units == 1 else units


def channels_last_input(p: ScriptPlan) -> ScriptPlan:
    """Give a channels-last framework its images channels-last from the data loader.

    After `channels_last`, a model whose first layer is spatial starts by transposing
    its input; the loader of an MNIST-format set can give (N, H, W, C) directly instead
    (keras-io's `np.expand_dims(x, -1)`), which means the same. Not with `augment`, whose
    random transforms read images channels-first, nor when a layer also reads the input
    channels-first.
    """
    data = p.data
    first = p.layers[0] if p.layers else None
    augmented = any(isinstance(t, Augment) for t in data.transforms)
    if not type(data).image_set or augmented or first is None or first.kind != "permute":
        return p
    if first.args.get("dims") != (2, 3, 1) or first.sources != (p.input_name,):
        return p
    if any(p.input_name in layer.sources for layer in p.layers[1:]):
        return p
    moved = first.weights_name  # its readers now read the input itself
    layers = tuple(
        dataclasses.replace(
            layer, sources=tuple(p.input_name if s == moved else s for s in layer.sources)
        )
        for layer in p.layers[1:]
    )
    output = p.input_name if p.output_name == moved else p.output_name
    return p.replace(layers=layers, input=first.output, channels_last_data=True, output_name=output)
