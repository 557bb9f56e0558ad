"""`data imdb` in emitted scripts: Keras's imdb.npz read as specc.data.imdb reads it
(load_data(num_words) then pad_sequences), found in --data-dir, the spec's `path` or Keras's
cache, never downloaded. Every target writes the same reader (templates/common/imdb.j2); the
first-epoch losses of each target's script: tests/emit/test_text_data_scripts.py.

Fixtures are written at test time in Keras's layout (tests/data/test_data_imdb.py): object
arrays of word-rank lists with a planted signal word.
"""

from __future__ import annotations

import runpy
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze_file
from specc.data import imdb
from specc.emit import emit
from tests.data.test_data_imdb import TRAIN, write_imdb
from tests.emit.conftest import history, lint, run_scripts


def _script(folder: Path, spec_text: str = TRAIN, target: str = "pytorch") -> Path:
    spec = folder / "reviews.nn"
    spec.write_text(spec_text)
    script = folder / f"reviews_{target}.py"
    text = emit(analyze_file(spec), target)
    assert lint(text) == []
    script.write_text(text, encoding="utf-8")
    return script


@pytest.mark.parametrize("target", ["pytorch", "keras", "tensorflow"])
def test_the_script_reads_the_ids_specc_reads(tmp_path: Path, target: str) -> None:
    """Shuffled by RandomState(113), start id 1, ranks + 3, rare words 2, pre-padded and
    pre-truncated to 16: the same four arrays as specc's reader (which equals Keras's)."""
    path = write_imdb(tmp_path / "data" / "imdb.npz", n_train=50, n_test=30)
    script = _script(tmp_path, TRAIN.replace("vocab=300", "vocab=40"), target)  # rare: id 2
    x, y, x_test, y_test = runpy.run_path(str(script), run_name="s")["read_source"](
        str(path.parent)
    )
    reference = imdb.read(path, 40, 16, "test")
    for got, want in zip(
        (x, y, x_test, y_test),
        (reference.x_train, reference.y_train, reference.x_test, reference.y_test),
        strict=True,
    ):
        assert got.dtype == np.int64 and np.array_equal(got, want)
    assert (x == 2).any() and (x[:, 0] == 0).any() and x.max() < 40


def test_encoded_integer_arrays_are_capped_and_repadded(tmp_path: Path) -> None:
    ids = np.array([[0, 1, 5, 45, 7], [1, 2, 3, 4, 39]])
    np.savez(tmp_path / "imdb.npz", x_train=ids, y_train=[0, 1], x_test=ids[:1], y_test=[1])
    script = _script(tmp_path, TRAIN.replace("vocab=300", "vocab=40"))
    x, _, x_test, _ = runpy.run_path(str(script), run_name="s")["read_source"](str(tmp_path))
    reference = imdb.read(tmp_path / "imdb.npz", 40, 16, "test")
    assert np.array_equal(x, reference.x_train) and np.array_equal(x_test, reference.x_test)
    assert x[0, -2] == 2 and x.shape == (2, 16)


def test_the_script_learns_the_planted_signal(tmp_path: Path) -> None:
    """The spec's `path="imdb.npz"`, relative to where the script runs; a missing file is one
    line naming where it looked (exit 1)."""
    write_imdb(tmp_path / "imdb.npz", n_train=512, n_test=256, signal=True)
    script = _script(tmp_path)
    empty = tmp_path / "empty"
    empty.mkdir()
    argv = [
        [str(script), "--out", str(tmp_path / "out")],
        [str(script), "--data-dir", str(empty), "--out", str(tmp_path / "none")],
    ]
    codes, output = run_scripts(argv, cwd=tmp_path)
    assert codes == [0, 1], output[-3000:]
    assert history(tmp_path / "out")["test_accuracy"] >= 0.95
    assert f"error: no imdb.npz at {empty / 'imdb.npz'}; pass its folder with --data-dir" in output
