"""Every diagnostic code, rendered exactly as `specc check` prints it, from fixture files.

tests/fixtures/diagnostics/<CODE>_<what>.nn is a spec that triggers CODE; <same>.expected
is the exact text `specc check <that path>` prints (diagnostics, then the count line).
Regenerate the .expected files after an intended change in wording with:

    SPECC_REGEN=1 python -m pytest -q tests/language/test_diagnostics.py

and review the diff. Also here: robustness against hostile input, and error recovery.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from specc.cli import main
from specc.codes import CODES

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "diagnostics"
REGEN_COMMAND = "SPECC_REGEN=1 python -m pytest -q tests/language/test_diagnostics.py"
REGEN = os.environ.get("SPECC_REGEN") == "1"
# Codes `specc check` cannot emit yet: E600 needs `--backend/--target` capability checks,
# E601 is raised by `specc run`/`emit` planning (specc/plan.py), not by the checker.
# E602: `specc run` on several ranks; E603: `init from` a run with other token ids
# (tests/run/test_init_vocabulary.py)
NOT_FROM_CHECK = {"E600", "E601", "E602", "E603"}
CODE_LITERAL = re.compile(r"""["']([EW]\d{3})["']""")

FIXTURE_FILES = sorted(FIXTURES.glob("*.nn"))


def check(*args: str) -> Result:
    """`specc check ARGS` run from the repository root, as a user would type it."""
    old = Path.cwd()
    os.chdir(ROOT)
    try:
        return CliRunner().invoke(main, ["check", *args])
    finally:
        os.chdir(old)


def _no_traceback(result: Result) -> None:
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"specc check crashed: {result.exception!r}") from result.exception


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture_renders_exactly(fixture: Path) -> None:
    code = fixture.name.split("_", 1)[0]
    result = check(fixture.relative_to(ROOT).as_posix())
    _no_traceback(result)
    expected_file = fixture.with_suffix(".expected")
    if REGEN:
        expected_file.write_text(result.output, encoding="utf-8")
    assert expected_file.exists(), f"no {expected_file.name}; create it with: {REGEN_COMMAND}"
    expected = expected_file.read_text(encoding="utf-8")
    assert result.output == expected, (
        f"`specc check {fixture.name}` output changed; if intended, regenerate with: "
        f"{REGEN_COMMAND}"
    )
    # The fixture really shows its code, and errors (not warnings) fail the check.
    severity = "error" if code.startswith("E") else "warning"
    assert f"{severity}[{code}]: " in result.output
    assert result.exit_code == (1 if code.startswith("E") else 0)


def test_warnings_fail_the_check_with_strict() -> None:
    warning = next(p for p in FIXTURE_FILES if p.name.startswith("W"))
    assert check("--strict", str(warning.relative_to(ROOT))).exit_code == 1


def test_every_code_has_a_fixture() -> None:
    covered = {p.name.split("_", 1)[0] for p in FIXTURE_FILES}
    missing = sorted(set(CODES) - covered - NOT_FROM_CHECK)
    assert not missing, (
        f"no fixture for {missing}: add tests/fixtures/diagnostics/<CODE>_<what>.nn, then run "
        f"{REGEN_COMMAND}"
    )
    unknown = sorted(covered - set(CODES))
    assert not unknown, f"fixtures named after codes not in specc/codes.py: {unknown}"
    stale = sorted(p.name for p in FIXTURES.glob("*.expected") if not p.with_suffix(".nn").exists())
    assert not stale, f"expected outputs without a fixture: {stale}"


@pytest.mark.parametrize("code", sorted(NOT_FROM_CHECK))
def test_codes_beyond_check_are_documented(code: str) -> None:
    item = CODES[code]
    assert item.title and len(item.explanation.split()) >= 15
    result = CliRunner().invoke(main, ["explain", code])
    assert result.exit_code == 0
    assert result.output.startswith(f"{code}: {item.title}\n")


def _codes_in_source() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path in sorted((ROOT / "specc").rglob("*.py")):
        if path.name == "codes.py":
            continue  # the registry itself
        for code in CODE_LITERAL.findall(path.read_text(encoding="utf-8")):
            found.setdefault(code, []).append(str(path.relative_to(ROOT)))
    return found


def test_every_emitted_code_is_documented() -> None:
    undocumented = {c: files for c, files in _codes_in_source().items() if c not in CODES}
    assert not undocumented, f"codes used in specc/ but missing from specc/codes.py: {undocumented}"


def test_every_documented_code_is_used() -> None:
    # E600 is only emitted once backends/targets declare capabilities.
    unused = sorted(set(CODES) - set(_codes_in_source()) - {"E600"})
    assert not unused, f"codes in specc/codes.py that nothing emits: {unused}"


# ---- recovery --------------------------------------------------------------------------

SEVERAL_ERRORS = """\
model mlp {
    input 28x28
    flatten
    dens 512 relu
    dense 10 activaton=softmax
    dropout 1.5
}

data mnist_sample { scale 1/255 }

train {
    loss sparse_categorical_crossentropy
    optimizer adamm
    epochs 0
}
"""


def test_several_errors_are_all_reported(tmp_path: Path) -> None:
    spec = tmp_path / "several.nn"
    spec.write_text(SEVERAL_ERRORS)
    result = check(str(spec))
    _no_traceback(result)
    headers = re.findall(r"^error\[(E\d+)\]: (.*)$", result.output, re.M)
    lines = [int(n) for n in re.findall(r"^ +--> .*several\.nn:(\d+):", result.output, re.M)]
    assert [code for code, _ in headers] == ["E201", "E202", "E301", "E201", "E301"]
    assert lines == [4, 5, 6, 13, 14]
    assert "unknown layer `dens` in a model" in headers[0][1]
    assert result.output.rstrip().endswith("1 file checked: 5 errors, 0 warnings")
    assert result.exit_code == 1


def test_syntax_errors_on_several_lines_are_all_reported(tmp_path: Path) -> None:
    spec = tmp_path / "syntax.nn"
    lines = [
        "model m {",
        "input 28x28",
        "flatten ]",
        "dense 10 softmax",
        "@dropout 0.5",
        "dense 10 ]",
    ]
    spec.write_text("\n    ".join(lines) + "\n}\n")
    result = check(str(spec))
    _no_traceback(result)
    found = re.findall(r"^error\[(E\d+)\].*\n  --> .*:(\d+):(\d+)", result.output, re.M)
    assert found == [("E100", "3", "13"), ("E102", "5", "5"), ("E100", "6", "14")]
    assert result.exit_code == 1


# ---- hostile input: always exit 1 with a diagnostic, never a traceback -------------------


def _check_bytes(data: bytes, name: str = "junk.nn") -> Result:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(data)
        return check(str(path))


def _rejected(result: Result, code: str | None = None) -> None:
    _no_traceback(result)
    assert result.exit_code == 1, result.output
    assert re.search(r"^error\[E\d{3}\]: ", result.output, re.M), result.output
    if code is not None:
        assert f"error[{code}]" in result.output, result.output


@pytest.mark.timeout(60)
@pytest.mark.parametrize(
    ("data", "code"),
    [
        (bytes(range(256)) * 64, "E104"),  # binary junk with NUL bytes
        (b"\xff\xfe\x00m\x00o" * 1000, "E104"),  # UTF-16 text
        (b"model m {\n" + b"    dense 10\n" * 90_000 + b"}\n", "E103"),  # over 1 MB
        (b"{" * 10_000 + b"}" * 10_000, "E103"),  # 10,000-deep blocks
        (b"train { x=" + b"[" * 10_000 + b"]" * 10_000 + b" }", "E103"),  # deep brackets
        (b"model m { input 8; dense 10000000000 }", "E301"),
        (b"model m { input 8; repeat 1000 { repeat 1000 { repeat 1000 { dense 1 } } } }", "E405"),
        ("@ é ✓ \u202e\n".encode() * 7_000, "E102"),  # 35,000 characters no token starts with
        (b"dense = 3\n" * 9_000, "E100"),  # 9,000 syntax errors
        ("@ é ✓ \u202e\n".encode() * 50_000, "E103"),  # past the token limit: refused
    ],
    ids=[
        "binary",
        "utf16",
        "over-1MB",
        "deep-blocks",
        "deep-brackets",
        "huge-dense",
        "nested-repeats",
        "junk-text",
        "many-errors",
        "too-many-tokens",
    ],
)
def test_hostile_input_is_a_diagnostic(data: bytes, code: str) -> None:
    _rejected(_check_bytes(data), code)


@pytest.mark.timeout(120)
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_random_bytes_never_crash(data: bytes) -> None:
    _rejected(_check_bytes(data))  # no model/data/train blocks: always at least E204


SPEC_ALPHABET = st.sampled_from(
    ["model", "dense", "repeat", "input", "10", "0", "-1", "1/0", "3x3", "x", "=", "(", ")",
     "[", "]", ",", "{", "}", ";", "\n", " ", '"a', '"', "#", "relu", "name=a", "lr="]
)  # fmt: skip


@pytest.mark.timeout(120)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(SPEC_ALPHABET, max_size=40).map("".join))
def test_spec_like_noise_never_crashes(noise: str) -> None:
    """Noise inside an otherwise valid spec: any outcome but a traceback."""
    text = (
        f"model m {{\n    input 28x28\n    flatten\n    {noise}\n    dense 10 softmax\n}}\n"
        "data mnist_sample { scale 1/255 }\n"
        "train { loss sparse_categorical_crossentropy; epochs 1 }\n"
    )
    result = _check_bytes(text.encode())
    _no_traceback(result)
    assert result.exit_code in (0, 1)
    if result.exit_code == 1:
        assert re.search(r"^error\[E\d{3}\]: ", result.output, re.M)
