"""Synthetic data: deterministic per `data_seed`, the documented shapes, and the split rule."""

from __future__ import annotations

import numpy as np
import pytest

from specc.data import load
from specc.data.synthetic import generate
from specc.ir import data as ir


def test_same_seed_same_data_other_seed_other_data() -> None:
    node = ir.Synthetic(task="classification", samples=300, features=5, classes=3, data_seed=7)
    first, second = load(node), load(node)
    other = load(
        ir.Synthetic(task="classification", samples=300, features=5, classes=3, data_seed=8)
    )
    np.testing.assert_array_equal(first.x_train, second.x_train)
    assert first.fingerprint == second.fingerprint != other.fingerprint
    assert not np.allclose(first.x_train, other.x_train)


def test_classification_clusters_are_balanced_and_separable_at_low_noise() -> None:
    table = generate(
        ir.Synthetic(task="classification", samples=400, features=4, classes=4, noise=0.05)
    )
    assert table.x.shape == (400, 4) and table.x.dtype == np.float32
    np.testing.assert_array_equal(np.bincount(table.y), [100, 100, 100, 100])
    centres = np.stack([table.x[table.y == k].mean(axis=0) for k in range(4)])
    nearest = np.argmin(((table.x[:, None] - centres[None]) ** 2).sum(-1), axis=1)
    assert (nearest == table.y).mean() == 1.0  # noise 0.05 around N(0, 1) centres
    assert table.x[table.y == 0].std(axis=0).max() < 0.1


def test_regression_is_a_noisy_linear_map() -> None:
    table = generate(ir.Synthetic(task="regression", samples=2000, features=3, noise=0.1))
    design = np.hstack([table.x, np.ones((2000, 1), np.float32)])
    coef, *_ = np.linalg.lstsq(design, table.y, rcond=None)
    residual = table.y - design @ coef
    assert residual.std() == pytest.approx(0.1, rel=0.1)


@pytest.mark.parametrize(
    ("task", "y_shape", "y_dtype", "classes"),
    [
        ("classification", (1280,), np.int64, 3),
        ("binary", (1280, 1), np.float32, 2),
        ("regression", (1280, 1), np.float32, None),
    ],
)
def test_splits_take_the_tails_test_first(
    task: str, y_shape: tuple, y_dtype: type, classes: int | None
) -> None:
    node = ir.Synthetic(task=task, samples=2000, features=6, classes=3, validation=0.2, test=0.2)
    data = load(node)
    everything = generate(node)
    assert data.sizes() == {"train": 1280, "val": 320, "test": 400}
    assert data.y_train.shape == y_shape and data.y_train.dtype == y_dtype
    assert data.classes == classes and data.task == task and data.sample_shape == (6,)
    np.testing.assert_array_equal(data.x_train, everything.x[:1280])
    np.testing.assert_array_equal(data.x_val, everything.x[1280:1600])
    np.testing.assert_array_equal(data.x_test, everything.x[1600:])


def test_split_arithmetic_follows_keras_validation_split() -> None:
    # Keras: split_at = floor(n * (1 - fraction)); 7 rows with 0.3 -> 4 kept, 3 held out.
    data = load(ir.Synthetic(samples=10, features=2, test=0.3, validation=0.3))
    assert data.sizes() == {"train": 4, "val": 3, "test": 3}


def test_limit_applies_before_the_splits() -> None:
    data = load(ir.Synthetic(samples=1000, features=2, test=0.5), limit=10)
    assert data.sizes() == {"train": 5, "val": 0, "test": 5}
