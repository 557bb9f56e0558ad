"""Helpers for the parity tests: a small synthetic MLP spec whose optimizer/schedule vary."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

MLP = """model mlp {{
    input 10
    dense 16 relu
    dense 16 tanh
    dense 3 softmax
}}
data synthetic classification samples={samples} features=10 classes=3 noise=0.5 {{
    batch 16 shuffle
}}
train {{
    loss sparse_categorical_crossentropy
    optimizer {optimizer}
    epochs {epochs}
    seed 7
{extra}
}}
"""


def mlp(optimizer: str, extra: str = "", epochs: int = 5, samples: int = 64) -> str:
    return MLP.format(optimizer=optimizer, extra=extra, epochs=epochs, samples=samples)
