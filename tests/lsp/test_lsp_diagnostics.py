"""Diagnostics from a real `specc lsp` over stdio: ranges, codes, related places, updates
after incremental edits, pull and push, UTF-16 columns, and parity with `specc check`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from lsp_client import FIXTURES, Session
from lsprotocol import types

ROOT = Path(__file__).resolve().parents[2]


def _decodes(path: Path) -> bool:
    try:
        path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError:
        return False
    return True


# Every spec the repository holds: examples, these tests' fixtures, the diagnostics and
# formatter fixtures. The server receives decoded text, so files that are not UTF-8 (the
# E104 fixture) are the CLI's business alone.
ALL_SPECS = [
    p
    for folder in (ROOT / "specs", FIXTURES, ROOT / "tests" / "fixtures")
    for p in sorted(folder.rglob("*.nn"))
    if _decodes(p)
]


def _ranges(diags: list[types.Diagnostic]) -> list[tuple[str, int, int, int, int]]:
    return [
        (
            str(d.code),
            d.range.start.line,
            d.range.start.character,
            d.range.end.line,
            d.range.end.character,
        )
        for d in diags
    ]


def test_open_reports_every_mistake_with_its_range(push: Session, uri: str) -> None:
    push.open(uri, (FIXTURES / "typos.nn").read_text())
    diags = push.diagnostics(uri)
    assert _ranges(diags) == [
        ("E201", 3, 4, 3, 10),  # flaten
        ("E202", 4, 19, 4, 28),  # activaton
        ("E305", 5, 26, 5, 39),  # glorot_unifrm
        ("E201", 15, 14, 15, 18),  # adma
    ]
    first = diags[0]
    assert first.severity == types.DiagnosticSeverity.Error
    assert first.source == "specc"
    assert first.message == "unknown layer `flaten` in a model\nhelp: did you mean `flatten`?"
    # No link to a web page that does not exist: the explanation is a hover away.
    assert first.code_description is None
    assert first.data["explain"] == "specc explain E201"


def test_incremental_edits_update_the_diagnostics(push: Session, uri: str) -> None:
    push.open(uri, (FIXTURES / "typos.nn").read_text())
    assert len(push.diagnostics(uri)) == 4
    push.change(uri, (3, 4), (3, 10), "flatten")  # fix `flaten`
    assert [d.code for d in push.diagnostics(uri)] == ["E202", "E305", "E201"]
    push.change(uri, (15, 14), (15, 18), "adam")  # fix `adma`
    push.change(uri, (4, 19), (4, 28), "activation")  # `activation=` given twice now
    after = push.diagnostics(uri)
    assert _ranges(after)[0][0] == "E203"
    assert after[0].message.startswith("`activation` is given twice")
    assert [d.code for d in after] == ["E203", "E305"]


def test_syntax_errors_are_all_reported(push: Session, uri: str) -> None:
    push.open(uri, (FIXTURES / "syntax.nn").read_text())
    found = _ranges(push.diagnostics(uri))
    assert [r for r in found if r[0].startswith("E10")] == [
        ("E100", 4, 10, 4, 11),  # `=`
        ("E100", 5, 21, 5, 22),  # `)`
        ("E101", 10, 0, 10, 0),  # the end of the file, with `model {` still open
    ]
    assert ("E201", 8, 0, 8, 5) in found  # `train` read as a statement of the open model


def test_shape_mismatch_points_at_both_ends(pull: Session, uri: str) -> None:
    pull.open(uri, (FIXTURES / "missing_flatten.nn").read_text())
    (diag,) = pull.diagnostics(uri)
    assert diag.code == "E402"
    assert (diag.range.start.line, diag.range.start.character) == (5, 4)
    (related,) = diag.related_information or []
    assert related.location.uri == uri
    assert related.location.range == types.Range(
        start=types.Position(line=4, character=4), end=types.Position(line=4, character=15)
    )
    assert related.message == "`maxpool2d_1` gives 16x13x13"


def test_pull_sees_each_edit(pull: Session, uri: str) -> None:
    pull.open(uri, (FIXTURES / "missing_flatten.nn").read_text())
    assert [d.code for d in pull.diagnostics(uri)] == ["E402"]
    pull.change(uri, (5, 0), (5, 0), "    flatten\n")
    assert pull.diagnostics(uri) == []
    assert not pull.published, "a pull client must not also get pushed diagnostics"


def test_columns_count_utf16_units(push: Session, uri: str) -> None:
    text = (FIXTURES / "unicode.nn").read_text()
    push.open(uri, text)
    (diag,) = push.diagnostics(uri)
    line = text.splitlines()[2]
    python_column = line.index("strict")
    assert diag.code == "E300"
    # `😀` is one code point but two UTF-16 units; `ü` and `ï` are one of each.
    assert diag.range.start == types.Position(line=2, character=python_column + 1)
    assert diag.range.end.character == len(line) + 1


def test_edits_after_non_ascii_text_land_in_the_right_place(push: Session, uri: str) -> None:
    text = (FIXTURES / "unicode.nn").read_text()
    push.open(uri, text)
    (diag,) = push.diagnostics(uri)
    push.change(uri, (2, diag.range.start.character + 7), (2, diag.range.end.character), "false")
    assert push.diagnostics(uri) == []  # `strict=maybe` became `strict=false`, nothing else moved


def _cli_json(paths: list[Path]) -> list[dict[str, object]]:
    out = subprocess.run(
        [sys.executable, "-m", "specc", "check", "--format", "json", *map(str, paths)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode in (0, 1), out.stderr
    result: list[dict[str, object]] = json.loads(out.stdout)
    return result


def _from_cli(item: dict[str, object], lines: list[str]) -> tuple[object, ...]:
    def pos(point: dict[str, int]) -> tuple[int, int]:
        """1-based line and code-point column to 0-based line and UTF-16 column."""
        line = point["line"] - 1
        prefix = lines[line][: point["column"] - 1] if line < len(lines) else ""
        return line, len(prefix.encode("utf-16-le")) // 2

    rng = item["range"]
    help_text = item["help"]
    return (
        item["code"],
        item["severity"],
        str(item["message"]) + (f"\nhelp: {help_text}" if help_text else ""),
        pos(rng["start"]),  # type: ignore[index]
        pos(rng["end"]),  # type: ignore[index]
        [(pos(r["range"]["start"]), pos(r["range"]["end"]), r["message"]) for r in item["related"]],  # type: ignore[attr-defined]
    )


_SEVERITY = {1: "error", 2: "warning", 3: "info"}


def _from_server(diag: types.Diagnostic) -> tuple[object, ...]:
    def pos(point: types.Position) -> tuple[int, int]:
        return point.line, point.character

    return (
        diag.code,
        _SEVERITY[int(diag.severity or 1)],
        diag.message,
        pos(diag.range.start),
        pos(diag.range.end),
        [
            (pos(r.location.range.start), pos(r.location.range.end), r.message)
            for r in diag.related_information or []
        ],
    )


def test_server_and_cli_agree_on_every_fixture(pull: Session) -> None:
    assert len(ALL_SPECS) >= 60
    cli = _cli_json(ALL_SPECS)
    assert any(item["related"] for item in cli) and any(
        item["severity"] == "warning" for item in cli
    )
    for path in ALL_SPECS:
        text = path.read_bytes().decode("utf-8-sig")
        uri = path.as_uri()
        pull.open(uri, text)
        server = [_from_server(d) for d in pull.diagnostics(uri)]
        lines = text.split("\n")
        expected = [_from_cli(item, lines) for item in cli if item["file"] == str(path)]
        assert server == expected, path.name
