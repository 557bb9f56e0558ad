"""Shared helpers for the TensorFlow backend tests: plans from spec text, both backends."""

from __future__ import annotations

import os
from types import ModuleType

import pytest

from specc.analysis import analyze
from specc.plan import RunOptions, RunPlan, make_plan

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

DATA = "data synthetic classification samples=64 features={features} classes=3 {{ batch 16 }}"


def plan_of(text: str, backend: str = "tensorflow", **options: object) -> RunPlan:
    """A plan from spec text; the text must have no errors."""
    analysis = analyze(text, "test.nn")
    assert analysis.ok, [d.message for d in analysis.errors]
    options = {"compile": "off", **options}  # parity-style default; tests may ask for auto/on
    return make_plan(analysis, RunOptions(backend=backend, **options))  # type: ignore[arg-type]


def spec(model: str, features: int, train: str = "loss sparse_categorical_crossentropy") -> str:
    return f"{model}\n{DATA.format(features=features)}\ntrain {{\n    {train}\n}}\n"


@pytest.fixture(scope="session")
def tfb() -> ModuleType:
    from specc.executors import tensorflow as tensorflow

    tensorflow._tf()  # import once per session (about 5 s)
    return tensorflow


@pytest.fixture(scope="session")
def tob() -> ModuleType:
    from specc.executors import torch as torch

    return torch
