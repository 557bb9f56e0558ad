"""The lowered model: a flat list of named steps with shapes, weights and layout.

A `Step` is one layer as a framework builds it; lowering passes may add steps that are
not IR layers (a `permute` between layouts) or split a fused activation into a step of
its own. Backends and templates read steps; they never re-derive a fact from the IR.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass

from specc.ir.layers import Layer, Weight
from specc.ir.losses import Loss
from specc.lowering.head import Head, prediction_head
from specc.shapes import ModelShapes

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Step:
    """One step of the lowered model."""

    name: str
    """The spec's name for it: its arrays are saved as `<name>.<array>`."""
    kind: str
    """The IR kind, or a lowering-only kind (`permute`)."""
    ir: Layer | None
    """The IR layer (None for lowering-only steps)."""
    input: Shape
    """Input shape of one example, in this step's layout."""
    output: Shape
    activation: Layer | None = None
    """The activation applied to the output (an IR activation), if fused into this step."""
    channels_last: bool = False
    """Computed on a channels-last tensor (after `layout.channels_last`)."""
    dims: Shape = ()
    """For `permute`: Keras-style 1-based axis order of the output."""
    weights: tuple[Weight, ...] = ()
    """The arrays this step owns, in the neutral layout and drawing order."""
    sources: tuple[str, ...] = ()
    """The values it reads by name: an input's or an earlier step's (several for a merge).
    A chain's steps each read the step before (`Lowered.is_chain`)."""

    @property
    def frozen(self) -> bool:
        return bool(self.ir is not None and self.ir.frozen)

    @property
    def spatial(self) -> bool:
        return self.ir is not None and type(self.ir).layout == "spatial"


@dataclass(frozen=True)
class LoweredOutput:
    """One named output of a model with `output` blocks (docs/semantics.md#outputs)."""

    name: str
    """The spec's output name (its loss, metrics and target `y_<name>` are keyed by it)."""
    value: str
    """The step computing it for training (its loss's final activation split off)."""
    shape: Shape
    head: Head | None
    """The softmax/sigmoid its loss takes logits for: applied for predictions only."""


@dataclass(frozen=True)
class Lowered:
    """A model lowered for one loss: the steps a framework builds, and the prediction head."""

    input: Shape
    output: Shape
    steps: tuple[Step, ...]
    head: Head | None
    """`softmax`/`sigmoid` the loss takes logits for: applied for predictions only."""
    inputs: tuple[tuple[str, Shape], ...] = ()
    """(name, shape) of every input, in the order written."""
    output_name: str = ""
    """The value the model outputs: the name of its last step, or of an input (a model
    with several outputs: the first output's)."""
    outputs: tuple[LoweredOutput, ...] = ()
    """A model with `output` blocks: each output, in order (empty for one output)."""

    @property
    def is_chain(self) -> bool:
        """One input, each step reading the one before, the last one the output (and no
        named outputs: they are returned by name)."""
        if len(self.inputs) != 1 or self.outputs:
            return False
        previous = self.inputs[0][0]
        for step in self.steps:
            if step.sources != (previous,):
                return False
            previous = step.name
        return previous == self.output_name

    @property
    def weighted(self) -> tuple[Step, ...]:
        return tuple(step for step in self.steps if step.weights)

    def replace(self, **changes: object) -> Lowered:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]


def lower(shapes: ModelShapes, loss: Loss, losses: Mapping[str, Loss] | None = None) -> Lowered:
    """Steps for every unrolled layer, with the loss-fused final activation split off
    (per output, with each output's loss from `losses`, for a model with several)."""
    steps = [
        Step(
            name=info.name,
            kind=info.layer.kind_name(),
            ir=info.layer,
            input=info.input,
            output=info.output,
            activation=info.layer.fused_activation(),
            weights=info.layer.weights(info.input),
            sources=info.sources,
        )
        for info in shapes.layers
    ]
    if shapes.outputs:
        return _several(shapes, steps, losses or {})
    output = shapes.output_name or (steps[-1].name if steps else shapes.inputs[0][0])
    head = prediction_head(shapes, loss)
    output = _split_head(steps, output, head)
    return Lowered(
        input=shapes.input,
        output=shapes.output,
        steps=tuple(steps),
        head=head,
        inputs=shapes.inputs,
        output_name=output,
    )


def _split_head(steps: list[Step], output: str, head: Head | None) -> str:
    """Remove the output's final `head` activation (a step, or fused into the output's
    step); the name of the value then computing the output."""
    if head is None:
        return output
    at = next(i for i, step in enumerate(steps) if step.name == output)
    last = steps[at]
    if last.kind == head:
        del steps[at]
        return last.sources[0]
    steps[at] = dataclasses.replace(last, activation=None)
    return output


def _several(shapes: ModelShapes, steps: list[Step], losses: Mapping[str, Loss]) -> Lowered:
    """Each output's head split off by its own loss (nothing else reads an output's value:
    specc/flow.py refuses that, E210)."""
    outputs = []
    for name, step in shapes.outputs:
        own = shapes.for_output(name)
        head = prediction_head(own, losses[name]) if name in losses else None
        value = _split_head(steps, step, head)
        outputs.append(LoweredOutput(name, value, own.output, head))
    return Lowered(
        input=shapes.input,
        output=shapes.output,
        steps=tuple(steps),
        head=outputs[0].head,
        inputs=shapes.inputs,
        output_name=outputs[0].value,
        outputs=tuple(outputs),
    )
