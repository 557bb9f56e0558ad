"""Does the loaded data fit the model? `specc run` asks before training (specc/run/api.py).

The data's examples must fill the model's input (each named input's, for several), and
the targets must fit its outputs: class indices below the class count, one target value
per output unit, one class per step for a per-token model. Each mismatch is a `RunError`
that says which side to change.
"""

from __future__ import annotations

import math

import numpy as np

from specc.data import Dataset
from specc.data.dataset import Inputs, Outputs
from specc.errors import RunError
from specc.ir.layer import fmt_shape
from specc.ir.sequence import is_sequence
from specc.plan import RunPlan


def check_fit(plan: RunPlan, data: Dataset) -> None:
    """The data's examples must fill the model's input; labels must fit its outputs."""
    if isinstance(data.x_train, Inputs):
        _check_inputs(plan, data.x_train)
    need, have = math.prod(plan.shapes.input), math.prod(data.sample_shape)
    if need != have and not isinstance(data.x_train, Inputs):
        shape = "x".join(map(str, data.sample_shape))
        raise RunError(
            f"the data's examples are {shape} ({have} values) but model "
            f"`{plan.model.name}` takes {need} values",
            "change the model's `input` to the data's shape",
            code="E400",
        )
    if isinstance(data.y_train, Outputs):
        _check_outputs(plan, data.y_train)
        return
    assert isinstance(data.y_test, np.ndarray)
    outputs = math.prod(plan.shapes.output)
    model = f"model `{plan.model.name}`"
    per_example = math.prod(data.y_train.shape[1:])
    if plan.train.main_loss.target == "binary" and per_example != outputs:  # E407, npz only
        raise RunError(
            f"error[E407]: `{plan.train.main_loss.kind_name()}` scores each output against one "
            f"target, but the data has {per_example} per example and {model} gives {outputs}",
            f"end with `dense {per_example} sigmoid`",
        )
    steps = tuple(plan.shapes.output[:-1]) if is_sequence(plan.shapes.output) else ()
    if data.y_train.dtype.kind in "iu" and steps:  # a class per step (per token)
        if tuple(data.y_train.shape[1:]) != steps:
            raise RunError(
                f"{model} predicts {steps[0]} steps of {plan.shapes.output[-1]} scores per "
                f"example, but the data has targets of shape "
                f"{'x'.join(map(str, data.y_train.shape[1:])) or 'one label'} per example",
                "per-token targets are one class id per step (N, L): use a text corpus "
                "(`data corpus`), or end the model with one flat prediction per example",
            )
        outputs = plan.shapes.output[-1]
    if data.y_train.dtype.kind in "iu":  # class indices: one output per class, flat
        if len(plan.shapes.output) != 1 and not steps:
            raise RunError(
                f"{model} outputs {'x'.join(map(str, plan.shapes.output))} per example, but "
                "class labels need one flat score per class",
                "end the model with `flatten` and `dense <classes>`",
            )
        top = int(max(data.y_train.max(initial=0), data.y_test.max(initial=0)))
        if top >= outputs:
            raise RunError(
                f"the data has class {top} but {model} has {outputs} outputs",
                f"make the last layer `dense {top + 1}` (one output per class)",
            )
    elif math.prod(data.y_train.shape[1:]) != outputs:
        per = math.prod(data.y_train.shape[1:])
        raise RunError(
            f"the targets have {per} value(s) per example but {model} gives {outputs}",
            f"make the last layer `dense {per}`",
        )


def _check_outputs(plan: RunPlan, y: Outputs) -> None:
    """Each output's targets must fill it: one value per unit, or a class index per example
    (the loader already checked that class indices fit their output)."""
    for out in plan.outputs:
        target = y.arrays[out.name]
        units = math.prod(out.lowered.shape)
        per = math.prod(target.shape[1:])
        if target.dtype.kind not in "iu" and per != units:
            raise RunError(
                f"output `{out.name}` gives {units} value(s) per example, but its targets "
                f"`y_{out.name}` have {per}",
                f"end output `{out.name}` with `dense {per}`, or give it {units}-wide targets",
                code="E407",
            )


def _check_inputs(plan: RunPlan, x: Inputs) -> None:
    """Each named input's examples must fill that input (reshaped row-major, as one input's are)."""
    have = x.shapes
    for name, shape in plan.shapes.inputs:
        if math.prod(have[name]) != math.prod(shape):
            raise RunError(
                f"the data's `{name}` examples are {fmt_shape(have[name])} "
                f"({math.prod(have[name])} values) but model `{plan.model.name}`'s input "
                f"`{name}` is {fmt_shape(shape)} ({math.prod(shape)} values)",
                f"change `input {name}` to {fmt_shape(have[name])}, or the data's `{name}`",
                code="E400",
            )


def class_outputs(plan: RunPlan) -> int | None:
    """Outputs that class labels must fit (the loader names the file and line of one that
    does not); None when the loss does not take class indices."""
    flat = len(plan.shapes.output) == 1
    if plan.outputs:
        return None  # each output's labels are checked with its own (specc/data/outputs.py)
    target = plan.train.main_loss.target
    if target == "class" and is_sequence(plan.shapes.output):
        return plan.shapes.output[-1]  # a class per step: V scores at each step
    return math.prod(plan.shapes.output) if target == "class" and flat else None
