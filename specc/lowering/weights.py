"""How each framework names and lays out an array of a given role: one table per framework.

The neutral layout (what `specc run` saves in weights.safetensors and what
specc/init_weights.py draws) is PyTorch's, so the torch table is the identity. A kernel is
(out, in, *window) there; Keras keeps (*window, in, out); MindSpore uses PyTorch's layout
with its own names for a norm's scale, shift and running statistics. The TensorFlow
executor and the keras/tensorflow/mindspore templates read these tables; nothing else
knows a framework's weight names or axis orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from specc.ir.layer import Weight, WeightRole

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Native:
    """One array as a framework holds it."""

    name: str
    """The framework's name for the array in its layer (`kernel`, `gamma`)."""
    perm: Shape | None
    """numpy axes: native = neutral.transpose(perm); None when the layouts agree."""


Rule = Callable[[Weight, bool], Native]
"""(weight, computed channels-last?) -> how the framework holds it."""


def _same(name: str) -> Rule:
    return lambda weight, channels_last: Native(name, None)


def _keras_kernel(weight: Weight, channels_last: bool) -> Native:
    """(out, in, *window) -> (*window, in, out): Dense (1, 0), Conv2D (2, 3, 1, 0)."""
    rank = len(weight.shape)
    return Native("kernel", (*range(2, rank), 1, 0))


TORCH: dict[WeightRole, Rule] = {
    "kernel": _same("weight"),
    "bias": _same("bias"),
    "scale": _same("weight"),
    "shift": _same("bias"),
    "running_mean": _same("running_mean"),
    "running_var": _same("running_var"),
}
KERAS: dict[WeightRole, Rule] = {
    "kernel": _keras_kernel,
    "bias": _same("bias"),
    "scale": _same("gamma"),
    "shift": _same("beta"),
    "running_mean": _same("moving_mean"),
    "running_var": _same("moving_variance"),
}
MINDSPORE: dict[WeightRole, Rule] = {
    "kernel": _same("weight"),
    "bias": _same("bias"),
    "scale": _same("gamma"),
    "shift": _same("beta"),
    "running_mean": _same("moving_mean"),
    "running_var": _same("moving_variance"),
}
FRAMEWORKS: dict[str, dict[WeightRole, Rule]] = {
    "torch": TORCH,
    "keras": KERAS,
    "mindspore": MINDSPORE,
}


def native(framework: str, weight: Weight, channels_last: bool = False) -> Native:
    """How `framework` names and lays out `weight`."""
    return FRAMEWORKS[framework][weight.role](weight, channels_last)
