"""Targets that would train silent nonsense are located errors (issue 17, items 13-14)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze
from specc.data import DataError, load
from specc.ir import data as ir


def write(tmp_path: Path, text: str, name: str = "t.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ---- item 14: an empty target value -----------------------------------------------------------


def test_an_empty_csv_target_names_file_line_and_column(tmp_path: Path) -> None:
    path = write(tmp_path, "a,b,c,target\n1,2,3,0\n1,2,3,\n2,2,2,2\n3,3,3,1\n")
    with pytest.raises(DataError) as err:
        load(ir.CSV(path=str(path)), spec_dir=tmp_path)
    assert err.value.message == f"{path}:3: the target column `target` (column 4) is empty"
    assert err.value.hint == "give every row a target, or delete the rows without one"


def test_an_empty_target_in_the_first_column_is_located_too(tmp_path: Path) -> None:
    path = write(tmp_path, "y,a\n1,0.5\n 0 ,0.25\n  ,1.0\n")
    with pytest.raises(DataError) as err:
        load(ir.CSV(path=str(path), target="y", task="binary"), spec_dir=tmp_path)
    assert err.value.message == f"{path}:4: the target column `y` (column 1) is empty"


# ---- labels past the model's outputs: file and line ---------------------------------------------


def test_a_label_past_the_outputs_names_file_and_line(tmp_path: Path) -> None:
    path = write(tmp_path, "a,target\n1,0\n2,5\n3,2\n4,5\n")
    with pytest.raises(DataError) as err:
        load(ir.CSV(path=str(path)), spec_dir=tmp_path, outputs=4)
    assert err.value.message == f"{path}:3: class 5, but the model has 4 outputs (classes 0..3)"
    assert err.value.hint == "make the last layer `dense 6` (one output per class)"


def test_a_word_label_past_the_outputs_names_the_word(tmp_path: Path) -> None:
    path = write(tmp_path, "a,target\n1,cat\n2,emu\n3,ant\n")
    with pytest.raises(DataError) as err:
        load(ir.CSV(path=str(path)), spec_dir=tmp_path, outputs=2)
    assert err.value.message == (
        f"{path}:3: label 'emu' (class 2 of the sorted labels), but the model has 2 outputs "
        "(classes 0..1)"
    )


def test_npz_test_labels_past_the_outputs_are_located(tmp_path: Path) -> None:
    path = tmp_path / "d.npz"
    x = np.zeros((4, 2), dtype=np.float32)
    np.savez(path, x=x, y=np.array([0, 1, 1, 0]), x_test=x, y_test=np.array([0, 1, 3, 0]))
    with pytest.raises(DataError) as err:
        load(ir.NPZ(path=str(path)), spec_dir=tmp_path, outputs=2)
    assert (
        err.value.message
        == f"{path} (test targets, row 2): class 3, but the model has 2 outputs (classes 0..1)"
    )


def test_labels_that_fit_load(tmp_path: Path) -> None:
    path = write(tmp_path, "a,target\n1,0\n2,3\n3,2\n")
    data = load(ir.CSV(path=str(path)), spec_dir=tmp_path, outputs=4)
    assert data.classes == 4


# ---- item 13: class-index losses on real or 0/1 targets, or on one output ----------------------

SPEC = """\
model m {{
    input 2
    dense {units}
}}
data csv "t.csv" task={task}
train {{
    loss {loss}
    epochs 1
}}
"""


@pytest.mark.parametrize(
    ("units", "task", "loss", "found"),
    [
        (1, "regression", "sparse_categorical_crossentropy", ["E407", "E406"]),
        (3, "regression", "sparse_categorical_crossentropy", ["E406"]),
        (2, "binary", "nll", ["E406"]),
        (1, "classification", "sparse_categorical_crossentropy", ["E407"]),
        (1, "classification", "nll", ["E407"]),
        (3, "classification", "sparse_categorical_crossentropy", []),
        (1, "regression", "mse", []),
        (1, "binary", "binary_crossentropy", []),
    ],
)
def test_class_losses_need_class_targets_and_outputs(
    units: int, task: str, loss: str, found: list[str]
) -> None:
    analysis = analyze(SPEC.format(units=units, task=task, loss=loss))
    assert [d.code for d in analysis.errors] == found


def test_the_regression_csv_of_the_issue_is_refused_with_its_reasons() -> None:
    errors = analyze(
        SPEC.format(units=1, task="regression", loss="sparse_categorical_crossentropy")
    ).errors
    assert [(d.code, d.span.line, d.message) for d in errors] == [
        (
            "E407",
            3,
            "`sparse_categorical_crossentropy` needs one output per class, but model `m` gives 1",
        ),
        (
            "E406",
            7,
            "`sparse_categorical_crossentropy` needs class numbers 0..C-1, but the data's target is real-valued",
        ),
    ]
