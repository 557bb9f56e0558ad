"""`specc fmt`: rewrite specs in the canonical layout (or, with --check/--diff, only report)."""

from __future__ import annotations

import difflib
import os
import sys
import tempfile
from dataclasses import dataclass

import click

from specc import syntax
from specc.cli.check import spec_files
from specc.diagnostics import Diagnostic, render
from specc.fmt import FormatError, format_text


@dataclass
class _Result:
    path: str
    before: str
    after: str | None  # None: could not be formatted (diagnostics say why)
    diagnostics: list[Diagnostic]
    problem: str | None = None  # a formatter bug caught by its self-check

    @property
    def changed(self) -> bool:
        return self.after is not None and self.after != self.before


def _read(path: str) -> bytes:
    if path == "-":
        return sys.stdin.buffer.read(syntax.MAX_BYTES * 4 + 1)
    try:
        with open(path, "rb") as handle:
            return handle.read(syntax.MAX_BYTES * 4 + 1)
    except OSError as err:
        raise click.UsageError(f"cannot read {path}: {err.strerror or err}") from err


def format_file(path: str) -> _Result:
    """Format one file's text in memory; nothing is written here."""
    text, bad = syntax.decode(_read(path))
    if bad is not None:
        return _Result(path, text, None, [bad])
    # Windows line endings are kept as the file had them; the layout itself uses "\n".
    crlf = "\r\n" in text
    try:
        after = format_text(text)
    except FormatError as err:
        return _Result(path, text, None, err.diagnostics)
    except RuntimeError as err:  # the formatter's self-check refused its own output
        return _Result(path, text, None, [], f"{path}: {err}; left untouched (please report this)")
    return _Result(path, text, after.replace("\n", "\r\n") if crlf else after, [])


def write_atomically(path: str, text: str) -> None:
    """Replace the file in one step: a crash leaves the old or the new text, never half."""
    target = os.path.realpath(path)  # through symlinks: replace the file, not the link
    folder = os.path.dirname(target) or "."
    fd, temp = tempfile.mkstemp(dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temp, os.stat(target).st_mode & 0o7777)
        os.replace(temp, target)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise


def _diff(result: _Result) -> str:
    assert result.after is not None
    lines = difflib.unified_diff(
        result.before.splitlines(keepends=True),
        result.after.splitlines(keepends=True),
        fromfile=f"{result.path} (original)",
        tofile=f"{result.path} (formatted)",
    )
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--check", is_flag=True, help="Only list files that would change (exit 1 if any).")
@click.option(
    "--diff", is_flag=True, help="Print a unified diff instead of rewriting (exit 1 if any)."
)
def fmt(files: tuple[str, ...], check: bool, diff: bool) -> None:
    """Rewrite specs in the canonical layout, keeping comments.

    FILES may be .nn files, folders (formatted recursively) or - (standard input to standard
    output). Files with syntax errors are reported and left untouched.
    """
    results = [format_file(p) for p in spec_files(files)]
    failed = [r for r in results if r.after is None]
    changed = [r for r in results if r.changed]
    unwritten: list[_Result] = []
    for result in failed:
        for diag in result.diagnostics:
            click.echo(render(diag, result.before, result.path) + "\n", err=True)
        if result.problem:
            click.echo(result.problem, err=True)
    for result in changed:
        if diff:
            click.echo(_diff(result), nl=False)
        elif check:
            click.echo(f"would reformat {result.path}")
        elif result.path != "-":
            try:
                write_atomically(result.path, result.after or "")
            except OSError as err:  # a full disk: the file keeps its old text
                click.echo(
                    f"error: cannot write {result.path}: {err.strerror or err}; "
                    "the file is unchanged",
                    err=True,
                )
                unwritten.append(result)
                continue
            click.echo(f"reformatted {result.path}", err=True)
    if not (check or diff):
        for result in results:
            if result.path == "-" and result.after is not None:
                click.echo(result.after, nl=False)
    verb = "would be reformatted" if check or diff else "reformatted"
    written = len(changed) - len(unwritten)
    summary = (
        f"{_plural(written, 'file')} {verb}, {len(results) - len(changed) - len(failed)} unchanged"
    )
    if failed:
        summary += f", {_plural(len(failed), 'file')} that could not be formatted"
    if unwritten:
        summary += f", {_plural(len(unwritten), 'file')} that could not be written"
    click.echo(summary, err=True)
    sys.exit(1 if failed or unwritten or ((check or diff) and changed) else 0)


COMMANDS = [fmt]
