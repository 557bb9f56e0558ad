"""`specc parity` on the command line: the table, the verdict, the exit codes, --json."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from specc.cli import main
from specc.executors.tensorflow import model as tf_model
from tests.parity.conftest import mlp

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "mlp.nn"
    text = mlp("adam lr=1e-2").replace(
        "    dense 16 tanh\n", "    dense 16 tanh\n    dropout 0.3\n"
    )
    path.write_text(text)
    return path


def test_agreeing_backends_exit_0_with_a_table(spec_file: Path) -> None:
    result = CliRunner().invoke(main, ["parity", str(spec_file), "--steps", "6"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0] == "note: dropout `dropout_1` (rate 0.3) disabled: rate set to 0"
    assert lines[1] == f"{spec_file}: model `mlp`, 6 steps"
    assert lines[2].split() == ["step", "lr", "torch", "tensorflow", "rel.", "diff"]
    rows = [line.split() for line in lines[3:9]]
    assert [int(r[0]) for r in rows] == [1, 2, 3, 4, 5, 6]
    for row in rows:
        assert float(row[1]) == pytest.approx(0.01)
        assert float(row[2]) == pytest.approx(float(row[3]), rel=1e-5)
    assert lines[9].startswith("eval")
    assert "(tolerance 1e-04): OK" in lines[10]


def test_a_wrong_mapping_exits_1(spec_file: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    original = tf_model.WeightSlot.to_keras

    def no_transpose(self: tf_model.WeightSlot, array: np.ndarray) -> np.ndarray:
        return array if array.shape[:1] == array.shape[1:2] else original(self, array)

    monkeypatch.setattr(tf_model.WeightSlot, "to_keras", no_transpose)
    result = CliRunner().invoke(main, ["parity", str(spec_file), "--steps", "6", "--json"])
    assert result.exit_code == 1, result.output
    payload = json.loads(result.output)
    assert payload["passed"] is False
    assert payload["max_relative_difference"] > 100 * payload["tolerance"]
    assert sorted(payload["losses"]) == ["tensorflow", "torch"]
    assert len(payload["losses"]["torch"]) == 6


def test_json_output_and_an_explicit_tolerance(spec_file: Path) -> None:
    result = CliRunner().invoke(
        main, ["parity", str(spec_file), "--steps", "4", "--tolerance", "0.5", "--json"]
    )
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["tolerance"] == 0.5
    assert payload["steps"] == 4
    assert payload["passed"] is True
    assert payload["lrs"] == [0.01] * 4
    assert payload["notes"] == ["dropout `dropout_1` (rate 0.3) disabled: rate set to 0"]


def test_user_mistakes_are_messages_not_tracebacks(tmp_path: Path) -> None:
    runner = CliRunner()
    missing = runner.invoke(main, ["parity", str(tmp_path / "nope.nn")])
    assert missing.exit_code == 2
    assert "no such file" in missing.output
    search = runner.invoke(main, ["parity", str(ROOT / "specs" / "search.nn")])
    assert search.exit_code == 1
    assert "error[E601]" in search.output
    assert "specc sweep" in search.output
    assert search.exception is None or isinstance(search.exception, SystemExit)
    steps = runner.invoke(main, ["parity", str(ROOT / "specs" / "binary.nn"), "--steps", "0"])
    assert steps.exit_code == 2
    assert "--steps must be at least 1" in steps.output
