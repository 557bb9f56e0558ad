"""A wrong artifact fails verification: exit 1, a table of the largest differences, and
nothing half-written (an earlier export of the same format stays exactly as it was)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner
from export_helpers import train

from specc.cli import main
from specc.export import writers


def _files(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


def _perturb_onnx(path: Path) -> None:
    """Add 1e-2 to the first float weight of the graph (one number in the whole model)."""
    import onnx
    from onnx import numpy_helper

    model = onnx.load(str(path))
    for i, init in enumerate(model.graph.initializer):
        array = numpy_helper.to_array(init)
        if array.dtype == np.float32 and array.size > 1:
            array = array.copy()
            array.flat[0] += np.float32(1e-2)
            model.graph.initializer[i].CopyFrom(numpy_helper.from_array(array, init.name))
            break
    onnx.save(model, str(path))


def _perturb_keras(path: Path) -> None:
    import keras

    model = keras.saving.load_model(str(path), compile=False)
    layer = next(layer for layer in model.layers if layer.weights)
    values = layer.get_weights()
    values[0] = values[0] + 1e-2
    layer.set_weights(values)
    model.save(str(path))


PERTURB = {"onnx": ("torch", _perturb_onnx), "keras": ("tensorflow", _perturb_keras)}


@pytest.mark.parametrize("fmt", ["onnx", "keras"])
def test_a_perturbed_artifact_fails_and_leaves_nothing(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    backend, perturb = PERTURB[fmt]
    run_dir = train(runs_root, "cnn.nn", backend, None, "mnist_sample")
    cli = CliRunner()
    first = cli.invoke(main, ["export", str(run_dir), "--format", fmt])
    assert first.exit_code == 0, first.output
    folder = run_dir / "export" / fmt
    before = _files(folder)
    _, write = writers.WRITERS[fmt]

    def write_then_perturb(state: Any, x: np.ndarray, path: Path, options: dict[str, Any]) -> str:
        how = write(state, x, path, options)
        perturb(path)
        return how

    monkeypatch.setitem(writers.WRITERS, fmt, (backend, write_then_perturb))
    result = cli.invoke(main, ["export", str(run_dir), "--format", fmt])
    assert result.exit_code == 1, result.output
    assert "verification failed" in result.output
    assert "disagree at batch 1" in result.output
    assert "example  output" in result.output and "|diff|" in result.output
    assert "Traceback" not in result.output
    assert _files(folder) == before  # the earlier, good export is untouched
    assert not [p for p in (run_dir / "export").iterdir() if p.name.startswith(".")]
    fresh = run_dir / "export" / f"fresh-{fmt}"
    failed = cli.invoke(main, ["export", str(run_dir), "--format", fmt, "-o", str(fresh)])
    assert failed.exit_code == 1
    assert not fresh.exists()
    assert not [p for p in (run_dir / "export").iterdir() if p.name.startswith(".")]


def test_an_exporter_crash_is_a_message(runs_root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    run_dir = train(runs_root, "quickstart.nn", "torch", None, None)

    def broken(state: Any, x: np.ndarray, path: Path, options: dict[str, Any]) -> str:
        path.write_bytes(b"half")
        raise RuntimeError("unsupported operator aten::frobnicate\nmore detail")

    monkeypatch.setitem(writers.WRITERS, "onnx", ("torch", broken))
    out = run_dir / "export" / "broken"
    result = CliRunner().invoke(main, ["export", str(run_dir), "--format", "onnx", "-o", str(out)])
    assert result.exit_code == 1
    assert (
        "error: the onnx exporter failed: RuntimeError: unsupported operator aten::frobnicate"
        in result.output
    )
    assert "try --legacy-onnx" in result.output
    assert not out.exists()


def test_usage_errors(runs_root: Path, tmp_path: Path) -> None:
    run_dir = train(runs_root, "quickstart.nn", "torch", None, None)
    cli = CliRunner()
    wrong = cli.invoke(main, ["export", str(run_dir), "--format", "savedmodel"])
    assert wrong.exit_code == 2
    assert "`--format savedmodel` exports a tensorflow model, but this run trained on torch" in (
        wrong.output
    )
    assert "formats for torch runs: onnx, torch" in wrong.output
    not_run = cli.invoke(main, ["export", str(tmp_path), "--format", "onnx"])
    assert not_run.exit_code == 2
    assert "not a specc run directory (no run.json)" in not_run.output
    (tmp_path / "keep.txt").write_text("mine")
    occupied = cli.invoke(main, ["export", str(run_dir), "--format", "onnx", "-o", str(tmp_path)])
    assert occupied.exit_code == 2
    assert "exists and is not an earlier export" in occupied.output
    assert (tmp_path / "keep.txt").read_text() == "mine"
    unfinished = tmp_path / "unfinished"
    unfinished.mkdir()
    (unfinished / "run.json").write_text(json.dumps({"status": "interrupted"}))
    stopped = cli.invoke(main, ["export", str(unfinished), "--format", "onnx"])
    assert stopped.exit_code == 2
    assert "the run has no final weights (status: interrupted)" in stopped.output


def test_a_missing_runtime_says_what_to_install(
    runs_root: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    import sys

    run_dir = train(runs_root, "quickstart.nn", "torch", None, None)
    done = CliRunner().invoke(main, ["export", str(run_dir), "--format", "onnx"])
    assert done.exit_code == 0, done.output
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if not installed
    out = tmp_path / "e"
    result = CliRunner().invoke(main, ["export", str(run_dir), "--format", "onnx", "-o", str(out)])
    assert result.exit_code == 2
    assert "error: this needs `onnxruntime`, which is not installed" in result.output
    assert 'pip install "specc-nn[export]"' in result.output
    assert not out.exists()
    np.savez(tmp_path / "x.npz", x=np.zeros((1, 28, 28), np.float32))
    used = CliRunner().invoke(
        main, ["predict", str(run_dir / "export" / "onnx"), str(tmp_path / "x.npz")]
    )
    assert used.exit_code == 2
    assert "this needs `onnxruntime`" in used.output
