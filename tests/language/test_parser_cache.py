"""The parser's tables kept between processes (specc/parser_cache.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from specc import parser_cache, resources
from specc.syntax import _BracketNewlines

ROOT = Path(__file__).resolve().parents[2]
OPTIONS = dict(parser="lalr", lexer="basic", propagate_positions=True, postlex=_BracketNewlines())
TEXT = "model m {\n    dense 10 relu\n    metrics [\n        accuracy]\n}\n"


@pytest.fixture
def cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    folder = tmp_path / "cache" / "parser"
    monkeypatch.setattr(parser_cache, "cache_dir", lambda: folder)
    return folder


def test_the_first_parser_writes_the_tables_the_next_one_loads(cache: Path) -> None:
    grammar = resources.grammar_text()
    built = parser_cache.cached_lark(grammar, **OPTIONS)
    (written,) = cache.iterdir()
    assert written.name.startswith("specc-") and written.suffix == ".lark"
    assert written.read_bytes().split(b"\n", 1)[0]  # Lark's hash line, then the tables
    before = written.stat().st_mtime_ns
    loaded = parser_cache.cached_lark(grammar, **OPTIONS)
    assert written.stat().st_mtime_ns == before  # read, not written again
    assert [p.name for p in cache.iterdir()] == [written.name]  # no temporary left
    assert loaded.parse(TEXT) == built.parse(TEXT)
    # The post-lexer given at load time still runs: newlines inside brackets are layout.
    assert "accuracy" in str(loaded.parse(TEXT))


def test_another_grammar_gets_its_own_file(cache: Path) -> None:
    grammar = resources.grammar_text()
    parser_cache.cached_lark(grammar, **OPTIONS)
    parser_cache.cached_lark(grammar + "\n// changed\n", **OPTIONS)
    assert len(list(cache.iterdir())) == 2


def test_a_damaged_file_is_rebuilt_not_trusted(cache: Path) -> None:
    grammar = resources.grammar_text()
    reference = parser_cache.cached_lark(grammar, **OPTIONS).parse(TEXT)
    (written,) = cache.iterdir()
    written.write_bytes(written.read_bytes()[:100])  # half a file
    assert parser_cache.cached_lark(grammar, **OPTIONS).parse(TEXT) == reference


def test_a_cache_folder_that_cannot_be_made_still_gives_a_parser(cache: Path) -> None:
    cache.parent.write_text("a file where the folder should be")
    parser = parser_cache.cached_lark(resources.grammar_text(), **OPTIONS)
    assert parser.parse(TEXT).data == "start"


def test_every_process_uses_the_same_file(tmp_path: Path) -> None:
    """The file's name may not depend on anything that changes between processes (the
    address of the comment callback, say), or each `specc check` would write a new one."""
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path), "PYTHONPATH": str(ROOT)}
    command = [
        sys.executable,
        "-c",
        "from specc.syntax import parse; parse('model m {\\n dense 1\\n}\\n')",
    ]
    subprocess.run(command, env=env, check=True)
    (written,) = (tmp_path / "specc" / "parser").iterdir()
    before = written.stat().st_mtime_ns
    subprocess.run(command, env=env, check=True)
    assert [p.name for p in (tmp_path / "specc" / "parser").iterdir()] == [written.name]
    assert written.stat().st_mtime_ns == before
