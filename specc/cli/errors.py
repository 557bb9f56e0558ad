"""The one way the command line reports a user's mistake: never a traceback.

Every user-facing error is a `specc.errors.SpeccError` (data, run, plan, emit, usage). This
prints its located diagnostics (rendered like `specc check`), then `error: message` and the
hint, and exits with the error's code: 1 when the job failed, 2 for usage mistakes.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from specc.errors import SpeccError


def report(err: SpeccError, spec_path: str | None = None) -> NoReturn:
    """Print `err` on stderr and exit with its code. Diagnostics are rendered against the
    spec the error names, else `spec_path` (the file the command was given)."""
    if err.diagnostics:
        from specc.diagnostics import render

        path, text = err.source or (spec_path or "<spec>", _read(spec_path))
        for diag in err.diagnostics:
            click.echo(render(diag, text, path) + "\n", err=True)
    fail(err.message, err.hint, err.exit_code)


def fail(message: str, hint: str | None, code: int) -> NoReturn:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    sys.exit(code)


def _read(path: str | None) -> str:
    try:
        return open(path, encoding="utf-8", errors="replace").read() if path else ""
    except OSError:
        return ""


@contextmanager
def guarded(
    spec_path: str | None = None, interrupted: str = "re-run the same command to continue"
) -> Iterator[None]:
    """Inside it, a SpeccError or Ctrl-C becomes a message and an exit code."""
    try:
        yield
    except SpeccError as err:
        report(err, spec_path)
    except KeyboardInterrupt:
        fail("interrupted", interrupted, 130)
