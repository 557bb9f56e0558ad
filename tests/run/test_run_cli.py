"""`specc run` on the command line: JSON output, clear errors and exit codes, kill + resume."""

from __future__ import annotations

import gzip
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from specc.cli import main
from specc.plan import RunOptions
from specc.resources import bundled_dataset
from specc.run import run
from specc.run.record import load_arrays

SPECS = Path(__file__).resolve().parents[2] / "specs"
QUICK = str(SPECS / "quickstart.nn")


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, ["run", *args])


def test_json_prints_exactly_one_object_and_overrides_are_recorded(tmp_path: Path) -> None:
    folder = tmp_path / "idx"  # --data PATH: a folder of MNIST-format files
    shutil.copytree(bundled_dataset("mnist_sample"), folder)
    args = ["--epochs", "1", "--limit", "300", "--batch-size", "50", "--seed", "3"]
    out = str(tmp_path / "r")
    result = _cli(QUICK, *args, "--data", str(folder), "--out", out, "--json")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    payload = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert set(payload) == {
        "run_dir", "backend", "device", "epochs", "train_seconds", "compile_seconds", "metrics",
    }  # fmt: skip
    assert payload["backend"] == "torch" and payload["epochs"] == 1
    assert {"test_accuracy", "test_loss"} <= set(payload["metrics"])
    assert payload["run_dir"] == out
    assert result.stderr == ""  # type: ignore[attr-defined]
    resolved = json.loads((tmp_path / "r" / "run.json").read_text())["resolved"]
    assert resolved["batch_size"] == 50 and resolved["seed"] == 3 and resolved["epochs"] == 1
    assert resolved["overrides"] == {
        "epochs": 1, "batch_size": 50, "seed": 3, "data": str(folder), "limit": 300,
    }  # fmt: skip
    steps = (tmp_path / "r" / "metrics.jsonl").read_text().count('"step"')
    assert steps == 6  # 300 examples / batch 50


def test_cuda_without_cuda_is_a_usage_error(tmp_path: Path) -> None:
    result = _cli(QUICK, "--device", "cuda", "--out", str(tmp_path / "r"))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "CUDA is not available" in result.stderr and "--device cpu" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]


def test_usage_mistakes_exit_2_with_a_message(tmp_path: Path) -> None:
    cases = {
        ("missing.nn",): "no such spec file",
        (QUICK, "--model", "nope"): "no model named `nope`",
        (QUICK, "--epochs", "0"): "--epochs must be at least 1",
        (QUICK, "--backend", "jax"): "unknown backend `jax`",
        (QUICK, "--resume", str(tmp_path)): "not a specc run directory",
    }
    for args, message in cases.items():
        result = _cli(*args)
        assert result.exit_code == 2, (args, result.output)  # type: ignore[attr-defined]
        assert message in result.stderr, (args, result.stderr)  # type: ignore[attr-defined]


def test_spec_problems_exit_1_with_located_diagnostics(tmp_path: Path) -> None:
    result = _cli(str(SPECS / "search.nn"))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "error[E601]" in result.stderr and "specc sweep" in result.stderr  # type: ignore[attr-defined]
    assert "search.nn:" in result.stderr  # type: ignore[attr-defined]
    fp16 = _cli(QUICK, "--precision", "fp16", "--device", "cpu")
    assert fp16.exit_code == 1 and "error[E600]" in fp16.stderr  # type: ignore[attr-defined]


def test_corrupt_data_file_names_the_file(tmp_path: Path) -> None:
    folder = tmp_path / "digits"
    shutil.copytree(bundled_dataset("mnist_sample"), folder)
    images = folder / "train-images-idx3-ubyte.gz"
    data = gzip.decompress(images.read_bytes())
    images.write_bytes(gzip.compress(data[: len(data) // 2]))  # truncated
    result = _cli(QUICK, "--data", str(folder), "--out", str(tmp_path / "r"))
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "train-images-idx3-ubyte.gz" in result.stderr  # type: ignore[attr-defined]
    assert "Traceback" not in result.output  # type: ignore[attr-defined]
    assert not (tmp_path / "r").exists()  # nothing is created before the data loads


RESUMABLE = (
    (SPECS / "quickstart.nn")
    .read_text()
    .replace("dense 512 relu", "dense 32 relu\n    dropout 0.1")
    .replace("epochs 5", "epochs 3\n    schedule cosine\n    checkpoint best monitor=val_loss")
    .replace("optimizer rmsprop lr=1e-3", "optimizer adam lr=2e-3")
    .replace("batch 128 shuffle", "batch 64 shuffle\n    validation 0.2")
)


def _tree(folder: Path) -> set[str]:
    return {str(p.relative_to(folder)) for p in folder.rglob("*")}


def test_kill_and_resume_ends_with_the_same_weights(tmp_path: Path) -> None:
    """A run SIGKILLed after epoch 1 and resumed ends exactly like an uninterrupted run,
    and neither writes anything outside its run directory."""
    work = tmp_path / "work"
    work.mkdir()
    (work / "spec.nn").write_text(RESUMABLE)
    before = _tree(work)
    env = {**os.environ, "SPECC_TEST_STOP_AFTER_EPOCH": "1", "OMP_NUM_THREADS": "1"}
    killed = subprocess.run(
        [sys.executable, "-m", "specc", "run", "spec.nn", "--limit", "800", "--quiet"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert killed.returncode == -9, killed.stderr
    (run_dir,) = (work / "runs").iterdir()
    assert run_dir.name.startswith("mnist_mlp-")
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"
    assert not (run_dir / "weights.safetensors").exists()

    cwd = Path.cwd()
    os.chdir(work)
    try:
        resumed = run(None, RunOptions(resume=str(run_dir), quiet=True))
    finally:
        os.chdir(cwd)
    assert resumed.epochs == 3
    added = _tree(work) - before
    assert all(p == "runs" or p.startswith(f"runs/{run_dir.name}") for p in added), added

    whole = run(work / "spec.nn", RunOptions(limit=800, quiet=True, out=str(tmp_path / "whole")))
    got = load_arrays(run_dir / "weights.safetensors")[0]
    expected = load_arrays(Path(whole.run_dir) / "weights.safetensors")[0]
    assert got.keys() == expected.keys()
    for key in expected:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)
    assert [r["loss"] for r in resumed.history] == [r["loss"] for r in whole.history]
    steps = [json.loads(x) for x in (run_dir / "metrics.jsonl").read_text().splitlines()]
    assert len([r for r in steps if "step" in r]) == 3 * 10  # 640 train examples / 64
