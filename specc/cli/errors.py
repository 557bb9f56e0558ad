"""The one way the command line reports a user's mistake: never a traceback.

Every user-facing error is a `specc.errors.SpeccError` (data, run, plan, emit, usage). This
prints its located diagnostics (rendered like `specc check`), then `error[CODE]: message`
(`error: message` when the problem has no diagnostic code) and the hint, and exits with the
error's code: 1 when the job failed, 2 for usage mistakes, 130 when interrupted. With
`--json` the same facts also go to stdout as one JSON object, so a tool reading stdout
always gets an answer: `{"error": {"code", "message", "hint", "exit_code"}}`.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from specc.errors import SpeccError


def headline(message: str, code: str | None = None) -> str:
    return f"error[{code}]: {message}" if code else f"error: {message}"


def fail(
    message: str,
    hint: str | None,
    exit_code: int,
    code: str | None = None,
    json_output: bool = False,
) -> NoReturn:
    click.echo(headline(message, code), err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    if json_output:
        error = {"code": code, "message": message, "hint": hint, "exit_code": exit_code}
        click.echo(json.dumps({"error": error}))
    sys.exit(exit_code)


def report(err: SpeccError, spec_path: str | None = None, json_output: bool = False) -> NoReturn:
    """Print `err` on stderr (and as JSON on stdout) and exit with its code. Diagnostics
    are rendered against the spec the error names, else `spec_path` (the command's file)."""
    if err.diagnostics:
        from specc.diagnostics import render

        path, text = err.source or (spec_path or "<spec>", _read(spec_path))
        for diag in err.diagnostics:
            click.echo(render(diag, text, path) + "\n", err=True)
    fail(err.message, err.hint, err.exit_code, err.code, json_output)


def _read(path: str | None) -> str:
    try:
        return open(path, encoding="utf-8", errors="replace").read() if path else ""
    except OSError:
        return ""


@contextmanager
def guarded(
    spec_path: str | None = None,
    interrupted: str = "re-run the same command to continue",
    json_output: bool = False,
) -> Iterator[None]:
    """Inside it, a SpeccError or Ctrl-C becomes a message and an exit code."""
    try:
        yield
    except SpeccError as err:
        report(err, spec_path, json_output)
    except KeyboardInterrupt:
        fail("interrupted", interrupted, 130, None, json_output)
