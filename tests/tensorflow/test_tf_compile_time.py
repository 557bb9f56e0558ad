"""`compile on` with the tensorflow backend: the run says XLA is compiling, and the compile
time is reported apart from the training time (epoch line, final line, metrics.json, --json),
as tests/run/test_compile_time.py checks for torch.

XLA compiles each epoch-function shape in a call that runs zero steps, so compiling trains
nothing: the run's numbers are those of `compile off` (float rounding apart)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.init_weights import initial_weights
from specc.run.record import load_arrays
from tests.tensorflow.conftest import plan_of

SPEC = """model mlp {
    input 8
    dense 16 relu
    dense 3 softmax
}
data synthetic classification samples=200 features=8 classes=3 {
    batch 32 shuffle
    validation 0.2
    test 0.2
}
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 2
    metrics accuracy
    seed 4
}
"""


def _run(tmp_path: Path, name: str, *extra: str) -> tuple[str, str]:
    spec = tmp_path / "mlp.nn"
    spec.write_text(SPEC)
    args = ["run", str(spec), "--backend", "tensorflow", "--out", str(tmp_path / name), *extra]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    return result.stdout, result.stderr


def test_xla_compile_is_announced_and_timed_apart(tmp_path: Path) -> None:
    stdout, stderr = _run(tmp_path, "on", "--compile", "on")
    lines = stderr.splitlines()
    announce = lines.index(
        "compiling the train step with XLA (jit_compile) during epoch 1; this can take a "
        "minute, on a CPU most of all (`compile off` skips it)"
    )
    assert lines[announce + 1].startswith("epoch 1/2")  # said before the epoch that compiles
    compiled = [line for line in lines if line.startswith("compiled in ")]
    assert len(compiled) == 1 and compiled[0].endswith("s (kept apart from the training time)")
    assert lines.index(compiled[0]) == announce + 2  # right after epoch 1's line
    saved = json.loads((tmp_path / "on" / "metrics.json").read_text())
    assert saved["compile_seconds"] > 0
    assert f"s training, {saved['compile_seconds']:.1f}s compiling)" in stdout

    # compiling trained nothing: the same run without XLA has the same numbers
    _run(tmp_path, "off", "--compile", "off")
    off = json.loads((tmp_path / "off" / "metrics.json").read_text())
    assert off["compile_seconds"] == 0.0
    for key in ("loss", "accuracy", "val_loss", "test_loss", "test_accuracy"):
        assert saved[key] == pytest.approx(off[key], abs=1e-5), key
    a = load_arrays(tmp_path / "on" / "weights.safetensors")[0]
    b = load_arrays(tmp_path / "off" / "weights.safetensors")[0]
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5, rtol=0, err_msg=key)

    json_out, _ = _run(tmp_path, "j", "--compile", "on", "--json")
    assert json.loads(json_out)["compile_seconds"] > 0


def test_without_xla_nothing_is_announced(tmp_path: Path) -> None:
    stdout, stderr = _run(tmp_path, "r", "--compile", "off")
    assert "compiling the train step" not in stderr and "compiled in" not in stderr
    assert "s compiling)" not in stdout


def test_a_zero_step_call_compiles_each_shape_once_and_updates_nothing() -> None:
    from specc.executors import tensorflow as backend
    from specc.executors.tensorflow.train import run_epoch

    plan = plan_of(SPEC, compile="on")
    state = backend.build(plan, initial_weights(plan.shapes, plan.seed), "cpu")
    x = np.random.default_rng(0).normal(size=(40, 8)).astype(np.float32)
    data = backend.load_data(state, x, np.arange(40) % 3)
    order = np.arange(40)
    lrs = np.full(3, 1e-2)
    run_epoch(state, data, order, 16, lrs, None, 0)  # 2 full batches of 16 and one of 8
    assert state.jit is True
    assert sorted(shape[1] for shape in state.compiled) == [(1, 8), (2, 16)]
    first = state.compile_seconds
    assert first > 0
    assert int(state.optimizer.step.numpy()) == 3  # the warm-up calls took no step
    run_epoch(state, data, order, 16, lrs, None, 1)
    assert state.compile_seconds == first  # the shapes were compiled already
    assert int(state.optimizer.step.numpy()) == 6
