"""The numpy reference `augment_batch`: exact results for known random draws."""

from __future__ import annotations

import numpy as np
import pytest

from specc.data import DataError
from specc.data.augment import augment_batch
from specc.ir.data import Augment


class Draws:
    """A stand-in generator: every uniform draw at its upper end, flips decided per image."""

    def __init__(self, flips: list[bool], u: float = 1.0) -> None:
        self.flips, self.u = flips, u

    def random(self, n: int) -> np.ndarray:
        return np.where(self.flips, 0.0, 1.0)[:n]

    def uniform(self, low: float, high: float, size: object) -> np.ndarray:
        return np.full(size, self.u)  # type: ignore[arg-type]


IMAGES = np.arange(2 * 1 * 6 * 6, dtype=np.float32).reshape(2, 1, 6, 6)


def test_flip_only_flips_the_chosen_images() -> None:
    out = augment_batch(IMAGES, Augment(flip=True), Draws([True, False]))  # type: ignore[arg-type]
    np.testing.assert_array_equal(out[0], IMAGES[0, :, :, ::-1])
    np.testing.assert_array_equal(out[1], IMAGES[1])


def test_whole_pixel_shift_with_nearest_edge_fill() -> None:
    out = augment_batch(IMAGES, Augment(shift=1 / 3), Draws([False, False]))  # type: ignore[arg-type]
    # +2 pixels right and down: output[i, j] = input[i - 2, j - 2], clamped to the edge.
    rows = np.clip(np.arange(6) - 2, 0, 5)
    np.testing.assert_allclose(out, IMAGES[:, :, rows][:, :, :, rows], atol=1e-4)


def test_rotation_by_90_degrees_is_a_clockwise_quarter_turn() -> None:
    out = augment_batch(IMAGES, Augment(rotation=90), Draws([False, False]))  # type: ignore[arg-type]
    np.testing.assert_allclose(out, np.rot90(IMAGES, k=-1, axes=(2, 3)), atol=1e-4)
    assert out[0, 0, 0, 0] == IMAGES[0, 0, 5, 0]  # the bottom-left pixel comes to the top left


def test_random_draws_are_reproducible_and_keep_shape_and_range() -> None:
    node = Augment(shift=0.1, rotation=15, flip=True)
    x = np.random.default_rng(0).random((16, 3, 10, 10), dtype=np.float32)
    a = augment_batch(x, node, np.random.default_rng(5))
    b = augment_batch(x, node, np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)
    assert a.shape == x.shape and a.dtype == np.float32
    assert x.min() <= a.min() and a.max() <= x.max()  # bilinear: never outside the input range
    assert not np.allclose(a, x)


def test_no_options_is_identity_and_copies() -> None:
    out = augment_batch(IMAGES, Augment(), np.random.default_rng(0))
    np.testing.assert_array_equal(out, IMAGES)
    assert out is not IMAGES


def test_needs_images() -> None:
    with pytest.raises(
        DataError,
        match=r"`augment` needs images \(N, C, H, W\), but the inputs have shape \(4, 3\)",
    ):
        augment_batch(np.zeros((4, 3), np.float32), Augment(flip=True), np.random.default_rng(0))
