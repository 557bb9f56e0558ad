"""`specc fmt`: fixture pairs, idempotence, IR preservation, refusal on syntax errors, the CLI.

Fixtures are data: `tests/fixtures/fmt/NAME.nn` (messy) formats to `NAME.expected.nn`.
To regenerate an expected file after an intended layout change:
    python -c "from specc.fmt import format_text as f; import sys; p=sys.argv[1];
    open(p[:-3] + '.expected.nn', 'w').write(f(open(p).read()))" tests/fixtures/fmt/NAME.nn
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
from click.testing import CliRunner

from specc.analysis import analyze
from specc.cli import main
from specc.fmt import FormatError, format_text
from specc.ir import strip_spans

ROOT = Path(__file__).resolve().parents[2]
FIXTURES = ROOT / "tests" / "fixtures" / "fmt"
PAIRS = sorted(p for p in FIXTURES.glob("*.nn") if not p.name.endswith(".expected.nn"))
SPECS = sorted((ROOT / "specs").glob("*.nn"))

MESSY = "model m {  input 8 ; dense 1 }\ndata synthetic binary features=8\ntrain { loss bce }\n"
TIDY = "model m {\n    input 8\n    dense 1\n}\n\ndata synthetic binary features=8\n\ntrain {\n    loss bce\n}\n"


def _same_ir(a: str, b: str) -> bool:
    return bool(strip_spans(analyze(a).spec) == strip_spans(analyze(b).spec))


def test_every_fixture_has_an_expected_file() -> None:
    assert len(PAIRS) >= 5
    for path in PAIRS:
        assert path.with_suffix(".expected.nn").exists(), path


@pytest.mark.parametrize("path", PAIRS, ids=lambda p: p.stem)
def test_fixture_formats_to_expected(path: Path) -> None:
    messy = path.read_text()
    expected = path.with_suffix(".expected.nn").read_text()
    assert format_text(messy) == expected
    assert format_text(expected) == expected
    assert analyze(expected).ok, analyze(expected).diagnostics
    assert _same_ir(messy, expected)


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.stem)
def test_specs_are_idempotent_and_keep_their_ir(path: Path) -> None:
    text = path.read_text()
    once = format_text(text)
    assert format_text(once) == once
    assert _same_ir(text, once)
    # Every comment of the spec survives, in order.
    assert [ln.strip() for ln in text.splitlines() if ln.strip().startswith("#")] == [
        ln.strip() for ln in once.splitlines() if ln.strip().startswith("#")
    ]


def test_syntax_errors_are_refused_with_their_diagnostics() -> None:
    with pytest.raises(FormatError) as err:
        format_text("model m {\n    dense 10 ]\n}\n")
    assert [d.code for d in err.value.diagnostics] == ["E100"]
    assert err.value.diagnostics[0].span.line == 2
    with pytest.raises(FormatError) as unclosed:
        format_text("model m {\n    dense 10\n")
    assert [d.code for d in unclosed.value.diagnostics] == ["E101"]


def test_small_cases() -> None:
    assert format_text("") == ""
    assert format_text("\n\n  \n") == ""
    assert (
        format_text("# only a comment   \n\n\n# and another")
        == "# only a comment\n\n# and another\n"
    )
    assert format_text(MESSY) == TIDY
    # `#` inside a string is text, not a comment; strings keep their quotes and escapes.
    assert format_text("init from 'a#b'  # c") == "init from 'a#b'  # c\n"
    assert format_text('x "q\\"t"') == 'x "q\\"t"\n'
    # Empty blocks, empty lists and calls, trailing commas.
    assert format_text("model m {}") == "model m {\n}\n"
    assert format_text("x [ ] f( ) [1,2,]") == "x [] f() [1, 2]\n"
    # CRLF input gives LF output with the same content.
    assert format_text(MESSY.replace("\n", "\r\n")) == TIDY


def test_comment_before_a_closing_brace_of_an_empty_block() -> None:
    assert format_text("model m {\n\n   # nothing yet\n}\n") == "model m {\n    # nothing yet\n}\n"


# ---- the command -----------------------------------------------------------------------


def _run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(main, ["fmt", *args], input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_fmt_rewrites_in_place_atomically(tmp_path: Path) -> None:
    spec = tmp_path / "a.nn"
    spec.write_text(MESSY)
    spec.chmod(0o640)
    tidy = tmp_path / "sub" / "b.nn"
    tidy.parent.mkdir()
    tidy.write_text(TIDY)
    code, _, err = _run(str(tmp_path))
    assert code == 0
    assert spec.read_text() == TIDY
    assert stat.S_IMODE(os.stat(spec).st_mode) == 0o640
    assert f"reformatted {spec}" in err
    assert "1 file reformatted, 1 unchanged" in err
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == ["a.nn", "b.nn"]
    code, _, err = _run(str(tmp_path))
    assert code == 0 and "0 files reformatted, 2 unchanged" in err


def test_fmt_check_lists_files_and_changes_nothing(tmp_path: Path) -> None:
    messy, tidy = tmp_path / "a.nn", tmp_path / "b.nn"
    messy.write_text(MESSY)
    tidy.write_text(TIDY)
    code, out, _ = _run("--check", str(messy), str(tidy))
    assert code == 1
    assert out == f"would reformat {messy}\n"
    assert messy.read_text() == MESSY
    assert _run("--check", str(tidy))[0] == 0


def test_fmt_diff_prints_a_unified_diff(tmp_path: Path) -> None:
    spec = tmp_path / "a.nn"
    spec.write_text("model m {\n  input 8\n}\n")
    code, out, _ = _run("--diff", str(spec))
    assert code == 1
    assert f"--- {spec} (original)\n+++ {spec} (formatted)\n" in out
    assert "-  input 8\n+    input 8\n" in out
    assert spec.read_text() == "model m {\n  input 8\n}\n"
    spec.write_text(TIDY)
    assert _run("--diff", str(spec)) == (0, "", "0 files would be reformatted, 1 unchanged\n")


def test_fmt_leaves_files_with_syntax_errors_untouched(tmp_path: Path) -> None:
    bad, good = tmp_path / "bad.nn", tmp_path / "good.nn"
    bad.write_text("model m {\n  dense 10 ]\n}\n")
    good.write_text(MESSY)
    code, _, err = _run(str(bad), str(good))
    assert code == 1
    assert "error[E100]: unexpected `]`" in err
    assert f"--> {bad}:2:12" in err
    assert "1 file that could not be formatted" in err
    assert bad.read_text() == "model m {\n  dense 10 ]\n}\n"
    assert good.read_text() == TIDY  # the others are still formatted


def test_fmt_keeps_windows_line_endings(tmp_path: Path) -> None:
    spec = tmp_path / "a.nn"
    spec.write_bytes(MESSY.replace("\n", "\r\n").encode())
    assert _run(str(spec))[0] == 0
    assert spec.read_bytes() == TIDY.replace("\n", "\r\n").encode()


def test_fmt_stdin_to_stdout_and_usage_errors(tmp_path: Path) -> None:
    assert _run("-", stdin=MESSY)[:2] == (0, TIDY)
    code, _, err = _run(str(tmp_path / "missing.nn"))
    assert code == 2 and "no such file" in err


def test_fmt_reports_files_that_are_not_text(tmp_path: Path) -> None:
    spec = tmp_path / "a.nn"
    spec.write_bytes(b"model \xe9 {\n}\n")
    code, _, err = _run(str(spec))
    assert code == 1 and "error[E104]: the file is not UTF-8 text" in err
    assert spec.read_bytes() == b"model \xe9 {\n}\n"


def test_a_formatter_bug_leaves_the_file_untouched(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import specc.fmt

    # Simulate a layout bug that drops a statement: the self-check must refuse the output.
    monkeypatch.setattr(specc.fmt, "layout", lambda statements, notes=None: "model m {\n}\n")
    with pytest.raises(RuntimeError, match="does not match the input"):
        format_text(TIDY)
    spec = tmp_path / "a.nn"
    spec.write_text(MESSY)
    code, _, err = _run(str(spec))
    assert code == 1 and "left untouched (please report this)" in err
    assert spec.read_text() == MESSY


def test_fmt_imports_no_framework() -> None:
    import subprocess
    import sys

    probe = "import sys, specc.cli.fmt, specc.fmt, specc.unparse; print(sorted({'torch', 'tensorflow', 'mindspore'} & set(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
