"""The scripts of language models: specs/char_lm.nn (the generated corpus) and a `data
corpus` file (words, lower-cased) read from --data-dir. Every target's script makes the same
windows, splits and ids as `specc run`; in the PyTorch script `nn.Linear` applies per step
and the metrics score every token. char_lm's executed runs are in each target's tests (test
perplexity far below the uniform guess; MindSpore: the validation perplexity falls), its
losses against `specc run` in test_language_model_losses.py."""

from __future__ import annotations

import runpy
import subprocess
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import Analysis, analyze_file
from specc.data import load
from tests.emit.conftest import GOLDEN, ROOT
from tests.emit.mindspore_env import mindspore_python

SPEC = ROOT / "specs" / "char_lm.nn"
TARGETS = ["pytorch", "keras", "tensorflow", "mindspore"]


@pytest.fixture(scope="module")
def script() -> dict:
    return runpy.run_path(str(GOLDEN / "pytorch" / "char_lm.py"), run_name="char_lm")


def _load_data(script: Path, target: str, data_dir: Path | None) -> dict:
    """The script's `load_data(data_dir)`, run in the target's Python (MindSpore's own venv:
    tests/emit/mindspore_env.py), as {split: (x, y)}."""
    if target != "mindspore":
        return runpy.run_path(str(script), run_name="lm")["load_data"](data_dir and str(data_dir))[
            0
        ]
    out = script.with_suffix(".npz")
    code = (
        "import runpy, sys, numpy as np\n"
        "data = runpy.run_path(sys.argv[1], run_name='lm')['load_data'](sys.argv[2] or None)[0]\n"
        "np.savez(sys.argv[3], **{f'{k}_{i}': a for k, v in data.items() for i, a in enumerate(v)})"
    )
    argv = [str(mindspore_python()), "-c", code, str(script), str(data_dir or ""), str(out)]
    subprocess.run(argv, check=True, capture_output=True, timeout=300)
    arrays = np.load(out)
    return {k: (arrays[f"{k}_0"], arrays[f"{k}_1"]) for k in ("train", "val", "test")}


@pytest.mark.parametrize("target", TARGETS)
def test_the_script_reads_the_same_ids_as_specc_run(target: str) -> None:
    """specs/char_lm.nn's golden generates specc's corpus bit for bit, and its windows,
    splits and ids (the same template for every target, run in each one's script)."""
    analysis = analyze_file(SPEC)
    assert analysis.spec.data is not None
    ours = load(analysis.spec.data, vocab=64)
    theirs = _load_data(GOLDEN / target / "char_lm.py", target, None)
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


WORD_LM = (
    "model wlm {\n    input 8 int\n    embedding 16 8\n    gru 8 sequences=true\n"
    "    dense 16\n}\n"
    'data corpus "tiny.txt" {\n    tokenize words vocab=16 length=8 lowercase\n'
    "    validation 0.1\n    test 0.1\n}\n"
    "train {\n    loss sparse_categorical_crossentropy\n    epochs 1\n"
    "    metrics perplexity\n}\n"
)


def _word_corpus(folder: Path, target: str) -> tuple[Analysis, Path]:
    """tiny.txt (words, one only in the text's last part) and the WORD_LM spec's script."""
    from specc.analysis import analyze
    from specc.emit import emit

    text = " ".join(["The", "cat", "sat,", "ON", "the", "mat."] * 40 + ["zebra"] * 30)
    (folder / "tiny.txt").write_text(text, encoding="utf-8")
    analysis = analyze(WORD_LM, str(folder / "wlm.nn"))
    assert analysis.ok, [d.message for d in analysis.errors]
    script = folder / f"wlm_{target}.py"
    script.write_text(emit(analysis, target), encoding="utf-8")
    return analysis, script


@pytest.mark.parametrize("target", ["pytorch", "keras"])
def test_a_corpus_script_writes_specc_runs_vocab_json_and_reads_one_back(
    tmp_path: Path, target: str
) -> None:
    """The script saves the training windows' vocabulary as vocab.json under --out, byte for
    byte what `specc run` writes into its run folder; --vocab FILE encodes with a given one
    (here: the run's, with two tokens swapped, which moves their ids) and a file made for
    other `tokenize` settings is one line, no traceback."""
    import json
    import sys

    analysis, script = _word_corpus(tmp_path, target)
    assert analysis.spec.data is not None
    ours = load(analysis.spec.data, spec_dir=tmp_path, vocab=16)
    expected = json.dumps(ours.vocabulary, indent=2) + "\n"

    def run(*extra: str) -> subprocess.CompletedProcess[str]:
        argv = [sys.executable, str(script), "--data-dir", str(tmp_path), *extra]
        return subprocess.run(argv, capture_output=True, text=True, timeout=300)

    done = run("--out", str(tmp_path / "a"), "--epochs", "1")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "a" / "vocab.json").read_text(encoding="utf-8") == expected

    swapped = dict(ours.vocabulary)
    tokens = list(swapped["tokens"])
    tokens[2], tokens[3] = tokens[3], tokens[2]
    swapped["tokens"] = tokens
    given = tmp_path / "given.json"
    given.write_text(json.dumps(swapped), encoding="utf-8")
    module = runpy.run_path(str(script), run_name="lm")
    data, used = module["load_data"](str(tmp_path), None, tokens)
    assert used == tokens
    index = {token: i for i, token in enumerate(ours.vocabulary["tokens"])}
    moved = {index[tokens[2]]: 2, index[tokens[3]]: 3}
    remapped = np.vectorize(lambda i: moved.get(int(i), int(i)))(ours.x_train)
    np.testing.assert_array_equal(data["train"][0], remapped)

    done = run("--out", str(tmp_path / "b"), "--epochs", "1", "--vocab", str(given))
    assert done.returncode == 0, done.stderr
    assert f"token ids from {given}" in done.stdout
    assert json.loads((tmp_path / "b" / "vocab.json").read_text())["tokens"] == tokens

    swapped["mode"] = "chars"
    given.write_text(json.dumps(swapped), encoding="utf-8")
    done = run("--out", str(tmp_path / "c"), "--vocab", str(given))
    assert done.returncode == 1
    assert "built for other `tokenize` settings (chars" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize("target", TARGETS)
def test_a_corpus_files_script_reads_the_same_word_ids(tmp_path: Path, target: str) -> None:
    """`data corpus` with `tokenize words ... lowercase`: the script reads the file from
    --data-dir and makes specc's windows, splits and ids."""
    analysis, script = _word_corpus(tmp_path, target)
    theirs = _load_data(script, target, tmp_path)
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
