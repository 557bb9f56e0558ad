"""Every target's script of a language model computes `specc run`'s numbers
(docs/semantics.md#per-token): from one weights file (`init from`), unshuffled batches,
the first epoch's loss (a mean of per-token batch means), and the validation and test
perplexity and accuracy, of specs/char_lm.nn on its generated corpus and of a model whose
targets are padded with an ignored id (`ignore=0`), one batch of them ignored entirely (it
counts 0, not NaN). MindSpore's scripts run in their own venv (tests/emit/mindspore_env.py).
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze, analyze_file
from specc.emit import emit, emit_plan
from specc.plan import RunOptions
from specc.run import run
from tests.emit.conftest import ROOT, history, lint, run_scripts
from tests.emit.mindspore_env import mindspore_python

TARGETS = ["pytorch", "keras", "tensorflow", "mindspore"]

# specs/char_lm.nn from a weights file, on 300 sentences (about 150 windows of 64
# characters): one batch, so epoch 1's loss is that of the weights file, and the
# validation and test metrics follow one Adam step.
CHAR_LM = (
    (ROOT / "specs" / "char_lm.nn")
    .read_text(encoding="utf-8")
    .replace("model char_lm {", 'model char_lm {\n    init from "init.safetensors"')
    .replace("sentences=2000", "sentences=300")
    .replace("batch 32 shuffle", "batch 256")
)

# A copy task whose targets are post-padded with the ignored id 0: rows 16 to 31 (the
# second batch) are padding only.
IGNORED = """model copy {
    init from "init.safetensors"
    input 10 int
    embedding 12 8
    gru 16 sequences=true
    dense 12
}
data npz "copy.npz" {
    batch 16
    test 0.2
}
train {
    loss sparse_categorical_crossentropy ignore=0
    optimizer adam lr=0.01
    epochs 1
    metrics perplexity accuracy f1
}
"""


# One class per example with `ignore=0`: class-0 examples count in neither the loss nor
# the metrics (Keras: sample weights of shape (N,)); the test split is one batch.
FLAT = """model flat {
    init from "init.safetensors"
    input 8
    dense 16 relu
    dense 4
}
data synthetic classification samples=200 features=8 classes=4 {
    batch 40
    test 0.2
}
train {
    loss sparse_categorical_crossentropy ignore=0
    optimizer adam lr=0.01
    epochs 1
    metrics accuracy perplexity
}
"""


def _copy_task(path: Path) -> np.ndarray:
    """80 rows of ids 2..11 with 3 to 10 real steps then 0s; the targets copy the ids."""
    rng = np.random.default_rng(0)
    x = rng.integers(2, 12, size=(80, 10)).astype(np.int64)
    lengths = rng.integers(3, 11, size=80)
    x[np.arange(10)[None, :] >= lengths[:, None]] = 0
    x[16:32] = 0  # a batch of ignored targets only
    np.savez(path, x=x, y=x)
    return x


def _initial_weights(text: str, path: Path) -> None:
    """Random arrays by the spec's names in PyTorch's layout."""
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    arrays = {}
    for layer in emit_plan(analyze(text, "t.nn"), "pytorch").weighted:
        for w in layer.weights:
            arrays[f"{layer.weights_name}.{w.name}"] = rng.normal(0, 0.2, w.shape).astype(
                np.float32
            )
    save_file(arrays, str(path))


def _script_against_specc_run(folder: Path, text: str, target: str) -> dict[str, object]:
    """Run the spec with `specc run` (torch) and the target's script for one epoch; assert
    the same loss, validation and test metrics; return the script's history."""
    spec = folder / "t.nn"
    spec.write_text(text, encoding="utf-8")
    _initial_weights(text, folder / "init.safetensors")
    options = RunOptions(backend="torch", out=str(folder / "run"), quiet=True, epochs=1)
    result = run(spec, options)
    expected = {**result.history[0], **result.metrics}
    script_text = emit(analyze_file(spec), target)
    assert lint(script_text) == []
    script = folder / "t.py"
    script.write_text(script_text, encoding="utf-8")
    argv = [str(script), "--data-dir", str(folder), "--epochs", "1", "--out", str(folder / "s")]
    python = mindspore_python() if target == "mindspore" else sys.executable
    codes, output = run_scripts([argv], env={"GLOG_v": "3"}, cwd=folder, python=python)
    assert codes == [0], output[-3000:]
    found = history(folder / "s")
    got = found["loss"][0]  # type: ignore[index]
    assert math.isclose(got, expected["loss"], rel_tol=1e-5), (got, expected["loss"])
    for key in (k for k in expected if k.startswith(("val_", "test_"))):
        value = found[key][0] if key.startswith("val_") else found[key]  # type: ignore[index]
        # after one Adam step, a near-tie between two classes may flip one token's argmax
        # (measured on MindSpore: 1 of 960 validation tokens): accuracy within 2 tokens
        tolerance = {"abs_tol": 2e-3} if key.endswith("accuracy") else {"rel_tol": 1e-4}
        assert math.isclose(value, expected[key], **tolerance), (key, value, expected[key])  # type: ignore[arg-type]
    return found


@pytest.mark.parametrize("target", TARGETS)
def test_char_lm_scripts_compute_specc_runs_loss_and_perplexity(
    tmp_path: Path, target: str
) -> None:
    found = _script_against_specc_run(tmp_path, CHAR_LM, target)
    for key in ("val_perplexity", "test_perplexity", "test_accuracy", "test_loss"):
        assert key in found, sorted(found)
    assert 1.0 < found["test_perplexity"] < 64.0  # type: ignore[operator]


@pytest.mark.parametrize("target", TARGETS)
def test_ignored_targets_count_nowhere_and_a_batch_of_them_counts_0(
    tmp_path: Path, target: str
) -> None:
    """4 batches of 16 in epoch 1, the second all ignored (loss 0, not NaN); the test
    split is one batch, so its loss is the mean over its kept tokens in both."""
    _copy_task(tmp_path / "copy.npz")
    found = _script_against_specc_run(tmp_path, IGNORED, target)
    assert math.isfinite(found["loss"][0])  # type: ignore[index]
    for key in ("test_loss", "test_perplexity", "test_accuracy"):
        assert key in found, sorted(found)


@pytest.mark.parametrize("target", TARGETS)
def test_an_ignored_class_of_one_class_per_example(tmp_path: Path, target: str) -> None:
    found = _script_against_specc_run(tmp_path, FLAT, target)
    assert {"test_loss", "test_perplexity", "test_accuracy"} <= set(found), sorted(found)


def test_the_metrics_leave_ignored_targets_out(tmp_path: Path) -> None:
    """The pytorch script divides the kept targets' summed losses by their count (at least
    1), and its metrics leave ignored targets out (none kept: no metrics, as specc's)."""
    import runpy

    import torch

    _copy_task(tmp_path / "copy.npz")
    script = tmp_path / "copy.py"
    script.write_text(emit(analyze(IGNORED, str(tmp_path / "copy.nn")), "pytorch"))
    module = runpy.run_path(str(script), run_name="copy_task")
    assert module["IGNORE"] == 0
    logits = torch.zeros((2, 10, 12))  # uniform over 12 ids
    targets = torch.zeros((2, 10), dtype=torch.int64)
    text = script.read_text()
    assert 'unreduced = nn.CrossEntropyLoss(ignore_index=IGNORE, reduction="none")' in text
    assert "return unreduced(logits, yb).sum() / (yb != IGNORE).sum().clamp(min=1)" in text
    targets[0, :4] = torch.tensor([3, 4, 5, 6])
    scores = module["compute_metrics"](logits.numpy(), targets.numpy())
    assert scores["perplexity"] == pytest.approx(12.0)  # over the 4 kept tokens only
    assert scores["accuracy"] == 0.0  # argmax is id 0, never a kept target
    assert module["compute_metrics"](logits.numpy(), np.zeros((2, 10), np.int64)) == {}


def test_what_no_script_writes_yet_is_refused_with_the_reason() -> None:
    """`ignore=` in one of several outputs' losses (every target), and with label smoothing
    for keras and tensorflow (Keras's ignore_class has none): E600 at the `ignore`."""
    from specc.lowering.capabilities import unsupported

    two = (ROOT / "specs" / "two_outputs.nn").read_text(encoding="utf-8")
    two = two.replace(
        "        loss sparse_categorical_crossentropy\n",
        "        loss sparse_categorical_crossentropy ignore=5\n",
    )
    smoothed = IGNORED.replace("ignore=0", "ignore=0 label_smoothing=0.1")
    for target in TARGETS:
        found = unsupported(analyze(two, "two.nn"), target)
        assert [d.message for d in found] == [
            f"the `{target}` target cannot express an ignored target id in a loss of one of "
            "several outputs"
        ]
        assert found[0].help == "an output's `ignore=` is not written yet; use `specc run`"
        assert found[0].span is not None and two[found[0].span.start :].startswith("ignore=5")
        refused = [d.help for d in unsupported(analyze(smoothed, "s.nn"), target)]
        if target in ("keras", "tensorflow"):
            assert refused == ["Keras's ignore_class has no label smoothing; use `specc run`"]
        else:
            assert refused == []
