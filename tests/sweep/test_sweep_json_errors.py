"""`specc sweep --json` and `specc compare --json` answer a failure with one JSON object on
stdout (code, message, hint, exit code), so a tool reading stdout is never left empty."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner
from sweep_helpers import tiny_spec

from specc.cli import main


def test_sweep_json_failure_is_one_error_object(tmp_path: Path) -> None:
    spec = tmp_path / "plain.nn"
    spec.write_text(tiny_spec(lr="0.1"))  # nothing to search
    result = CliRunner().invoke(main, ["sweep", str(spec), "--json", "--out", str(tmp_path / "s")])
    assert result.exit_code == 2, result.output
    error = json.loads(result.stdout)["error"]
    assert error["exit_code"] == 2 and error["code"] is None
    assert error["message"] == f"{spec} has no search space to sweep"
    assert error["message"] in result.stderr


def test_compare_json_failure_carries_the_diagnostic_code(tmp_path: Path) -> None:
    one, two = tmp_path / "one.nn", tmp_path / "two.nn"
    one.write_text(tiny_spec(lr="0.1"))
    two.write_text(tiny_spec(lr="uniform(0.05, 0.2)"))
    args = ["compare", str(one), str(two), "--json", "--out", str(tmp_path / "c")]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    error = json.loads(result.stdout)["error"]
    assert error["code"] == "E601" and error["exit_code"] == 1
    assert error["message"] == "the spec has search spaces; `specc run` needs concrete numbers"
