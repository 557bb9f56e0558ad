"""The loop's records for a model with several named outputs (docs/semantics.md#outputs).

Keras's names: `loss` is the weighted total, `<output>_loss` each output's own loss,
`<output>_<metric>` each output's metrics, all with `val_`/`test_` before them on the
validation and test splits. A backend gives per-step losses as rows `[total, each
output's loss]`, evaluation losses as one such row, and outputs as a dict by output name.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from specc import metrics as M
from specc.data.dataset import Outputs, Y
from specc.plan import RunPlan


def split_losses(plan: RunPlan, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
    """(the total per step, each output's loss per step or None for one output)."""
    if not plan.outputs:
        return losses, None
    return losses[:, 0], losses[:, 1:]


def epoch_losses(plan: RunPlan, parts: np.ndarray, sizes: np.ndarray) -> dict[str, float]:
    """`<output>_loss`: each output's loss over the epoch, weighted by batch size."""
    means = parts.T @ sizes / sizes.sum()
    return {f"{o.name}_loss": float(m) for o, m in zip(plan.outputs, means, strict=True)}


def keep_outputs(plan: RunPlan) -> bool:
    """Whether the epoch must keep its outputs: some metric reads them."""
    return bool(plan.train.metrics) or any(o.metrics for o in plan.outputs)


def metrics(plan: RunPlan, outputs: Any, targets: Y, prefix: str = "") -> dict[str, float]:
    """The spec's metrics of one split: per output for a model with several."""
    if not plan.outputs:
        assert isinstance(targets, np.ndarray)
        ignore = M.loss_ignore(plan.train)
        return M.compute(list(plan.train.metrics), outputs, targets, prefix, ignore)
    assert isinstance(targets, Outputs)
    out: dict[str, float] = {}
    for o in plan.outputs:
        out.update(
            M.compute(
                list(o.metrics),
                outputs[o.name],
                targets.arrays[o.name],
                f"{prefix}{o.name}_",
                getattr(o.loss, "ignore", None),
            )
        )
    return out


def evaluation(plan: RunPlan, loss: Any, predicted: Any, y: Y, prefix: str) -> dict[str, float]:
    """`<prefix>loss`, each output's `<prefix><output>_loss` and the metrics of a split."""
    if not plan.outputs:
        out = {f"{prefix}loss": float(loss)}
    else:
        row = np.asarray(loss, dtype=np.float64)
        out = {f"{prefix}loss": float(row[0])}
        out.update(
            {f"{prefix}{o.name}_loss": float(v) for o, v in zip(plan.outputs, row[1:], strict=True)}
        )
    out.update(metrics(plan, predicted, y, prefix))
    return out
