"""A deliberately wrong mapping in the TensorFlow backend makes parity FAIL.

Each test breaks one semantic choice the way a careless port would (the framework's own
default instead of docs/semantics.md), and asserts that `specc parity` catches it by a wide
margin. Without these, a parity check that always passes would look the same as one that works.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
import tensorflow as tf

from specc.executors.tensorflow import model as tf_model
from specc.executors.tensorflow import optimizers as tf_optimizers
from tests.parity.conftest import mlp
from tests.parity.test_parity import CONV_BN, run


def test_square_dense_kernel_not_transposed_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    original = tf_model.WeightSlot.to_keras

    def forgets_square_transpose(self: tf_model.WeightSlot, array: np.ndarray) -> np.ndarray:
        if self.perm == (1, 0) and array.shape[0] == array.shape[1]:
            return array  # (out, in) copied as if it were Keras's (in, out)
        return original(self, array)

    text = mlp("sgd lr=0.05 momentum=0.9")  # dense_2 is 16x16: shapes cannot catch it
    assert run(text, steps=20).passed
    monkeypatch.setattr(tf_model.WeightSlot, "to_keras", forgets_square_transpose)
    result = run(text, steps=20)
    assert not result.passed
    assert result.max_relative > 100 * result.tolerance


def test_rmsprop_eps_inside_the_root_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    def keras_placement(self: tf_optimizers.RMSprop, grads: list[Any], lr: Any) -> None:
        rho, eps = float(self.ir.rho), float(self.ir.eps)  # type: ignore[attr-defined]
        for i, (g, w) in enumerate(zip(grads, self.variables, strict=True)):
            a = self.slots["square_avg"][i]
            a.assign(a * rho + (1.0 - rho) * (g * g))
            w.assign_sub(lr * g / tf.sqrt(a + eps))  # Keras 3: sqrt(a + eps)

    text = mlp("rmsprop lr=1e-3 eps=1e-4")
    assert run(text, steps=20).passed
    monkeypatch.setattr(tf_optimizers.RMSprop, "update", keras_placement)
    result = run(text, steps=20)
    assert not result.passed
    assert result.max_relative > 10 * result.tolerance


def test_keras_batchnorm_momentum_convention_is_caught(monkeypatch: pytest.MonkeyPatch) -> None:
    """Training losses never read running statistics; the evaluation-mode loss does."""
    original = tf_model.SpecBatchNorm.__init__

    def keras_momentum(self: Any, momentum: float = 0.1, **kw: Any) -> None:
        original(self, momentum=1.0 - momentum, **kw)  # Keras's 0.99 means PyTorch's 0.01

    monkeypatch.setattr(tf_model.SpecBatchNorm, "__init__", keras_momentum)
    result = run(CONV_BN, steps=20, limit=320)
    assert result.relative.max() < result.tolerance  # training alone looks fine...
    assert not result.passed  # ...but evaluation mode exposes it
    assert result.eval_relative > 5 * result.tolerance
