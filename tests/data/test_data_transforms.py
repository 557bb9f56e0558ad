"""Transforms: the numbers they produce, their order, and their mistakes."""

from __future__ import annotations

import numpy as np
import pytest

from specc.data import DataError
from specc.data.transforms import apply
from specc.ir import data as ir

IMAGES = np.arange(2 * 3 * 2 * 2, dtype=np.uint8).reshape(2, 3, 2, 2)  # (N, C, H, W)
LABELS = np.array([2, 0])


def test_scale_then_normalize_per_channel() -> None:
    steps = [ir.Scale(factor=0.5), ir.Normalize(mean=[1.0, 2.0, 3.0], std=[1.0, 2.0, 4.0])]
    x, y = apply(steps, IMAGES, LABELS, 3)
    mean = np.array([1.0, 2.0, 3.0]).reshape(1, 3, 1, 1)
    std = np.array([1.0, 2.0, 4.0]).reshape(1, 3, 1, 1)
    np.testing.assert_allclose(x, (IMAGES * 0.5 - mean) / std, rtol=1e-6)
    assert x.dtype == np.float32 and y is LABELS


def test_order_matters() -> None:
    a, _ = apply([ir.Scale(factor=2.0), ir.Normalize(mean=1.0, std=1.0)], IMAGES, LABELS, 3)
    b, _ = apply([ir.Normalize(mean=1.0, std=1.0), ir.Scale(factor=2.0)], IMAGES, LABELS, 3)
    assert a[0, 0, 0, 0] == -1.0 and b[0, 0, 0, 0] == -2.0


def test_mnist_normalization_scalar() -> None:
    x, _ = apply(
        [ir.Scale(factor=1 / 255), ir.Normalize(mean=0.1307, std=0.3081)], IMAGES, LABELS, 3
    )
    assert x[0, 0, 0, 0] == pytest.approx(-0.1307 / 0.3081, rel=1e-6)


def test_per_feature_normalize_on_tables() -> None:
    table = np.array([[1.0, 10.0], [3.0, 30.0]], np.float32)
    x, _ = apply([ir.Normalize(mean=[2.0, 20.0], std=[1.0, 10.0])], table, LABELS, 3)
    np.testing.assert_array_equal(x, [[-1.0, -1.0], [1.0, 1.0]])


def test_normalize_list_must_match_channels() -> None:
    with pytest.raises(DataError) as caught:
        apply([ir.Normalize(mean=[0.5, 0.5], std=0.2)], IMAGES, LABELS, 3)
    assert caught.value.message == (
        "`normalize` has 2 mean values but the data has 3 channels (sample shape 3x2x2)"
    )
    assert caught.value.hint == "give one mean value, or one per channel"


def test_one_hot() -> None:
    _, y = apply([ir.OneHot()], IMAGES, LABELS, 3)
    np.testing.assert_array_equal(y, [[0, 0, 1], [1, 0, 0]])
    assert y.dtype == np.float32


def test_one_hot_needs_classes() -> None:
    with pytest.raises(DataError, match="`one_hot` needs class labels"):
        apply([ir.OneHot()], IMAGES, np.array([[0.5], [1.5]], np.float32), None)


def test_augment_is_left_to_the_executors() -> None:
    x, _ = apply([ir.Augment(shift=0.2, flip=True)], IMAGES, LABELS, 3)
    np.testing.assert_array_equal(x, IMAGES)
