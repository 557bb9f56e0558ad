"""The PyTorch scripts of language models: specs/char_lm.nn (the generated corpus) and a
`data corpus` file (words, lower-cased) read from --data-dir. Both make the same windows,
splits and ids as `specc run`; `nn.Linear` applies per step; metrics score every token.
char_lm's executed run is in test_pytorch.py (test perplexity far below the uniform guess)."""

from __future__ import annotations

import runpy

import numpy as np
import pytest

from specc.analysis import analyze_file
from specc.data import load
from tests.emit.conftest import GOLDEN, ROOT

SPEC = ROOT / "specs" / "char_lm.nn"


@pytest.fixture(scope="module")
def script() -> dict:
    return runpy.run_path(str(GOLDEN / "pytorch" / "char_lm.py"), run_name="char_lm")


def test_the_script_reads_the_same_ids_as_specc_run(script: dict) -> None:
    analysis = analyze_file(SPEC)
    assert analysis.spec.data is not None
    ours = load(analysis.spec.data, vocab=64)
    theirs = script["load_data"](None)
    for name, (x, y) in (
        ("train", (ours.x_train, ours.y_train)),
        ("val", (ours.x_val, ours.y_val)),
        ("test", (ours.x_test, ours.y_test)),
    ):
        np.testing.assert_array_equal(theirs[name][0], x)
        np.testing.assert_array_equal(theirs[name][1], y)
    assert len(ours.x_train) > 800 and ours.x_train.shape[1:] == (64,)


def test_the_model_predicts_every_step_with_the_summarys_parameters(script: dict) -> None:
    import torch

    summary = analyze_file(SPEC).shapes["char_lm"].params
    model = script["CharLm"]()
    assert sum(p.numel() for p in model.parameters()) == summary
    out = model(torch.zeros((2, 64), dtype=torch.int64))
    assert tuple(out.shape) == (2, 64, 64)


def test_the_metrics_score_every_token(script: dict) -> None:
    logits = np.log(np.full((2, 3, 4), 0.25))  # a uniform guess over 4 classes, as logits
    targets = np.array([[0, 1, 2], [3, 0, 1]])
    scores = script["compute_metrics"](logits, targets)
    assert scores["perplexity"] == pytest.approx(4.0)
    assert scores["accuracy"] == pytest.approx(2 / 6)  # argmax is class 0: 2 of 6 tokens


def test_a_corpus_files_script_reads_the_same_word_ids(tmp_path) -> None:
    """`data corpus` with `tokenize words ... lowercase`: the script reads the file from
    --data-dir and makes specc's windows, splits and ids."""
    from specc.analysis import analyze
    from specc.emit import emit

    text = " ".join(["The", "cat", "sat,", "ON", "the", "mat."] * 40 + ["zebra"] * 30)
    (tmp_path / "tiny.txt").write_text(text, encoding="utf-8")
    spec = (
        "model wlm {\n    input 8 int\n    embedding 16 8\n    gru 8 sequences=true\n"
        "    dense 16\n}\n"
        'data corpus "tiny.txt" {\n    tokenize words vocab=16 length=8 lowercase\n'
        "    validation 0.1\n    test 0.1\n}\n"
        "train {\n    loss sparse_categorical_crossentropy\n    epochs 1\n"
        "    metrics perplexity\n}\n"
    )
    analysis = analyze(spec, str(tmp_path / "wlm.nn"))
    assert analysis.ok, [d.message for d in analysis.errors]
    script = tmp_path / "wlm_pytorch.py"
    script.write_text(emit(analysis, "pytorch"), encoding="utf-8")
    module = runpy.run_path(str(script), run_name="wlm")
    theirs = module["load_data"](str(tmp_path))
    assert analysis.spec.data is not None
    ours = load(analysis.spec.data, spec_dir=tmp_path, vocab=16)
    for name, x, y in (
        ("train", ours.x_train, ours.y_train),
        ("val", ours.x_val, ours.y_val),
        ("test", ours.x_test, ours.y_test),
    ):
        np.testing.assert_array_equal(theirs[name][0], x)
        np.testing.assert_array_equal(theirs[name][1], y)
    assert (ours.x_test == 1).any()  # zebra, only in the text's last part: out-of-vocabulary
    tokens = ours.vocabulary["tokens"]
    assert tokens[2] == "the" and sorted(tokens[3:]) == ["cat", "mat", "on", "sat"]


def test_per_step_targets_from_an_npz_train_in_the_script(tmp_path) -> None:
    """An .npz whose `y` is (N, L) class ids (a copy task) for a model predicting every step:
    the script keeps the targets per step and learns them."""
    import json
    import subprocess
    import sys

    from specc.analysis import analyze
    from specc.emit import emit

    rng = np.random.default_rng(0)
    x = rng.integers(2, 12, size=(320, 10)).astype(np.int64)
    np.savez(tmp_path / "copy.npz", x=x, y=x)
    spec = (
        "model copy {\n    input 10 int\n    embedding 12 8\n    gru 16 sequences=true\n"
        "    dense 12\n}\n"
        'data npz "copy.npz" {\n    batch 32 shuffle\n    test 0.25\n}\n'
        "train {\n    loss sparse_categorical_crossentropy\n    optimizer adam lr=0.02\n"
        "    epochs 3\n    metrics perplexity accuracy\n}\n"
    )
    analysis = analyze(spec, str(tmp_path / "copy.nn"))
    assert analysis.ok, [d.message for d in analysis.errors]
    script = tmp_path / "copy_pytorch.py"
    script.write_text(emit(analysis, "pytorch"), encoding="utf-8")
    module = runpy.run_path(str(script), run_name="copy_task")
    data = module["load_data"](str(tmp_path))
    np.testing.assert_array_equal(data["train"][1], x[:240])  # (N, 10): one id per step
    done = subprocess.run(
        [sys.executable, str(script), "--data-dir", str(tmp_path), "--out", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    history = json.loads((tmp_path / "o" / "history.json").read_text())
    assert history["test_accuracy"] > 0.7, history  # chance: 1 in 10
    assert history["test_perplexity"] < 5.0, history  # uniform over the 10 ids: 10
