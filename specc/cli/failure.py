"""How every command reports a failed job: one located line and a hint, never a traceback.

`error[E400]: ...` when the problem has a diagnostic code, `error: ...` otherwise; with
`--json` the same facts also go to stdout as one JSON object, so a tool that reads stdout
always gets an answer (`{"error": {"code", "message", "hint", "exit_code"}}`).
"""

from __future__ import annotations

import json
import sys
from typing import NoReturn

import click


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
