"""`specc check`, `specc ir`, `specc explain`: reading specs without running anything."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from specc.analysis import MAX_DIAGNOSTICS, Analysis, analyze_file
from specc.codes import CODES
from specc.codes import explain as explain_code
from specc.diagnostics import Diagnostic, render


def spec_files(paths: tuple[str, ...]) -> list[str]:
    """Expand folders to the .nn files inside; a missing path is a usage error."""
    out: list[str] = []
    for raw in paths:
        if raw == "-":
            out.append(raw)
            continue
        path = Path(raw)
        if path.is_dir():
            found = sorted(str(p) for p in path.rglob("*.nn"))
            if not found:
                raise click.UsageError(f"no .nn files in folder {raw}")
            out.extend(found)
        elif path.exists():
            out.append(raw)
        else:
            raise click.UsageError(f"no such file: {raw}")
    return out


def one_spec(raw: str, command: str) -> str:
    """The single spec file `command` reads: a folder is a usage error naming its specs.

    (`check` and `fmt` take folders; `summary`, `ir` and `emit` print one spec's answer.)
    """
    if Path(raw).is_dir():
        found = sorted(p.name for p in Path(raw).glob("*.nn"))
        listed = ", ".join(found[:3]) + (", ..." if len(found) > 3 else "")
        which = f": one of {listed}" if found else ""
        raise click.UsageError(f"{raw} is a folder; `specc {command}` reads one spec file{which}")
    return spec_files((raw,))[0]


def load(path: str) -> Analysis:
    try:
        return analyze_file(path)
    except OSError as err:
        raise click.UsageError(f"cannot read {path}: {err.strerror or err}") from err


def print_diagnostics(analysis: Analysis, stream: object = None) -> None:
    out = stream or sys.stderr
    for diag in analysis.diagnostics:
        click.echo(render(diag, analysis.text, analysis.path) + "\n", file=out)  # type: ignore[arg-type]
    hidden = analysis.hidden_errors + analysis.hidden_warnings
    if hidden:
        click.echo(
            f"note: {analysis.path} has {hidden:,} more problem{'s' if hidden != 1 else ''} "
            f"({_counts(analysis.hidden_errors, analysis.hidden_warnings)}) not shown; "
            f"at most {MAX_DIAGNOSTICS} are shown per file\n",
            file=out,  # type: ignore[arg-type]
        )


def _counts(errors: int, warnings: int) -> str:
    return (
        f"{errors:,} error{'s' if errors != 1 else ''}, "
        f"{warnings:,} warning{'s' if warnings != 1 else ''}"
    )


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option(
    "--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True
)
@click.option("--strict", is_flag=True, help="Treat warnings as problems (exit 1).")
@click.option("--target", help="Also check what this emit target can express (`specc targets`).")
@click.option("--backend", help="Also check what this `specc run` backend can train.")
def check(
    files: tuple[str, ...], fmt: str, strict: bool, target: str | None, backend: str | None
) -> None:
    """Check specs for errors and classic mistakes, without running anything.

    FILES may be .nn files, folders (checked recursively) or - for standard input.
    """
    paths = spec_files(files)
    results = [load(p) for p in paths]
    for analysis in results:
        if analysis.ok and (target or backend):
            analysis.diagnostics.extend(capability_diagnostics(analysis, target, backend))
    problems = sum(a.error_count + (a.warning_count if strict else 0) for a in results)
    if fmt == "json":
        payload = [d.to_json(a.path) for a in results for d in a.diagnostics]
        click.echo(json.dumps(payload, indent=2))
    else:
        for analysis in results:
            print_diagnostics(analysis, sys.stdout)
        errors = sum(a.error_count for a in results)
        warnings = sum(a.warning_count for a in results)
        summary = f"{len(results)} file{'s' if len(results) != 1 else ''} checked: "
        click.echo(summary + _counts(errors, warnings), err=True)
    sys.exit(1 if problems else 0)


def capability_diagnostics(
    analysis: Analysis, target: str | None, backend: str | None
) -> list[Diagnostic]:
    """E600/E601 for an emit target and/or a run backend (neither imports a framework)."""
    out: list[Diagnostic] = []
    if target:
        from specc.emit import UnknownTarget
        from specc.lowering.capabilities import search_spaces, unsupported

        try:
            out.extend(search_spaces(analysis) + unsupported(analysis, target))
        except UnknownTarget as err:
            raise click.UsageError(str(err)) from err
    if backend:
        import importlib

        from specc.errors import PlanError, RunError
        from specc.executors import BACKENDS, backend_name
        from specc.plan import RunOptions, make_plan

        key = backend_name(backend)
        if key not in BACKENDS:
            raise click.BadParameter(
                f"choose one of: {', '.join(sorted(BACKENDS))}", param_hint="--backend"
            )
        try:
            plan = make_plan(analysis, RunOptions(backend=key))
        except PlanError as err:  # search spaces (E601): what `specc run` will say
            return out + list(err.diagnostics)
        except RunError:
            return out
        out.extend(importlib.import_module(BACKENDS[key]).unsupported(plan))
    return out


@click.command(name="ir")
@click.argument("file")
@click.option("--spans/--no-spans", default=False, help="Include source positions.")
def ir_command(file: str, spans: bool) -> None:
    """Print the validated IR of a spec as JSON."""
    from specc.ir import strip_spans

    analysis = load(one_spec(file, "ir"))
    if not analysis.ok:
        print_diagnostics(analysis)
        sys.exit(1)
    data = analysis.spec.model_dump(mode="json")
    click.echo(json.dumps(data if spans else strip_spans(data), indent=2))


@click.command()
@click.argument("code", required=False)
def explain(code: str | None) -> None:
    """Explain a diagnostic code (e.g. E402); without CODE, list them all."""
    if code is None:
        for item in CODES.values():
            click.echo(f"{item.code}  {item.title}")
        return
    found = explain_code(code)
    if found is None:
        raise click.UsageError(f"unknown code {code!r}; `specc explain` lists them")
    click.echo(f"{found.code}: {found.title}\n{found.explanation.rstrip()}")


COMMANDS = [check, ir_command, explain]
