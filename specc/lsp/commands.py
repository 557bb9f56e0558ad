"""Code lenses over each model (check, summary, emit) and the `workspace/executeCommand`
commands behind them: the command line's `specc check`, `specc summary` and `specc emit`
for the file open in the editor, on its current text.

Each command answers with a result (for clients that use it) and tells the user through
`window/showMessage`; `specc.emit` writes the script next to the spec, as
`specc emit FILE -o <model>_<target>.py` would, and asks the editor to open it.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import from_fs_path

from specc.lsp.context import model_name
from specc.lsp.documents import DocState

CHECK, SUMMARY, EMIT = "specc.check", "specc.summary", "specc.emit"
DEFAULT_TARGET = "pytorch"


def code_lenses(state: DocState, uri: str) -> list[types.CodeLens]:
    """`check · summary · emit pytorch` above every model."""
    out: list[types.CodeLens] = []
    for stmt in state.analysis.document.statements:
        name = model_name(stmt)
        if name is None:
            continue
        where = state.index.range(stmt.keyword.span)
        for title, command, args in (
            ("check", CHECK, [uri]),
            ("summary", SUMMARY, [uri, name]),
            (f"emit {DEFAULT_TARGET}", EMIT, [uri, name, DEFAULT_TARGET]),
        ):
            out.append(
                types.CodeLens(
                    range=where, command=types.Command(title=title, command=command, arguments=args)
                )
            )
    return out


class CommandError(ValueError):
    """A command that cannot run on this file (the message says why)."""


def check(state: DocState) -> dict[str, Any]:
    errors = len(state.analysis.errors)
    warnings = len(state.analysis.diagnostics) - errors
    path = Path(state.analysis.path).name
    message = f"specc check {path}: {errors} error(s), {warnings} warning(s)"
    return {"errors": errors, "warnings": warnings, "message": message}


def summary(state: DocState, model: str) -> dict[str, Any]:
    """Per-layer shapes and parameters of one model, as `specc summary --model` gives."""
    from specc.summary import summarize_all

    _require_clean(state, model)
    (found,) = summarize_all(state.analysis.shapes, model)
    rows = [f"{'layer':<16} {'kind':<12} {'output':<12} {'params':>12}"]
    rows += [
        f"{r.name:<16} {r.kind:<12} {'x'.join(map(str, r.output)):<12} {r.params:>12,}"
        for r in found.layers
    ]
    shapes = state.analysis.shapes[model]
    head = f"{model}: {shapes.params:,} parameters"
    return {"model": found.to_json(), "message": head, "table": "\n".join(rows)}


def emit(state: DocState, model: str, target: str) -> dict[str, Any]:
    """Write `<model>_<target>.py` next to the spec (atomically) and say where."""
    from specc.emit import EmitError, UnknownTarget
    from specc.emit import emit as emit_script

    _require_clean(state, model)
    spec = Path(state.analysis.path)
    if not spec.is_absolute() or not spec.parent.is_dir():
        raise CommandError("specc emit: save the spec to a file first (the script goes next to it)")
    folder = spec.parent
    name = f"{model}_{target}.py"
    try:
        script = emit_script(state.analysis, target, model=model, script=name)
    except (EmitError, UnknownTarget) as err:
        raise CommandError(f"specc emit: {err}") from None
    path = folder / name
    _write_atomically(path, script)
    return {"path": str(path), "message": f"specc emit: wrote {path}"}


def _require_clean(state: DocState, model: str) -> None:
    if not state.analysis.ok:
        errors = len(state.analysis.errors)
        raise CommandError(f"the spec has {errors} error(s): fix them first (see Problems)")
    if model not in state.analysis.shapes:
        raise CommandError(f"no model named `{model}` in this file")


def _write_atomically(path: Path, text: str) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as out:
            out.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


COMMANDS: dict[str, Callable[..., dict[str, Any]]] = {
    CHECK: lambda state: check(state),
    SUMMARY: lambda state, model: summary(state, model),
    EMIT: lambda state, model, target=DEFAULT_TARGET: emit(state, model, target),
}


def run(state: DocState, command: str, args: list[Any]) -> dict[str, Any]:
    """Run one command on a document's current analysis; CommandError says what is wrong."""
    try:
        return COMMANDS[command](state, *args)
    except TypeError:
        raise CommandError(f"{command}: wrong arguments {args!r}") from None


def opened_path(result: dict[str, Any]) -> str | None:
    """The file a command's result asks the editor to show."""
    path = result.get("path")
    return from_fs_path(path) if isinstance(path, str) else None
