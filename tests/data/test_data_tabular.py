"""CSV and .npz sources: correct arrays, and every mistake located in the file."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specc.data import DataError, load
from specc.ir import data as ir

HOUSES = "size,rooms,price\n50,2,1.5\n70,3,2.25\n\n90,4,3.0\n110,4,3.5\n"


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_csv_regression_relative_to_spec_dir(tmp_path: Path) -> None:
    write(tmp_path, HOUSES, "houses.csv")
    node = ir.CSV(path="houses.csv", target="price", task="regression", test=0.25)
    data = load(node, spec_dir=tmp_path)
    np.testing.assert_array_equal(data.x_train, [[50, 2], [70, 3], [90, 4]])
    np.testing.assert_array_equal(data.y_train, [[1.5], [2.25], [3.0]])
    np.testing.assert_array_equal(data.x_test, [[110, 4]])
    assert data.x_train.dtype == data.y_train.dtype == np.float32
    assert (data.task, data.classes, data.sample_shape) == ("regression", None, (2,))
    assert data.source == f"csv {tmp_path / 'houses.csv'}"


def test_csv_feature_selection_and_integer_classes(tmp_path: Path) -> None:
    write(tmp_path, "a,b,c,target\n1,2,3,0\n4,5,6,2\n7,8,9,1\n")
    data = load(ir.CSV(path=str(tmp_path / "t.csv"), features=["c", "a"]))
    np.testing.assert_array_equal(data.x_train, [[3, 1], [6, 4], [9, 7]])
    np.testing.assert_array_equal(data.y_train, [0, 2, 1])
    assert data.y_train.dtype == np.int64 and data.classes == 3 and data.class_names is None


def test_csv_string_labels_map_to_sorted_indices(tmp_path: Path) -> None:
    write(tmp_path, "x,kind\n1,dog\n2,cat\n3,emu\n4,cat\n")
    node = ir.CSV(path="t.csv", target="kind", transforms=[ir.OneHot()])
    data = load(node, spec_dir=tmp_path)
    assert data.class_names == ("cat", "dog", "emu") and data.classes == 3
    np.testing.assert_array_equal(data.y_train, np.eye(3, dtype=np.float32)[[1, 0, 2, 0]])


def test_csv_binary_targets(tmp_path: Path) -> None:
    write(tmp_path, "x,target\n1,0\n2,1\n3,1.0\n")
    data = load(ir.CSV(path="t.csv", task="binary"), spec_dir=tmp_path)
    np.testing.assert_array_equal(data.y_train, [[0.0], [1.0], [1.0]])
    assert data.y_train.dtype == np.float32 and data.classes == 2


CSV_ERRORS = {
    "empty": ("", {}, r"t.csv: empty file; expected a header row"),
    "header only": ("a,target\n", {}, r"t.csv: a header but no data rows"),
    "missing target": (
        "a,b\n1,2\n",
        {},
        r"t.csv: no target column `target`; the columns are: a, b",
    ),
    "missing feature": (
        "a,target\n1,2\n",
        {"features": ["a", "z"]},
        r"no feature column `z`; the columns are: a, target",
    ),
    "ragged": ("a,b,target\n1,2,0\n3,4\n", {}, r"t.csv:3: 2 values but the header has 3 columns"),
    "non numeric": (
        "a,b,target\n1,2,0\n3,x4,1\n",
        {},
        r"t.csv:3: column `b` has 'x4', not a number",
    ),
    "empty value": (
        "a,b,target\n1,,0\n",
        {},
        r"t.csv:2: column `b` has an empty value, not a number",
    ),
    "not finite": ("a,target\nnan,0\n", {}, r"t.csv:2: column `a` has nan, not a finite number"),
    "duplicate": ("a,a,target\n1,2,0\n", {}, r"t.csv: column names appear twice: a"),
    "target as feature": (
        "a,target\n1,0\n",
        {"features": ["a", "target"]},
        r"`target` is the target; it cannot also be a feature",
    ),
    "fractional label": (
        "a,target\n1,0\n2,1.5\n",
        {},
        r"t.csv:3: class label 1.5 is not an integer 0, 1, 2",
    ),
    "negative label": ("a,target\n1,-1\n", {}, r"t.csv:2: class label -1 is not an integer"),
    "binary not 0/1": (
        "a,target\n1,0\n\n2,2\n",
        {"task": "binary"},
        r"t.csv:4: binary target 2 is not 0 or 1",
    ),
    "regression word": (
        "a,target\n1,0.5\n2,high\n",
        {"task": "regression"},
        r"t.csv:3: target 'high' is not a number",
    ),
    "not utf8": ("a,target\n\udcff,0\n", {}, r"t.csv: not UTF-8 text"),
}


@pytest.mark.parametrize("case", sorted(CSV_ERRORS))
def test_csv_errors(tmp_path: Path, case: str) -> None:
    text, options, message = CSV_ERRORS[case]
    (tmp_path / "t.csv").write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(DataError, match=message):
        load(ir.CSV(path="t.csv", **options), spec_dir=tmp_path)


def test_csv_missing_file(tmp_path: Path) -> None:
    with pytest.raises(DataError, match=r"absent.csv: cannot read \(No such file or directory\)"):
        load(ir.CSV(path="absent.csv"), spec_dir=tmp_path)


def test_npz_with_named_arrays_and_own_test_split(tmp_path: Path) -> None:
    x = np.arange(20, dtype=np.float64).reshape(10, 2)
    np.savez(
        tmp_path / "a.npz",
        inputs=x,
        labels=np.arange(10) % 3,
        inputs_test=x[:4],
        labels_test=np.array([2, 1, 0, 1]),
    )
    data = load(ir.NPZ(path="a.npz", x="inputs", y="labels", validation=0.2), spec_dir=tmp_path)
    np.testing.assert_array_equal(data.x_train, x[:8])
    np.testing.assert_array_equal(data.y_val, [2, 0])
    np.testing.assert_array_equal(data.y_test, [2, 1, 0, 1])
    assert data.x_train.dtype == np.float32 and data.classes == 3


def test_npz_regression_targets_are_2d(tmp_path: Path) -> None:
    np.savez(tmp_path / "r.npz", x=np.ones((5, 3)), y=np.linspace(0, 1, 5))
    data = load(ir.NPZ(path="r.npz", task="regression"), spec_dir=tmp_path)
    assert data.y_train.shape == (5, 1) and data.y_train.dtype == np.float32


NPZ_ERRORS = {
    "missing array": (
        {"x": np.ones((3, 2)), "labels": np.zeros(3)},
        r"a.npz: no array `y`; the archive holds: x, labels",
    ),
    "mismatched lengths": (
        {"x": np.ones((3, 2)), "y": np.zeros(4)},
        r"a.npz: `x` has 3 rows but `y` has 4",
    ),
    "object array": (
        {"x": np.array([{}, {}], dtype=object), "y": np.zeros(2)},
        r"a.npz: holds pickled objects, which specc does not load",
    ),
    "strings": (
        {"x": np.array(["a", "b"]), "y": np.zeros(2)},
        r"a.npz: `x` must be a numeric array",
    ),
    "nan": (
        {"x": np.array([[np.nan], [1.0]]), "y": np.zeros(2)},
        r"a.npz: `x` contains NaN or infinite values",
    ),
    "one-hot targets": (
        {"x": np.ones((2, 1)), "y": np.eye(2)},
        r"class targets must be one label per example, got shape \(2, 2\)",
    ),
}


@pytest.mark.parametrize("case", sorted(NPZ_ERRORS))
def test_npz_errors(tmp_path: Path, case: str) -> None:
    arrays, message = NPZ_ERRORS[case]
    np.savez(tmp_path / "a.npz", **arrays)
    with pytest.raises(DataError, match=message):
        load(ir.NPZ(path="a.npz"), spec_dir=tmp_path)


@pytest.mark.parametrize("content", [b"", b"PK\x03\x04garbage", b"not a zip at all"])
def test_npz_corrupt_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "a.npz").write_bytes(content)
    with pytest.raises(DataError, match=r"a.npz: not a readable .npz archive"):
        load(ir.NPZ(path="a.npz"), spec_dir=tmp_path)
