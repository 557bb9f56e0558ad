"""`specc run` failures read well: one prefix, the code once, the error as JSON for tools,
a folder refused, and run files readable like any other file."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import numpy as np
from click.testing import CliRunner

from specc.cli import main

SPECS = Path(__file__).resolve().parents[2] / "specs"
QUICK = str(SPECS / "quickstart.nn")


def _cli(*args: str) -> object:
    return CliRunner().invoke(main, ["run", *args])


def test_a_coded_error_has_one_prefix_and_json_gets_an_error_object(tmp_path: Path) -> None:
    data = tmp_path / "small.npz"  # 5x5 examples for a 28x28 model: found when loaded
    rng = np.random.default_rng(0)
    np.savez(data, x=rng.random((60, 5, 5), dtype=np.float32), y=rng.integers(0, 10, 60))
    result = _cli(QUICK, "--data", str(data), "--out", str(tmp_path / "r"), "--json")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "error: error[" not in result.stderr  # type: ignore[attr-defined]
    assert result.stderr.startswith("error[E400]: the data's examples are 5x5")  # type: ignore[attr-defined]
    payload = json.loads(result.stdout)  # type: ignore[attr-defined]
    assert payload["error"]["code"] == "E400" and payload["error"]["exit_code"] == 1
    assert "`mnist_mlp` takes 784 values" in payload["error"]["message"]
    assert payload["error"]["hint"] == "change the model's `input` to the data's shape"


def test_fp16_on_cpu_has_one_prefix() -> None:
    result = _cli(QUICK, "--precision", "fp16", "--device", "cpu", "--json")
    assert result.exit_code == 1  # type: ignore[attr-defined]
    assert "error: error[" not in result.stderr  # type: ignore[attr-defined]
    assert "error[E600]" in result.stderr  # type: ignore[attr-defined]
    assert json.loads(result.stdout)["error"]["code"] == "E600"  # type: ignore[attr-defined]


def test_json_usage_error_is_an_object_too(tmp_path: Path) -> None:
    result = _cli(QUICK, "--epochs", "0", "--json")
    assert result.exit_code == 2  # type: ignore[attr-defined]
    error = json.loads(result.stdout)["error"]  # type: ignore[attr-defined]
    assert error == {
        "code": None,
        "message": "--epochs must be at least 1, got 0",
        "hint": None,
        "exit_code": 2,
    }


def test_a_folder_is_refused_with_its_specs_named() -> None:
    result = _cli(str(SPECS))
    assert result.exit_code == 2  # type: ignore[attr-defined]
    assert "is a folder; `specc run` trains one spec file" in result.stderr  # type: ignore[attr-defined]
    assert "binary.nn, char_lm.nn, cifar_cnn.nn, ..." in result.stderr  # type: ignore[attr-defined]
    assert "no such spec file" not in result.stderr  # type: ignore[attr-defined]


def test_weight_files_get_the_same_mode_as_every_other_file(tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        result = _cli(QUICK, "--epochs", "1", "--limit", "100", "--out", str(tmp_path / "r"))
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    run_dir = tmp_path / "r"
    modes = {
        p.relative_to(run_dir).as_posix(): stat.S_IMODE(p.stat().st_mode)
        for p in run_dir.rglob("*")
        if p.is_file()
    }
    assert modes["weights.safetensors"] == 0o644
    assert modes["checkpoints/last.safetensors"] == 0o644
    assert set(modes.values()) == {0o644}, modes
