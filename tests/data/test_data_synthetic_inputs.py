"""`data synthetic` for a model with several inputs (specc/data/synthetic_inputs.py): every
named input filled in its declared shape, from one label that each input shows only part of."""

from __future__ import annotations

import numpy as np
import pytest

from specc.analysis import analyze
from specc.data import DataError, load
from specc.data.dataset import Inputs
from specc.data.synthetic_inputs import digits, generate_inputs, radix
from specc.ir.data import Synthetic

SHAPES = {"image": (1, 28, 28), "meta": (12,)}
MODEL = """model two_tower {
    input image 1x28x28
    input meta 12
    branch img from=image { conv2d 8 3 relu; global_avgpool }
    branch tab from=meta { dense 16 relu }
    concat img tab
    dense 10
}
"""
TRAIN = "train { loss sparse_categorical_crossentropy }\n"


def test_radix_is_the_smallest_that_spells_every_class() -> None:
    assert [radix(10, 2), radix(2, 2), radix(10, 3), radix(100, 2), radix(5, 1)] == [4, 2, 3, 10, 5]
    labels = np.arange(10)
    shares = digits(labels, 2, 4)
    np.testing.assert_array_equal(shares[0], [0, 1, 2, 3, 0, 1, 2, 3, 0, 1])
    np.testing.assert_array_equal(shares[1], [0, 0, 0, 0, 1, 1, 1, 1, 2, 2])


def test_every_input_in_its_shape_same_seed_same_arrays() -> None:
    node = Synthetic(classes=10, samples=300, noise=0.5)
    x, y = generate_inputs(node, SHAPES)
    assert list(x.arrays) == ["image", "meta"]
    assert x.shapes == SHAPES
    assert {a.dtype for a in x.arrays.values()} == {np.dtype(np.float32)} and y.dtype == np.int64
    assert np.bincount(y).tolist() == [30] * 10  # balanced, like one-input `synthetic`
    again, y_again = generate_inputs(node, SHAPES)
    for name in SHAPES:
        np.testing.assert_array_equal(x.arrays[name], again.arrays[name])
    np.testing.assert_array_equal(y, y_again)
    other, _ = generate_inputs(node.model_copy(update={"data_seed": 1}), SHAPES)
    assert not np.array_equal(other.arrays["meta"], x.arrays["meta"])
    # labels come from the same draw as one-input `synthetic` of the same seed
    np.testing.assert_array_equal(y, np.random.default_rng(0).permutation(np.arange(300) % 10))


def _nearest_centroid(features: np.ndarray, y: np.ndarray, train: int) -> float:
    centres = np.stack([features[:train][y[:train] == c].mean(0) for c in range(10)])
    distances = ((features[train:, None, :] - centres[None]) ** 2).sum(-1)
    return float((distances.argmin(1) == y[train:]).mean())


def test_each_input_carries_part_of_the_label_and_together_all_of_it() -> None:
    """With 10 classes and two inputs each input shows one base-4 digit of the label: the
    image alone can be right for at most 4/10 of the examples, `meta` alone for 3/10, the two
    together for all. A nearest-centroid classifier on fixed-seed data reaches those ceilings
    (image features: FFT magnitudes, blind to each example's random phase)."""
    x, y = generate_inputs(Synthetic(classes=10, samples=2000, noise=0.5), SHAPES)
    image = np.abs(np.fft.rfft2(x.arrays["image"][:, 0])).reshape(len(y), -1)
    blocks = {"image": image, "meta": x.arrays["meta"].astype(np.float64)}
    blocks = {name: (b - b.mean(0)) / b.std() for name, b in blocks.items()}
    blocks["both"] = np.concatenate([blocks["image"], blocks["meta"]], axis=1)
    got = {name: _nearest_centroid(b, y, 1600) for name, b in blocks.items()}
    assert got == pytest.approx({"image": 0.3975, "meta": 0.285, "both": 1.0}, abs=1e-9)
    assert got["image"] <= 0.4 and got["meta"] <= 0.3  # the ceilings a single input has


def _data(block: str, model: str = MODEL, train: str = TRAIN) -> Synthetic:
    analysis = analyze(model + block + train, "<test>")
    assert analysis.ok, [d.message for d in analysis.errors]
    assert isinstance(analysis.spec.data, Synthetic)
    return analysis.spec.data


def test_load_fills_the_inputs_then_splits_them_alike() -> None:
    data = _data("data synthetic samples=100 classes=10 { validation 0.2; test 0.1 }\n")
    got = load(data, inputs=SHAPES)
    assert isinstance(got.x_train, Inputs) and got.x_train.shapes == SHAPES
    assert got.sizes() == {"train": 72, "val": 18, "test": 10}
    x, y = generate_inputs(data, SHAPES)
    np.testing.assert_array_equal(got.x_test.arrays["meta"], x.arrays["meta"][90:])  # type: ignore[union-attr]
    np.testing.assert_array_equal(got.y_test, y[90:])
    assert (
        got.source
        == "synthetic classification (100 samples, inputs image 1x28x28, meta 12, seed 0)"
    )
    with pytest.raises(DataError, match="needs the shape of each model input"):
        load(data, inputs=list(SHAPES))


@pytest.mark.parametrize(
    ("block", "message"),
    [
        (
            "data synthetic regression\n",
            "`data synthetic` fills the several inputs of model `two_tower` from a class label",
        ),
        (
            "data synthetic regression features=12\n",
            "with several inputs, `data synthetic` takes each input's shape from model `two_tower`",
        ),
        ("data synthetic classes=10\n", ""),
    ],
)
def test_check_refuses_what_synthetic_cannot_fill(block: str, message: str) -> None:
    analysis = analyze(MODEL + block + "train { loss mse }\n", "<test>")
    codes = [(d.code, d.message[: len(message)]) for d in analysis.errors]
    assert ("E409", message) in codes if message else not analysis.errors
