"""Lay out a rendered script the way `ruff` would: its fixer, then its formatter.

Templates write code without caring where lines break or which optional import ends up
unused; ruff (a dependency of specc) then does what a person would do before committing:

1. `ruff check --fix --select I,F401`: imports sorted into stdlib / third-party groups,
   unused imports removed (a template may import `ops` for a branch the spec does not use);
2. `ruff format`: every line fitted into 100 columns exactly as the project's own code is;
   a call the template wrote one argument a line is joined when it fits (ruff's
   `skip-magic-trailing-comma`), so templates can always write the long form;
3. comment lines still over 100 columns (a long spec value inside one) are broken at spaces.

Both run on the text through stdin, with `--isolated` settings (the scripts' own line
length and Python version), so a user's ruff configuration never changes what specc emits.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import unicodedata
from pathlib import Path

LINE_LENGTH = 100
"""The scripts' line length (ruff's settings in the repository and in tests/emit/)."""

SETTINGS = ("--isolated", "--line-length", str(LINE_LENGTH), "--target-version", "py310")
FIXES = ("--select", "I,F401", "--fix-only", "--exit-zero")


class RuffMissing(RuntimeError):
    """The ruff executable (a dependency of specc) cannot be found."""


@functools.cache
def ruff_executable() -> str:
    """The `ruff` installed with specc: next to this interpreter, else on PATH."""
    name = "ruff.exe" if os.name == "nt" else "ruff"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    try:
        from ruff.__main__ import find_ruff_bin  # the ruff wheel's own lookup
    except ImportError:
        found = None
    else:
        try:
            found = find_ruff_bin()
        except FileNotFoundError:
            found = None
    found = found or shutil.which("ruff")
    if not found:
        raise RuffMissing(
            "`specc emit` lays scripts out with ruff, which is not installed: "
            "`pip install ruff` (it is a dependency of specc)"
        )
    return str(found)


def _ruff(*args: str, text: str) -> str:
    done = subprocess.run(
        [ruff_executable(), *args, *SETTINGS, "--stdin-filename", "script.py", "-"],
        input=text,
        capture_output=True,
        text=True,
        encoding="utf-8",
        check=False,
    )
    if done.returncode != 0:  # a template wrote invalid Python: a bug in specc, say where
        raise RuntimeError(f"ruff {args[0]} failed on an emitted script:\n{done.stderr}")
    return done.stdout


# A call the template wrote across lines with a trailing comma is joined when it fits.
JOIN = (
    "--config",
    "format.skip-magic-trailing-comma = true",
    "--config",
    "lint.isort.split-on-trailing-comma = false",  # else ruff warns the two disagree
)


def tidy(text: str) -> str:
    """`text` (a Python script) with imports fixed and lines laid out by ruff, and
    comment lines that ruff leaves long wrapped."""
    return comments(_ruff("format", *JOIN, text=_ruff("check", *FIXES, text=text)))


def comments(text: str) -> str:
    """Code whose `#` comment lines over 100 columns are broken at spaces, each
    continuation a comment at the same indentation (a spec value inside a comment has
    any length); code lines are left to ruff."""
    out = []
    for line in str(text).split("\n"):
        body = line.lstrip(" ")
        if not body.startswith("# ") or width(line) <= LINE_LENGTH:
            out.append(line)
            continue
        prefix = line[: len(line) - len(body)] + "#"
        current = prefix
        for word in body[2:].split():
            if current != prefix and width(f"{current} {word}") > LINE_LENGTH:
                out.append(current)
                current = prefix
            current = f"{current} {word}"
        out.append(current)
    return "\n".join(out)


def width(text: str) -> int:
    """Columns `text` takes as ruff measures lines (wide East Asian characters: two)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
