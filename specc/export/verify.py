"""Numerical verification of an exported model against the run's framework model.

The artifact is loaded back from disk with the loader `specc predict` uses
(`specc.predict.artifacts`) and run on held-out examples at batch 1 and batch 64; the
largest absolute difference must stay within `TOLERANCE` (float32 models) and the
predicted class must be identical for every example; a model with several named outputs
is compared output by output (one `Check` each). A failure is an `ExportError` carrying a
table of the largest differences.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from specc.errors import RunError
from specc.metrics import predicted_classes

TOLERANCE = 1e-5
BATCHES = (1, 64)


class ExportError(RunError):
    """The artifact could not be written, or it does not compute what the run's model does."""


@dataclass(frozen=True)
class Check:
    batch: int
    max_abs_diff: float
    same_classes: bool | None  # None for regression outputs
    output: str | None = None  # which of several named outputs (None: the one output)

    @property
    def ok(self) -> bool:
        return self.max_abs_diff <= TOLERANCE and self.same_classes is not False

    def to_json(self) -> dict[str, Any]:
        return {
            **({} if self.output is None else {"output": self.output}),
            "batch": self.batch,
            "max_abs_diff": self.max_abs_diff,
            "argmax_identical": self.same_classes,
            "ok": self.ok,
        }


def compare(batch: int, expected: np.ndarray, got: np.ndarray, classes: bool) -> Check:
    if got.shape != expected.shape:
        return Check(batch, float("inf"), False if classes else None)
    diff = np.abs(got.astype(np.float64) - expected.astype(np.float64))
    worst = float(diff.max()) if diff.size else 0.0
    if not np.isfinite(got).all():
        worst = float("inf")
    same = bool((predicted_classes(got) == predicted_classes(expected)).all()) if classes else None
    return Check(batch, worst, same)


def compare_outputs(
    batch: int, expected: dict[str, np.ndarray], got: Any, classes: dict[str, bool]
) -> list[Check]:
    """Each of several named outputs compared as one output is (`classes`: by output name,
    whether its predicted classes must match); a missing output is an infinite difference."""
    found = got if isinstance(got, dict) else {}
    checks = []
    for name, want in expected.items():
        given = found.get(name)
        if given is None:
            checks.append(Check(batch, float("inf"), False if classes[name] else None, name))
            continue
        check = compare(batch, want, np.asarray(given), classes[name])
        checks.append(Check(check.batch, check.max_abs_diff, check.same_classes, name))
    return checks


def difference_table(expected: np.ndarray, got: np.ndarray, rows: int = 5) -> str:
    """The `rows` largest differences: example, output index, expected, got, |diff|."""
    if got.shape != expected.shape:
        return f"  output shape {got.shape} where the run's model gives {expected.shape}"
    flat_e = expected.reshape(len(expected), -1)
    flat_g = got.reshape(len(got), -1)
    diff = np.abs(flat_g.astype(np.float64) - flat_e.astype(np.float64))
    diff[~np.isfinite(diff)] = np.inf
    order = np.argsort(-diff, axis=None, kind="stable")[:rows]
    lines = [f"  {'example':>7}  {'output':>6}  {'expected':>12}  {'exported':>12}  {'|diff|':>10}"]
    for flat in order:
        i, j = np.unravel_index(flat, diff.shape)
        lines.append(
            f"  {i:>7}  {j:>6}  {flat_e[i, j]:>12.6g}  {flat_g[i, j]:>12.6g}  {diff[i, j]:>10.3g}"
        )
    return "\n".join(lines)
