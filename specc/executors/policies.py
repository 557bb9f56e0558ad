"""Policies every backend follows, written once: evaluation chunking, when compiling pays,
and how a weights file that does not fit the model is reported.

Backends import these instead of restating them, so the torch and TensorFlow executors
cannot drift apart on them.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from specc.errors import WeightsError

if TYPE_CHECKING:
    from specc.ir.spec import Model
    from specc.plan import RunPlan

EVAL_CHUNK = 4096
"""Examples per forward pass in evaluation: bounded memory on any device."""


def compile_pays(plan: RunPlan, steps_per_epoch: int, min_steps: int) -> bool:
    """`compile on|off` as written; `auto`: once the run has `min_steps` steps to repay the
    compile (each backend measured its own threshold: docs/parity.md#performance)."""
    if plan.compile != "auto":
        return plan.compile == "on"
    return plan.epochs * steps_per_epoch >= min_steps


def check_fits(key: str, neutral: Sequence[int] | None, wanted: Sequence[int]) -> None:
    """Raise WeightsError unless weight `key` (neutral shape, None: absent) fits the model."""
    if neutral is None:
        raise WeightsError(f"the weights have no `{key}`", "were they saved from this model?")
    if tuple(neutral) != tuple(wanted):
        raise WeightsError(
            f"`{key}` has shape {tuple(neutral)} in the weights but {tuple(wanted)} in the model",
            "were they saved from this model?",
        )


def input_dtype(model: Model) -> type[np.integer] | type[np.floating]:
    """The numpy type a model's inputs are fed as: int64 token ids for `input N int`
    (docs/semantics.md#sequences), float32 otherwise."""
    if model.input is not None and model.input.dtype == "int":
        return np.int64
    return np.float32
