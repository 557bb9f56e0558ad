"""Data for a model with several inputs (docs/data.md#several-inputs): an .npz with an
array per input name, a CSV with a column group per input, transforms naming their input,
and limits and splits cutting every input's rows alike."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze
from specc.data import DataError, load
from specc.data.dataset import Inputs, fingerprint

MODEL = """model two {
    input image 1x2x2
    input meta 3
    branch img from=image { flatten; dense 4 }
    concat img meta
    dense 2
}
"""
TRAIN = "train { loss sparse_categorical_crossentropy }\n"


def _data(block: str, train: str = TRAIN) -> object:
    analysis = analyze(MODEL + block + train, "<test>")
    assert analysis.ok, [d.message for d in analysis.errors]
    return analysis.spec.data


def _npz(path: Path, n: int = 10, test: int = 0, **extra: np.ndarray) -> Path:
    arrays = {
        "image": np.arange(n * 4, dtype=np.float32).reshape(n, 1, 2, 2),
        "meta": np.arange(n * 3, dtype=np.float32).reshape(n, 3) + 1000,
        "y": np.arange(n) % 2,
    }
    if test:
        arrays |= {
            "image_test": np.ones((test, 1, 2, 2), np.float32),
            "meta_test": np.zeros((test, 3), np.float32),
            "y_test": np.zeros(test, np.int64),
        }
    np.savez(path, **(arrays | extra))
    return path


def test_npz_arrays_are_read_by_input_name_and_cut_alike(tmp_path: Path) -> None:
    _npz(tmp_path / "d.npz")
    data = _data('data npz "d.npz" { validation 0.2; test 0.2 }\n')
    got = load(data, spec_dir=tmp_path, inputs=["image", "meta"])  # type: ignore[arg-type]
    assert isinstance(got.x_train, Inputs) and list(got.x_train.arrays) == ["image", "meta"]
    assert got.sizes() == {"train": 6, "val": 2, "test": 2}
    # rows 0..5 train, 6..7 validation, 8..9 test, in both inputs
    np.testing.assert_array_equal(got.x_train.arrays["meta"][:, 0], 1000 + 3 * np.arange(6))
    np.testing.assert_array_equal(got.x_val.arrays["image"][:, 0, 0, 0], [24, 28])  # type: ignore[union-attr]
    np.testing.assert_array_equal(got.x_test.arrays["meta"][:, 0], [1024, 1027])  # type: ignore[union-attr]
    np.testing.assert_array_equal(got.y_test, [0, 1])
    assert got.x_train.shapes == {"image": (1, 2, 2), "meta": (3,)}
    assert got.fingerprint == fingerprint(
        [
            got.x_train.arrays["image"],
            got.x_train.arrays["meta"],
            got.y_train,
            got.x_val.arrays["image"],  # type: ignore[union-attr]
            got.x_val.arrays["meta"],  # type: ignore[union-attr]
            got.y_val,
            got.x_test.arrays["image"],  # type: ignore[union-attr]
            got.x_test.arrays["meta"],  # type: ignore[union-attr]
            got.y_test,
        ]
    )


def test_npz_own_test_split_and_limit(tmp_path: Path) -> None:
    _npz(tmp_path / "d.npz", test=4)
    data = _data('data npz "d.npz" { test 0.5 }\n')
    got = load(data, spec_dir=tmp_path, limit=3, inputs=["image", "meta"])  # type: ignore[arg-type]
    assert got.sizes() == {"train": 3, "val": 0, "test": 3}  # its own test split: `test` ignored
    np.testing.assert_array_equal(got.x_test.arrays["image"], np.ones((3, 1, 2, 2)))  # type: ignore[union-attr]


def test_transforms_apply_to_the_input_they_name(tmp_path: Path) -> None:
    _npz(tmp_path / "d.npz")
    data = _data(
        'data npz "d.npz" {\n scale 1/2 input=image\n normalize 1000 10 input=meta\n one_hot\n}\n',
        "train { loss categorical_crossentropy }\n",
    )
    got = load(data, spec_dir=tmp_path, inputs=["image", "meta"])  # type: ignore[arg-type]
    x = got.x_train
    assert isinstance(x, Inputs)
    np.testing.assert_allclose(x.arrays["image"].reshape(-1), np.arange(40) / 2)
    np.testing.assert_allclose(x.arrays["meta"][1], [0.3, 0.4, 0.5], rtol=1e-6)
    assert got.y_train.shape == (10, 2) and got.y_train[1].tolist() == [0.0, 1.0]


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"meta": None}, "no array `meta` for the model input `meta`; the archive holds: image, y"),
        ({"meta": np.zeros((7, 3), np.float32)}, "`meta` has 7 rows but `y` has 10"),
        ({"meta_test": np.zeros((2, 3), np.float32)}, "has meta_test but not image_test, y_test"),
    ],
)
def test_npz_mistakes_name_the_input(tmp_path: Path, arrays: dict, message: str) -> None:
    path = _npz(tmp_path / "d.npz")
    held = dict(np.load(path))
    for name, value in arrays.items():
        if value is None:
            del held[name]
        else:
            held[name] = value
    np.savez(path, **held)
    data = _data('data npz "d.npz"\n')
    with pytest.raises(DataError) as err:
        load(data, spec_dir=tmp_path, inputs=["image", "meta"])  # type: ignore[arg-type]
    assert message in str(err.value)


def test_csv_column_groups_feed_the_inputs_in_their_order(tmp_path: Path) -> None:
    rows = ["label,a,p3,b,p0,p1,c,p2", "1,10,3,20,0,1,30,2", "0,11,7,21,4,5,31,6"]
    (tmp_path / "t.csv").write_text("\n".join(rows) + "\n")
    data = _data(
        'data csv "t.csv" target=label {\n columns meta [a, b, c]\n'
        " columns image [p0, p1, p2, p3]\n scale 1/2 input=meta\n}\n"
    )
    got = load(data, spec_dir=tmp_path, inputs=["image", "meta"])  # type: ignore[arg-type]
    x = got.x_train
    assert isinstance(x, Inputs) and list(x.arrays) == ["image", "meta"]
    np.testing.assert_array_equal(x.arrays["image"], [[0, 1, 2, 3], [4, 5, 6, 7]])
    np.testing.assert_array_equal(x.arrays["meta"], [[5, 10, 15], [5.5, 10.5, 15.5]])
    np.testing.assert_array_equal(got.y_train, [1, 0])


def test_csv_missing_column_is_named(tmp_path: Path) -> None:
    (tmp_path / "t.csv").write_text("label,a,b,c,p0\n1,1,2,3,4\n")
    data = _data(
        'data csv "t.csv" target=label {\n columns meta [a, b, c]\n columns image [p0, p9]\n}\n'
    )
    with pytest.raises(DataError) as err:
        load(data, spec_dir=tmp_path, inputs=["image", "meta"])  # type: ignore[arg-type]
    assert "no feature column `p9`; the columns are: label, a, b, c, p0" in str(err.value)


def test_one_input_keeps_its_plain_array(tmp_path: Path) -> None:
    """A model with one input is loaded exactly as before: a plain array, whatever `inputs`."""
    path = tmp_path / "one.npz"
    np.savez(path, x=np.arange(12, dtype=np.float32).reshape(4, 3), y=np.arange(4) % 2)
    analysis = analyze('model m { input 3; dense 2 }\ndata npz "one.npz"\n' + TRAIN, "<t>")
    plain = load(analysis.spec.data, spec_dir=tmp_path)  # type: ignore[arg-type]
    named = load(analysis.spec.data, spec_dir=tmp_path, inputs=["input"])  # type: ignore[arg-type]
    assert isinstance(named.x_train, np.ndarray) and named.fingerprint == plain.fingerprint


def test_a_normalize_that_does_not_fit_names_its_input(tmp_path: Path) -> None:
    _npz(tmp_path / "d.npz")
    data = _data('data npz "d.npz" { normalize [0, 0] [1, 1] input=meta }\n')
    with pytest.raises(DataError) as err:
        load(data, spec_dir=tmp_path, inputs=["image", "meta"])  # type: ignore[arg-type]
    assert str(err.value).startswith(
        "input `meta`: `normalize` has 2 mean values but the data has 3 features"
    )
