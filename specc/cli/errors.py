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
    code_shown: bool = False,
) -> NoReturn:
    """`code_shown`: the code was already printed (with the diagnostics), not again."""
    click.echo(headline(message, None if code_shown else code), err=True)
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
    shown = bool(err.diagnostics)
    fail(err.message, err.hint, err.exit_code, err.code, json_output, code_shown=shown)


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
    disk_full: str | None = None,
) -> Iterator[None]:
    """Inside it, a SpeccError or Ctrl-C becomes a message and an exit code; with
    `disk_full` (the hint), so does a failed write (a full disk, a read-only folder:
    files are written atomically, so nothing is half-written)."""
    try:
        yield
    except SpeccError as err:
        report(err, spec_path, json_output)
    except KeyboardInterrupt:
        fail("interrupted", interrupted, 130, None, json_output)
    except OSError as err:
        if disk_full is None:
            raise
        where = f" {err.filename}" if err.filename else ""
        fail(f"cannot write{where}: {err.strerror or err}", disk_full, 1, None, json_output)
