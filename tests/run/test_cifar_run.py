"""specs/cifar_cnn.nn on CIFAR-10 files: `specc check`, then `specc run` on both backends.

The data is a small CIFAR-10 written at test time in the upstream python format
(tests/cifar_files.py: 200 training and 50 test images whose classes have their own
colour), named by the data block's `path`; nothing is downloaded.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.cli import main
from tests.cifar_files import NAMES, write_python

SPEC = (Path(__file__).resolve().parents[2] / "specs" / "cifar_cnn.nn").read_text()


def spec_file(folder: Path, text: str = SPEC) -> Path:
    path = folder / "cifar_cnn.nn"
    path.write_text(text.replace("data cifar10 {", 'data cifar10 path="cifar" {'))
    return path


def test_check_knows_cifar_images_before_reading_any() -> None:
    runner = CliRunner()
    result = runner.invoke(main, ["check", "specs/cifar_cnn.nn"])
    assert result.exit_code == 0 and result.output == "1 file checked: 0 errors, 0 warnings\n"
    wrong = SPEC.replace("input 3x32x32", "input 1x28x28")
    result = runner.invoke(main, ["check", "-"], input=wrong)
    assert result.exit_code == 1
    assert "model `cifar_cnn` takes inputs of 1x28x28, but `cifar10` gives 3x32x32" in result.output


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_run_trains_on_cifar_batches(tmp_path: Path, backend: str) -> None:
    write_python(tmp_path / "cifar", per_batch=40, n_test=50, learnable=True)
    out = tmp_path / "run"
    args = ["run", str(spec_file(tmp_path)), "--backend", backend, "--epochs", "3"]
    result = CliRunner().invoke(main, [*args, "--out", str(out), "--json"])
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)["metrics"]
    assert metrics["test_accuracy"] > 0.3, metrics  # chance is 0.1
    data = json.loads((out / "run.json").read_text())["data"]
    assert data["source"] == f"cifar10 from {tmp_path / 'cifar'}"
    assert data["sizes"] == {"train": 180, "val": 20, "test": 50}  # validation 0.1
    assert data["classes"] == 10 and data["class_names"] == NAMES
    epochs = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    losses = [e["loss"] for e in epochs if "epoch" in e and "step" not in e]
    assert len(losses) == 3 and losses[-1] < losses[0], losses


def test_a_damaged_batch_is_one_message_not_a_traceback(tmp_path: Path) -> None:
    write_python(tmp_path / "cifar")
    batch = tmp_path / "cifar" / "data_batch_2"
    batch.write_bytes(batch.read_bytes()[:500])
    result = CliRunner().invoke(
        main, ["run", str(spec_file(tmp_path)), "--out", str(tmp_path / "r")]
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        f"error: {batch}: not a CIFAR-10 python batch (the file ends inside it: truncated)\n"
    )
    assert "delete it and download CIFAR-10 again" in result.stderr
    assert "Traceback" not in result.output
