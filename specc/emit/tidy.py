"""Lay out a rendered script the way `ruff` would: its fixer, then its formatter.

Templates write code without caring where lines break or which optional import ends up
unused; ruff (a dependency of specc) then does what a person would do before committing:

1. `ruff check --fix --select I,F401`: imports sorted into stdlib / third-party groups,
   unused imports removed (a template may import `ops` for a branch the spec does not use);
2. `ruff format`: every line fitted into 100 columns exactly as the project's own code is;
   a call the template wrote one argument a line is joined when it fits (ruff's
   `skip-magic-trailing-comma`), so templates can always write the long form.

Both run on the text through stdin, with `--isolated` settings (the scripts' own line
length and Python version), so a user's ruff configuration never changes what specc emits.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
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
    """`text` (a Python script) with imports fixed and lines laid out by ruff."""
    return _ruff("format", *JOIN, text=_ruff("check", *FIXES, text=text))
