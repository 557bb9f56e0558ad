"""PyTorch losses (docs/semantics.md#losses): one builder per IR loss, each a mean
over the batch (over its tokens for per-step outputs, docs/semantics.md#per-token), and
the probability head predictions apply.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F

from specc.ir import losses as Lo
from specc.lowering import probability_head

if TYPE_CHECKING:
    pass

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


# ---- losses (docs/semantics.md#losses): every loss is a mean over the batch -------------


def _sparse_ce(node: Lo.SparseCategoricalCrossentropy) -> LossFn:
    s, ignore = float(node.label_smoothing), node.ignore
    if ignore is None:
        # per-step outputs (B, L, V) against (B, L): every token weighs the same
        return lambda out, y: F.cross_entropy(
            out.reshape(-1, out.shape[-1]), y.reshape(-1), label_smoothing=s
        )

    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        flat_y = y.reshape(-1)
        per = F.cross_entropy(
            out.reshape(-1, out.shape[-1]),
            flat_y,
            ignore_index=ignore,
            label_smoothing=s,
            reduction="none",
        )
        # the mean over the kept targets; a batch of ignored targets only counts 0 (not NaN)
        return per.sum() / (flat_y != ignore).sum().clamp(min=1)

    return loss


def _categorical_ce(node: Lo.CategoricalCrossentropy) -> LossFn:
    # torch smooths probability targets as (1 - s) * y + s / C, the semantics' formula.
    s = float(node.label_smoothing)
    return lambda out, y: F.cross_entropy(out, y, label_smoothing=s)


def _binary_ce(node: Lo.BinaryCrossentropy) -> LossFn:
    s = float(node.label_smoothing)

    def loss(out: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        target = y.reshape(out.shape).to(out.dtype)
        if s:
            target = target * (1.0 - s) + s / 2.0
        return F.binary_cross_entropy_with_logits(out, target)

    return loss


def _regression(fn: Callable[..., torch.Tensor], **kw: float) -> LossFn:
    return lambda out, y: fn(out, y.reshape(out.shape).to(out.dtype), **kw)


LOSSES: dict[type, Callable[[Any], LossFn]] = {
    Lo.SparseCategoricalCrossentropy: _sparse_ce,
    Lo.CategoricalCrossentropy: _categorical_ce,
    Lo.BinaryCrossentropy: _binary_ce,
    Lo.NLL: lambda node: lambda out, y: F.nll_loss(out, y),
    Lo.MSE: lambda node: _regression(F.mse_loss),
    Lo.MAE: lambda node: _regression(F.l1_loss),
    Lo.Huber: lambda node: _regression(F.huber_loss, delta=float(node.delta)),
}


_HEADS: dict[str | None, Callable[[torch.Tensor], torch.Tensor]] = {
    "sigmoid": torch.sigmoid,
    "softmax": lambda out: torch.softmax(out, dim=-1),
    None: lambda out: out,
}


def probability_fn(loss: Lo.Loss) -> Callable[[torch.Tensor], torch.Tensor]:
    """What `predict` applies to the training outputs (specc.lowering.probability_head)."""
    return _HEADS[probability_head(loss)]
