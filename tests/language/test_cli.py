"""The `specc` command line: exit codes, JSON shapes, `explain`, `ir`, and the rule that
reading specs never imports a deep-learning framework."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from specc.cli import main
from specc.codes import CODES

ROOT = Path(__file__).resolve().parents[2]
SPECS = ROOT / "specs"
FIXTURES = ROOT / "tests" / "fixtures" / "diagnostics"


def run(*args: str, input: str | None = None) -> Result:
    return CliRunner().invoke(main, list(args), input=input)


# ---- exit codes: 0 fine, 1 problems, 2 usage ----------------------------------------------


def test_clean_specs_exit_0() -> None:
    result = run("check", str(SPECS))
    assert result.exit_code == 0, result.output
    assert result.output == f"{len(list(SPECS.glob('*.nn')))} files checked: 0 errors, 0 warnings\n"


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (("check", str(FIXTURES / "E402_dense_needs_flat.nn")), 1),
        (("check", str(FIXTURES / "W502_units_vs_classes.nn")), 0),  # warnings alone pass
        (("check", "--strict", str(FIXTURES / "W502_units_vs_classes.nn")), 1),
        (("check", str(SPECS / "mnist.nn"), str(FIXTURES / "E401_no_input.nn")), 1),
        (("check", "no/such/file.nn"), 2),
        (("check",), 2),
        (("check", "--bogus", str(SPECS)), 2),
        (("check", "--format", "xml", str(SPECS)), 2),
        (("nosuchcommand",), 2),
        (("ir", "no/such/file.nn"), 2),
        (("ir", str(FIXTURES / "E401_no_input.nn")), 1),
        (("summary", "no/such/file.nn"), 2),
        (("explain", "E999"), 2),
    ],
)
def test_exit_codes(args: tuple[str, ...], code: int) -> None:
    result = run(*args)
    assert result.exit_code == code, result.output
    if result.exception is not None:
        assert isinstance(result.exception, SystemExit), repr(result.exception)


def test_usage_errors_say_what_is_wrong(tmp_path: Path) -> None:
    assert "no such file: no/such/file.nn" in run("check", "no/such/file.nn").output
    assert "No such option '--bogus'" in run("check", "--bogus", str(SPECS)).output
    assert f"no .nn files in folder {tmp_path}" in run("check", str(tmp_path)).output


def test_stdin_is_checked() -> None:
    spec = (SPECS / "mnist.nn").read_text()
    assert run("check", "-", input=spec).exit_code == 0
    result = run("check", "-", input=spec.replace("flatten\n", ""))
    assert result.exit_code == 1 and "error[E402]" in result.output and "--> -:" in result.output


# ---- --format json -------------------------------------------------------------------------


def test_json_format_shape() -> None:
    path = str(FIXTURES / "E402_dense_needs_flat.nn")
    result = run("check", "--format", "json", path)
    assert result.exit_code == 1
    (diag,) = json.loads(result.output)
    assert set(diag) == {"code", "severity", "message", "help", "range", "related", "file"}
    assert diag["code"] == "E402" and diag["severity"] == "error" and diag["file"] == path
    assert diag["message"].startswith("`dense` needs a flat input")
    assert diag["help"] == "add `flatten` before it"
    text = Path(path).read_text()
    start, end = diag["range"]["start"], diag["range"]["end"]
    assert (start["line"], start["column"], end["line"], end["column"]) == (6, 5, 6, 13)
    assert text[start["offset"] : end["offset"]] == "dense 10"
    (related,) = diag["related"]
    assert related["message"] == "`maxpool2d_1` gives 32x13x13"
    assert text[related["range"]["start"]["offset"] : related["range"]["end"]["offset"]] == (
        "maxpool2d 2"
    )


def test_json_format_with_fix_and_clean_files() -> None:
    result = run("check", "--format", "json", str(FIXTURES / "W502_units_vs_classes.nn"))
    (diag,) = json.loads(result.output)
    assert (diag["code"], diag["severity"], diag["fix"]["text"]) == ("W502", "warning", "10")
    clean = run("check", "--format", "json", str(SPECS))
    assert clean.exit_code == 0 and json.loads(clean.output) == []


# ---- explain -------------------------------------------------------------------------------


def test_explain_lists_every_code() -> None:
    result = run("explain")
    assert result.exit_code == 0
    assert [line.split()[0] for line in result.output.splitlines()] == list(CODES)


@pytest.mark.parametrize("spelling", ["E402", "e402", " E402 "])
def test_explain_known_code(spelling: str) -> None:
    result = run("explain", spelling)
    assert result.exit_code == 0
    assert result.output.startswith("E402: layer needs a different input rank\n")
    assert "add\n`flatten` after convolutions" in result.output


def test_explain_unknown_code() -> None:
    result = run("explain", "W999")
    assert result.exit_code == 2
    assert "unknown code 'W999'; `specc explain` lists them" in result.output


# ---- ir --------------------------------------------------------------------------------------


def test_ir_output() -> None:
    result = run("ir", str(SPECS / "mnist.nn"))
    assert result.exit_code == 0
    ir = json.loads(result.output)
    (model,) = ir["models"]
    assert model["name"] == "mnist_mlp" and model["inputs"][0]["shape"] == [28, 28]
    assert [layer["kind"] for layer in model["layers"]] == ["flatten", "dense", "dense"]
    assert model["layers"][1]["units"] == 512
    assert model["layers"][1]["activation"]["kind"] == "relu"
    assert ir["data"]["kind"] == "mnist" and ir["data"]["batch"]["size"] == 128
    assert ir["train"]["optimizer"] == {**ir["train"]["optimizer"], "kind": "rmsprop", "lr": 1e-3}
    assert "span" not in json.dumps(ir)


def test_ir_with_spans() -> None:
    result = run("ir", "--spans", str(SPECS / "mnist.nn"))
    dense = json.loads(result.output)["models"][0]["layers"][1]
    assert dense["span"]["line"] == 5 and dense["span"]["column"] == 5
    assert "field_spans" not in result.output


def test_ir_of_a_broken_spec_prints_diagnostics() -> None:
    result = run("ir", str(FIXTURES / "E401_no_input.nn"))
    assert result.exit_code == 1
    assert "error[E401]: model `mlp` has no `input` statement" in result.output


# ---- reading specs never imports a framework -------------------------------------------------

NO_FRAMEWORK = f"""
import sys
from specc.cli import main

specs = {str(SPECS)!r}
for args in (["check", specs], ["fmt", "--check", specs], *(["summary", p] for p in sorted(__import__("glob").glob(specs + "/*.nn")))):
    try:
        main(args, standalone_mode=False)
    except SystemExit as exit:
        assert exit.code in (0, None), (args, exit.code)
loaded = sorted(m for m in ("torch", "tensorflow", "keras", "mindspore", "jax") if m in sys.modules)
print("LOADED", loaded)
"""


def test_check_fmt_summary_import_no_framework() -> None:
    proc = subprocess.run(
        [sys.executable, "-c", NO_FRAMEWORK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "LOADED []" in proc.stdout, proc.stdout + proc.stderr
