"""Emitted scripts of a model with several named outputs (docs/semantics.md#outputs): the
model returns its outputs by name, the loss is the weighted sum of each output's loss, the
targets travel as one NumPy record per example (derived from `data synthetic`'s latent
class exactly as specc derives them), and history.json names each output's loss and
metrics as Keras and `specc run` do (`kind_accuracy`, `val_big_loss`, `test_loss`)."""

from __future__ import annotations

import math
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze, analyze_file
from specc.data.outputs import OutputTarget, synthetic_targets
from specc.emit import emit, emit_plan
from specc.ir.data import Synthetic
from specc.plan import RunOptions
from specc.run import run
from tests.emit.conftest import GOLDEN, ROOT, history, lint, run_scripts
from tests.emit.mindspore_env import mindspore_python

SPEC = ROOT / "specs" / "two_outputs.nn"
TARGETS = ["pytorch", "keras", "tensorflow", "mindspore"]
"""Every target writes several outputs (MindSpore's scripts run in its own venv)."""


def golden(target: str) -> str:
    return (GOLDEN / target / "two_outputs.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("target", "lines"),
    [
        (
            "pytorch",
            [
                "        kind = self.dense_3(x)  # (B, 6)",
                "        big = self.dense_5(big)  # (B, 1)",
                '            "kind": kind,',
                "        loss = loss_kind + 0.5 * loss_big",
                "    kind_loss_fn = nn.CrossEntropyLoss()",
                "    big_loss_fn = nn.BCEWithLogitsLoss()",
            ],
        ),
        (
            "keras",
            [
                '        "kind": kind,',
                '    return keras.Model(inputs, outputs, name="two_outputs")',
                '            loss_weights={"kind": 1.0, "big": 0.5},  # loss = the weighted sum',
                "            targets_of(y_train),",
            ],
        ),
        (
            "mindspore",
            [
                '            "big": big,',
                "        loss = loss_kind + 0.5 * loss_big",
                "        (loss, each, logits), grads = grad_fn(ms.Tensor(xb), tensors(yb))",
            ],
        ),
        (
            "tensorflow",
            [
                "        loss = loss_kind + 0.5 * loss_big",
                '        loss_kind = kind_loss_fn(yb["kind"], outputs["kind"])',
            ],
        ),
    ],
)
def test_the_model_returns_each_output_by_name(target: str, lines: list[str]) -> None:
    script = golden(target)
    for line in lines:
        assert line in script.splitlines(), line
    assert lint(script) == []


def test_the_scripts_derive_the_targets_specc_trains_on() -> None:
    """The golden's generator and `encode`, run here: bit for bit specc/data/outputs.py's."""
    script = runpy.run_path(str(GOLDEN / "pytorch" / "two_outputs.py"))
    x, labels, x_test, y_test = script["read_source"](None)
    y = script["encode"](labels)
    node = Synthetic(samples=3000, features=16, classes=6, noise=1.5)
    wanted = [OutputTarget("kind", "class", 6), OutputTarget("big", "binary", 1)]
    expected_x, targets = synthetic_targets(node, wanted)
    assert (x_test, y_test) == (None, None) and y.dtype.names == ("kind", "big")
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y["kind"], targets["kind"])
    np.testing.assert_array_equal(y["big"].reshape(-1), targets["big"])
    assert y["big"].shape == (3000, 1) and 0 < y["big"].mean() < 1


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


def _npz(path: Path) -> None:
    """400 examples and 100 of its own test split (`x_test`, `y_kind_test`, `y_big_test`)."""
    rng = np.random.default_rng(0)
    arrays = {}
    for suffix, n in (("", 400), ("_test", 100)):
        x = rng.normal(size=(n, 16)).astype(np.float32)
        kind = (x[:, 0] > 0) + 2 * (x[:, 1] > 0)
        arrays |= {f"x{suffix}": x, f"y_kind{suffix}": kind, f"y_big{suffix}": x[:, 2] > 0}
    np.savez(path, **arrays)


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("source", ["synthetic", "npz"])
def test_the_first_batch_losses_are_specc_runs(tmp_path: Path, source: str, target: str) -> None:
    """specs/two_outputs.nn on one batch (all of the training split), from one weights file,
    on its generator or an .npz with `y_kind`, `y_big` and a test split: the
    total and each output's loss of epoch 1, and the test losses, equal `specc run`'s."""
    text = SPEC.read_text(encoding="utf-8")
    text = text.replace("model two_outputs {", 'model two_outputs {\n init from "init.safetensors"')
    text = text.replace("samples=3000", "samples=600").replace("batch 64 shuffle", "batch 512")
    if source == "npz":
        _npz(tmp_path / "d.npz")
        text = text.replace(
            "data synthetic samples=600 features=16 classes=6 noise=1.5", 'data npz "d.npz"'
        )
    _compare_with_specc_run(tmp_path, text, target)


def _compare_with_specc_run(folder: Path, text: str, target: str) -> None:
    spec = folder / "t.nn"
    spec.write_text(text, encoding="utf-8")
    _initial_weights(text, folder / "init.safetensors")
    result = run(spec, RunOptions(backend="torch", out=str(folder / "run"), quiet=True, epochs=1))
    expected = result.history[0]
    script = folder / "t.py"
    script.write_text(emit(analyze_file(spec), target), encoding="utf-8")
    argv = [str(script), "--data-dir", str(folder), "--epochs", "1", "--out", str(folder / "s")]
    python = mindspore_python() if target == "mindspore" else sys.executable
    codes, output = run_scripts([argv], env={"GLOG_v": "3"}, cwd=folder, python=python)
    assert codes == [0], output[-3000:]
    found = history(folder / "s")
    for key in ("loss", "kind_loss", "big_loss"):
        value = found[key][0]  # type: ignore[index]
        assert math.isclose(value, expected[key], rel_tol=1e-5), (key, value, expected[key])
    assert expected["loss"] == pytest.approx(expected["kind_loss"] + 0.5 * expected["big_loss"])
    for key in ("test_loss", "test_kind_loss", "test_big_loss"):  # after one Adam step
        value = found[key]
        assert math.isclose(value, result.metrics[key], rel_tol=1e-4), (key, value)  # type: ignore[arg-type]


TWO_INPUTS = """model mi {
    init from "init.safetensors"
    input a 4
    input b 3
    branch l from=a { dense 8 relu }
    branch r from=b { dense 8 relu }
    concat l r
    output kind { dense 3 }
    output big { dense 1 sigmoid }
}
data npz "mi.npz" {
    batch 512
    test 0.25
}
train {
    output kind { loss sparse_categorical_crossentropy; metrics accuracy }
    output big { loss binary_crossentropy; weight 0.5 }
    optimizer adam
    epochs 1
}
"""


@pytest.mark.parametrize("target", TARGETS)
def test_several_inputs_and_outputs_from_an_npz(tmp_path: Path, target: str) -> None:
    """Named input arrays and `y_<output>` targets of one .npz: the same losses as specc run."""
    rng = np.random.default_rng(1)
    a = rng.normal(size=(300, 4)).astype(np.float32)
    b = rng.normal(size=(300, 3)).astype(np.float32)
    kind, big = (a[:, 0] > 0) + (b[:, 0] > 0), (a[:, 1] > 0).astype(np.int64)
    np.savez(tmp_path / "mi.npz", a=a, b=b, y_kind=kind, y_big=big)
    _compare_with_specc_run(tmp_path, TWO_INPUTS, target)


def test_the_pytorch_script_learns_every_output(tmp_path: Path) -> None:
    """4 epochs of the golden: each output's test accuracy above chance (1/6 and 1/2 of
    the 600 test examples), under the names specc's metrics.jsonl uses."""
    codes, output = run_scripts(
        [[str(GOLDEN / "pytorch" / "two_outputs.py"), "--epochs", "4", "--out", str(tmp_path)]]
    )
    assert codes == [0], output[-3000:]
    found = history(tmp_path)
    assert {"loss", "kind_loss", "big_loss", "kind_accuracy", "big_accuracy"} <= set(found)
    assert {"val_kind_loss", "val_big_accuracy", "test_loss", "test_big_loss"} <= set(found)
    assert len(found["val_big_loss"]) == 4  # type: ignore[arg-type]
    assert found["test_kind_accuracy"] > 0.6, found  # type: ignore[operator]
    assert found["test_big_accuracy"] > 0.65, found  # type: ignore[operator]
    assert (tmp_path / "best.pt").is_file()  # checkpoint best monitor=val_kind_accuracy


def test_an_npz_without_an_outputs_targets_is_named(tmp_path: Path) -> None:
    """A missing `y_<output>` array: exit 1 naming it and what the archive holds."""
    text = SPEC.read_text(encoding="utf-8").replace(
        "data synthetic samples=3000 features=16 classes=6 noise=1.5", 'data npz "d.npz"'
    )
    np.savez(tmp_path / "d.npz", x=np.zeros((50, 16), np.float32), y_kind=np.zeros(50, np.int64))
    script = tmp_path / "t.py"
    script.write_text(emit(analyze(text, str(tmp_path / "t.nn")), "pytorch"), encoding="utf-8")
    argv = [str(script), "--data-dir", str(tmp_path), "--out", str(tmp_path / "s")]
    codes, output = run_scripts([argv])
    assert codes == [1]
    assert "d.npz has no array 'y_big' (it has ['x', 'y_kind'])" in output


# `data synthetic regression` (and binary) with several outputs: specc draws the latent
# class from the `classes` clusters whatever the task (specc/data/outputs.py); the scripts
# once left CLASSES undefined (regression) or drew 2 clusters (binary) there.
LATENT = """\
model latent {
    input 8
    dense 16 relu
    output kind {
        dense 4
    }
    output level {
        dense 2
    }
    output big {
        dense 1
    }
}

data synthetic TASK samples=200 features=8 classes=4 noise=0.5 {
    batch 32
}

train {
    output kind {
        loss sparse_categorical_crossentropy
    }
    output level {
        loss mse
    }
    output big {
        loss binary_crossentropy
    }
}
"""


@pytest.mark.parametrize("task", ["regression", "binary", "classification"])
@pytest.mark.parametrize("target", ["pytorch", "keras", "tensorflow", "mindspore"])
def test_synthetic_targets_of_any_task_are_specc_s(tmp_path: Path, task: str, target: str) -> None:
    text = LATENT.replace("TASK", task)
    script = tmp_path / "latent.py"
    script.write_text(emit(analyze(text, str(tmp_path / "t.nn")), target), encoding="utf-8")
    assert lint(script.read_text(encoding="utf-8")) == []
    assert "CLASSES = 4\n" in script.read_text(encoding="utf-8")
    if target != "pytorch":
        return  # the generator and `encode` are common/data.j2's and common/outputs.j2's
    found = runpy.run_path(str(script))
    x, labels, _, _ = found["read_source"](None)
    y = found["encode"](labels)
    node = Synthetic(task=task, samples=200, features=8, classes=4, noise=0.5)
    wanted = [
        OutputTarget("kind", "class", 4),
        OutputTarget("level", "real", 2),
        OutputTarget("big", "binary", 1),
    ]
    expected_x, targets = synthetic_targets(node, wanted)
    np.testing.assert_array_equal(x, expected_x)
    np.testing.assert_array_equal(y["kind"], targets["kind"])
    np.testing.assert_array_equal(y["level"], targets["level"])
    np.testing.assert_array_equal(y["big"].reshape(-1), targets["big"])
    assert sorted(set(y["kind"].tolist())) == [0, 1, 2, 3]
    assert y["level"].shape == (200, 2) and sorted(set(y["level"][:, 0].round(4))) == [
        0.0,
        0.3333,
        0.6667,
        1.0,
    ]


@pytest.mark.parametrize("target", ["pytorch", "keras", "tensorflow", "mindspore"])
def test_outputs_scoring_precision_share_one_ratio(tmp_path: Path, target: str) -> None:
    """Two outputs' metric functions both read `ratio`: the script defines it once (the
    emit fuzz test found it defined per output, F811)."""
    text = LATENT.replace("TASK", "classification").replace(
        "        loss sparse_categorical_crossentropy\n",
        "        loss sparse_categorical_crossentropy\n        metrics precision recall\n",
    )
    text = text.replace(
        "        loss binary_crossentropy\n",
        "        loss binary_crossentropy\n        metrics f1\n",
    )
    script = emit(analyze(text, str(tmp_path / "t.nn")), target)
    assert lint(script) == []
    if target == "keras":  # Keras computes them itself (MacroScore, keras.metrics)
        assert "def ratio(" not in script
        return
    assert script.count("def ratio(") == 1
    assert "def metrics_kind(" in script and "def metrics_big(" in script
