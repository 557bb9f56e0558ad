"""`data text_folder` in emitted scripts: the files read, shuffled and tokenized as
specc.data.text_folder does, the vocabulary built from the training split left after the
held-out tails, so the script trains on the ids `specc run` trains on (and its vocabulary
is the run's vocab.json). Every target writes the same reader and tokenizer
(templates/common/text_folder.j2, tokens.j2); each target's first-epoch loss, vocab.json
and --init-from/--vocab: tests/emit/test_text_data_scripts.py.
"""

from __future__ import annotations

import json
import runpy
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze_file
from specc.data import load
from specc.emit import emit
from specc.plan import RunOptions
from specc.run import run
from tests.data.test_data_text_folder import SPEC, planted, write_folder
from tests.emit.conftest import history, lint, run_scripts


def _script(folder: Path, spec_text: str) -> tuple[Path, Path]:
    spec = folder / "reviews.nn"
    spec.write_text(spec_text)
    script = folder / "reviews_pytorch.py"
    text = emit(analyze_file(spec), "pytorch")
    assert lint(text) == []
    script.write_text(text, encoding="utf-8")
    return spec, script


@pytest.mark.parametrize(
    "tokenize", ["words vocab=20 length=12 lowercase", "chars vocab=12 length=30"]
)
def test_the_script_gives_specc_runs_ids(tmp_path: Path, tokenize: str) -> None:
    """Held-out validation and test tails (no test/ folder), a vocabulary smaller than the
    tokens (rarer ones become 1), long texts truncated at the start: every split equal."""
    write_folder(
        tmp_path / "reviews",
        {
            "train/pos": [f"Great w{i} w{i % 3} and More words here w{i}." for i in range(20)],
            "train/neg": [f"awful W{i} w{i % 5}, x y z" * (1 + i % 3) for i in range(20)],
        },
    )
    text = SPEC.replace("tokenize words vocab=40 length=12 lowercase", f"tokenize {tokenize}")
    text = text.replace("input 12 int", f"input {tokenize.split('length=')[1].split()[0]} int")
    text = text.replace("batch 16 shuffle", "batch 16 shuffle\n    validation 0.2\n    test 0.25")
    spec, script = _script(tmp_path, text)
    data = analyze_file(spec).spec.data
    expected = load(data, spec_dir=tmp_path, progress=False, vocab=40)  # type: ignore[arg-type]
    got, tokens = runpy.run_path(str(script), run_name="s")["load_data"](str(tmp_path / "reviews"))
    assert expected.vocabulary is not None and tokens == expected.vocabulary["tokens"]
    for split, (x, y) in {
        "train": (expected.x_train, expected.y_train),
        "val": (expected.x_val, expected.y_val),
        "test": (expected.x_test, expected.y_test),
    }.items():
        assert np.array_equal(got[split][0], x), split
        assert np.array_equal(got[split][1], y), split
    assert (expected.x_train == 1).any() and (expected.x_train[:, 0] != 0).any()  # OOV, cut


def test_the_script_learns_with_the_runs_vocabulary(tmp_path: Path) -> None:
    """The planted-signal folder (its own test/): the script learns it, and its vocabulary
    (built in the script) is the vocab.json `specc run` saves."""
    planted(tmp_path / "reviews", 60)
    spec, script = _script(tmp_path, SPEC)
    result = run(spec, RunOptions(backend="torch", out=str(tmp_path / "run"), quiet=True))
    saved = json.loads((result.run_dir / "vocab.json").read_text())["tokens"]
    module = runpy.run_path(str(script), run_name="s")
    x, _, _, _ = module["read_source"](str(tmp_path / "reviews"))
    assert module["build_vocabulary"](x) == saved
    missing = tmp_path / "missing"
    codes, output = run_scripts(
        [
            [str(script), "--out", str(tmp_path / "out")],
            [str(script), "--data-dir", str(missing), "--out", str(tmp_path / "none")],
        ],
        cwd=tmp_path,
    )
    assert codes == [0, 1], output[-3000:]
    assert history(tmp_path / "out")["test_accuracy"] >= 0.95
    assert f"error: {missing}: no train/ folder" in output
