"""Helpers for the sweep tests: the fixtures folder, the small-run flags and a tiny spec."""

from __future__ import annotations

from pathlib import Path

FIXTURES = Path(__file__).parent / "fixtures"
# Flags every training here uses: one epoch on the first 1,000 bundled digits.
SMALL = ("--epochs", "1", "--limit", "1000")


def tiny_spec(lr: str = "loguniform(1e-3, 0.5)", units: str = "16") -> str:
    """An MNIST-sample MLP small enough that a trial trains in well under a second."""
    return (
        "# a tiny search\n"
        "model tiny {\n    input 28x28\n    flatten\n"
        f"    dense {units} relu\n    dense 10\n}}\n"
        "data mnist_sample { scale 1/255; batch 64 shuffle; validation 0.2 }\n"
        "train {\n    loss cross_entropy\n"
        f"    optimizer sgd lr={lr} momentum=0.9\n"
        "    epochs 3\n    metrics accuracy\n    seed 7\n}\n"
    )
