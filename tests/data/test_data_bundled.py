"""The bundled MNIST sample: the files are what the README says, and load as promised."""

from __future__ import annotations

import hashlib
import re

import numpy as np

from specc.data import Dataset, load
from specc.ir import data as ir
from specc.resources import bundled_dataset


def test_files_match_the_readme_sha256s() -> None:
    folder = bundled_dataset("mnist_sample")
    listed = re.findall(r"^([0-9a-f]{64})  (\S+)$", (folder / "README.md").read_text(), re.M)
    assert len(listed) == 4
    for digest, name in listed:
        assert hashlib.sha256((folder / name).read_bytes()).hexdigest() == digest, name


def test_loads_with_documented_shapes_and_types() -> None:
    data = load(ir.MNISTSample())
    assert isinstance(data, Dataset)
    assert data.x_train.shape == (8000, 1, 28, 28) and data.x_train.dtype == np.float32
    assert data.y_train.shape == (8000,) and data.y_train.dtype == np.int64
    assert data.x_test.shape == (2000, 1, 28, 28) and data.y_test.shape == (2000,)
    assert data.x_val.shape == (0, 1, 28, 28) and data.y_val.shape == (0,)
    assert (data.classes, data.task, data.sample_shape) == (10, "classification", (1, 28, 28))
    assert data.source == "mnist_sample (bundled)"
    # Raw pixel values until `scale`: real digits use the whole 0..255 range.
    assert data.x_train.min() == 0.0 and data.x_train.max() == 255.0


def test_label_distribution_is_about_a_tenth_per_digit() -> None:
    data = load(ir.MNISTSample())
    for labels, total in ((data.y_train, 8000), (data.y_test, 2000)):
        counts = np.bincount(labels, minlength=10)
        assert counts.sum() == total and len(counts) == 10
        assert counts.min() > 0.08 * total and counts.max() < 0.12 * total


def test_scale_and_fingerprint() -> None:
    scaled = load(ir.MNISTSample(transforms=[ir.Scale(factor=1 / 255)]))
    assert scaled.x_train.max() == 1.0 and scaled.x_train.dtype == np.float32
    again = load(ir.MNISTSample(transforms=[ir.Scale(factor=1 / 255)]))
    raw = load(ir.MNISTSample())
    assert len(scaled.fingerprint) == 64
    assert scaled.fingerprint == again.fingerprint != raw.fingerprint


def test_validation_is_the_last_rows_of_the_training_set_and_test_is_kept() -> None:
    full = load(ir.MNISTSample())
    split = load(ir.MNISTSample(validation=0.1, test=0.3))  # own test split: `test` unused
    assert split.sizes() == {"train": 7200, "val": 800, "test": 2000}
    np.testing.assert_array_equal(split.x_val, full.x_train[7200:])
    np.testing.assert_array_equal(split.y_train, full.y_train[:7200])
    np.testing.assert_array_equal(split.x_test, full.x_test)


def test_limit_keeps_the_first_examples_of_train_and_test() -> None:
    full = load(ir.MNISTSample())
    small = load(ir.MNISTSample(validation=0.25), limit=100)
    assert small.sizes() == {"train": 75, "val": 25, "test": 100}
    np.testing.assert_array_equal(small.x_train, full.x_train[:75])
    np.testing.assert_array_equal(small.y_val, full.y_train[75:100])
    np.testing.assert_array_equal(small.y_test, full.y_test[:100])


def test_the_data_layer_imports_no_framework() -> None:
    import subprocess
    import sys

    code = (
        "import sys; from specc.data import load; from specc.data.augment import augment_batch; "
        "from specc.ir import data as ir; load(ir.MNISTSample(), limit=10); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('torch', 'tensorflow', 'keras', 'mindspore')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
