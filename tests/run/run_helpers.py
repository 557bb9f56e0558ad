"""Helpers for the run tests: plans from spec text and a tiny tabular spec template."""

from __future__ import annotations

import numpy as np

from specc.analysis import analyze
from specc.plan import RunOptions, RunPlan, make_plan


def plan_for(text: str, **options: object) -> RunPlan:
    analysis = analyze(text, "<test>")
    assert analysis.ok, [d.message for d in analysis.errors]
    return make_plan(analysis, RunOptions(**options))  # type: ignore[arg-type]


def tabular_spec(
    layers: str,
    loss: str = "mse",
    optimizer: str = "sgd lr=0.1",
    extra: str = "",
    features: int = 6,
    data_extra: str = "",
) -> str:
    """A one-model spec over synthetic data; tests feed their own arrays to the backend."""
    return (
        f"model m {{\n    input {features}\n{layers}\n}}\n"
        f"data synthetic regression features={features} samples=64 {{\n    batch 16\n{data_extra}}}\n"
        f"train {{\n    loss {loss}\n    optimizer {optimizer}\n    epochs 1\n{extra}}}\n"
    )


def arrays(n: int = 48, features: int = 6, seed: int = 1) -> np.ndarray:
    return np.random.default_rng(seed).normal(size=(n, features)).astype(np.float32)
