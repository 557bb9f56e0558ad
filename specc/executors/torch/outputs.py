"""Several named outputs on PyTorch (docs/semantics.md#outputs): the weighted total loss,
each output's own loss and probability head, over dicts of tensors keyed by output name.

A model with `output` blocks is a `GraphNetwork` returning `{name: tensor}`; its targets
arrive as `{name: tensor}` too (specc/data/outputs.py). Importing this imports torch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch

from specc.executors.torch.losses import LOSSES, LossFn, probability_fn
from specc.plan import RunPlan

Tensors = dict[str, torch.Tensor]


@dataclass(frozen=True)
class SeveralLoss:
    """`(out, y) -> [total, loss of each output]`: the total is Keras's, the sum of each
    output's batch-mean loss times its `weight`; training minimises element 0."""

    names: tuple[str, ...]
    fns: tuple[LossFn, ...]
    weights: tuple[float, ...]

    def __call__(self, out: Tensors, y: Tensors) -> torch.Tensor:
        parts = [fn(out[name], y[name]) for name, fn in zip(self.names, self.fns, strict=True)]
        total = self.weights[0] * parts[0]
        for weight, part in zip(self.weights[1:], parts[1:], strict=True):
            total = total + weight * part
        return torch.stack([total, *parts])


@dataclass(frozen=True)
class SeveralHead:
    """Each output's probability head (softmax/sigmoid its loss takes logits for)."""

    heads: dict[str, Callable[[torch.Tensor], torch.Tensor]]

    def __call__(self, out: Tensors) -> Tensors:
        return {name: head(out[name]) for name, head in self.heads.items()}


def several_loss(plan: RunPlan) -> SeveralLoss:
    return SeveralLoss(
        tuple(o.name for o in plan.outputs),
        tuple(LOSSES[type(o.loss)](o.loss) for o in plan.outputs),
        tuple(o.weight for o in plan.outputs),
    )


def several_head(plan: RunPlan) -> SeveralHead:
    return SeveralHead({o.name: probability_fn(o.loss) for o in plan.outputs})
