"""Emitted scripts train as `specc run` does, optimizer by optimizer.

For each optimizer setting (with weight decay or clipping, under a step schedule) one
small MLP starts from the same weights (`init from` a file written here) and sees the
same batches (no shuffling); the per-epoch training loss of the emitted PyTorch, Keras
and TensorFlow scripts must equal `specc run`'s (torch backend) to float32 round-off.

Measured (3 epochs of 16 steps, CPU): every script within 1.2e-6 relative of `specc run`
(PyTorch scripts within 1.2e-7). With keras.optimizers.Adam/AdamW (eps added before the
bias correction, 1 - beta**t in float32) the Keras and TensorFlow scripts differed by 8e-6
(`adamw lr=1e-3 weight_decay=0.05`) to 1.5e-4 (`adamw lr=1e-2`) relative, and 2e-5 with
the former SpecAdam (1 - beta**t in float32). TOLERANCE sits between the two.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from specc.analysis import analyze
from specc.cli import main
from specc.emit import emit
from tests.emit.conftest import history, run_scripts

TOLERANCE = 3e-6  # relative, per epoch

SPEC = """model mlp {{
    init from "init.safetensors"
    input 10
    dense 16 relu
    dense 16 tanh
    dense 3 softmax
}}
data synthetic classification samples=256 features=10 classes=3 noise=0.5 {{
    batch 16
}}
train {{
    loss {loss}
    optimizer {optimizer}
    schedule step every=1 gamma=0.5
    epochs 3
    seed 7
}}
"""

# The runner's parity list (tests/parity/test_parity.py) less what the scripts refuse
# (E600: amsgrad, centered or momentum RMSprop), plus the setting of issue 17.
OPTIMIZERS = {
    "sgd_l2_clipnorm": "sgd lr=0.1 weight_decay=1e-2 clip_norm=0.5",
    "sgd_momentum_clipvalue": "sgd lr=0.05 momentum=0.9 clip_value=0.02",
    "sgd_nesterov_l2": "sgd lr=0.05 momentum=0.9 nesterov=true weight_decay=1e-2",
    "adam_l2_clipnorm": "adam lr=1e-2 weight_decay=1e-2 clip_norm=1",
    "adam": "adam lr=1e-2",
    "adamw_clipvalue": "adamw lr=1e-2 weight_decay=0.1 clip_value=0.05",
    "adamw_issue17": "adamw lr=1e-3 weight_decay=0.05",
    "rmsprop_l2_clipnorm": "rmsprop lr=1e-2 weight_decay=1e-2 clip_norm=0.5",
    "adagrad_l2_clipvalue": "adagrad lr=0.1 weight_decay=1e-2 clip_value=0.1",
}
# Losses other than the plain one, each case with one optimizer: label smoothing of class
# indices, which Keras has no class for (the scripts' SmoothedSparseCrossentropy).
LOSSES = {"adam_sparse_smoothing": "sparse_categorical_crossentropy label_smoothing=0.1"}
OPTIMIZERS["adam_sparse_smoothing"] = "adam lr=1e-2"
TARGETS = ("pytorch", "keras", "tensorflow")


def _initial_weights(path: Path) -> None:
    from safetensors.numpy import save_file

    rng = np.random.default_rng(3)
    shapes = {"dense_1": (16, 10), "dense_2": (16, 16), "dense_3": (3, 16)}
    weights = {}
    for name, shape in shapes.items():
        weights[f"{name}.weight"] = rng.normal(0, 0.3, shape).astype(np.float32)
        weights[f"{name}.bias"] = rng.normal(0, 0.1, shape[0]).astype(np.float32)
    save_file(weights, str(path))


def _runner_losses(folder: Path) -> list[float]:
    lines = (folder / "metrics.jsonl").read_text().splitlines()
    return [row["loss"] for row in map(json.loads, lines) if "step" not in row]


@pytest.fixture(scope="module")
def losses(tmp_path_factory) -> dict[tuple[str, str], list[float]]:
    root = tmp_path_factory.mktemp("optimizer_parity")
    _initial_weights(root / "init.safetensors")
    found: dict[tuple[str, str], list[float]] = {}
    by_framework: dict[str, list[tuple[str, str, list[str]]]] = {}
    for case, optimizer in OPTIMIZERS.items():
        spec = root / f"{case}.nn"
        loss = LOSSES.get(case, "sparse_categorical_crossentropy")
        text = SPEC.format(optimizer=optimizer, loss=loss)
        spec.write_text(text, encoding="utf-8")
        run = CliRunner().invoke(
            main, ["run", str(spec), "--out", str(root / case / "run"), "-q", "--compile", "off"]
        )
        assert run.exit_code == 0, run.output
        found[(case, "run")] = _runner_losses(root / case / "run")
        analysis = analyze(text, str(spec))
        for target in TARGETS:
            script = root / f"{case}_{target}.py"
            script.write_text(emit(analysis, target), encoding="utf-8")
            argv = [str(script), "--out", str(root / case / target)]
            framework = "torch" if target == "pytorch" else "tensorflow"
            by_framework.setdefault(framework, []).append((case, target, argv))
    for runs in by_framework.values():
        env = {"KERAS_BACKEND": "tensorflow"}
        codes, output = run_scripts([argv for _, _, argv in runs], env=env, cwd=root)
        assert codes == [0] * len(runs), output[-3000:]
        for case, target, _ in runs:
            losses = history(root / case / target)["loss"]
            assert isinstance(losses, list)
            found[(case, target)] = losses
    return found


@pytest.mark.parametrize("target", TARGETS)
@pytest.mark.parametrize("case", OPTIMIZERS)
def test_emitted_script_trains_as_specc_run(losses, case, target):
    expected, got = np.array(losses[(case, "run")]), np.array(losses[(case, target)])
    assert len(expected) == len(got) == 3
    assert expected[-1] < expected[0]  # it trained
    relative = np.abs(got - expected) / np.abs(expected)
    assert relative.max() < TOLERANCE, (case, target, relative)
