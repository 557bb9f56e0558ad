"""`specc summary` and `specc schema`: reports about a spec and about the language.

This module is imported on every `specc` start (the group registers its commands), so
rich, the summary and the schema code are imported inside the commands: `specc check`
stays fast.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING

import click

from specc.cli.check import load, one_spec, print_diagnostics

if TYPE_CHECKING:
    from specc.summary import ModelSummary


def _si(value: int, unit: str = "") -> str:
    """1_600_000 -> `1.6 M`: FLOPs read better rounded; exact numbers are in --json."""
    for factor, prefix in ((10**12, "T"), (10**9, "G"), (10**6, "M"), (10**3, "k")):
        if value >= factor:
            return f"{value / factor:.1f} {prefix}{unit}"
    return f"{value} {unit}".rstrip()


def _bytes(value: int) -> str:
    for factor, prefix in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= factor:
            return f"{value / factor:.1f} {prefix}"
    return f"{value} B"


def _shape(shape: tuple[int, ...]) -> str:
    return "x".join(map(str, shape))


def _print_tables(summaries: list[ModelSummary]) -> None:
    from rich.console import Console
    from rich.table import Table

    # Piped output gets a fixed width so the table never wraps differently per terminal.
    console = Console(width=None if sys.stdout.isatty() else 110, highlight=False)
    for summary in summaries:
        source = _shape(summary.input)
        if len(summary.inputs) > 1:
            source = ", ".join(f"{name} {_shape(shape)}" for name, shape in summary.inputs)
        table = Table(
            title=f"model {summary.name}: {source} -> {_outputs(summary)}",
            title_justify="left",
            show_footer=True,
        )
        totals = summary.totals
        table.add_column("layer", footer="total")
        table.add_column("kind")
        if summary.graph:
            table.add_column("reads")
        table.add_column("output", justify="right")
        table.add_column("params", justify="right", footer=f"{totals.params:,}")
        table.add_column("frozen", justify="right", footer=f"{totals.frozen_params:,}")
        table.add_column("FLOPs", justify="right", footer=_si(totals.flops))
        table.add_column("activations", justify="right", footer=_bytes(totals.activation_bytes))
        for row in summary.layers:
            reads = [", ".join(row.reads)] if summary.graph else []
            table.add_row(
                row.name,
                row.kind,
                *reads,
                _shape(row.output),
                f"{row.params:,}",
                f"{row.frozen_params:,}" if row.frozen_params else "",
                _si(row.flops),
                _bytes(row.activation_bytes),
            )
        console.print(table)
        console.print(
            f"params: {totals.params:,} ({totals.trainable_params:,} trainable, "
            f"{totals.frozen_params:,} frozen), {_bytes(totals.param_bytes)} as fp32\n"
            f"per example: {totals.flops:,} FLOPs, "
            f"{_bytes(totals.activation_bytes)} of activations\n"
        )


@click.command()
@click.argument("file")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.option("--model", "model", metavar="NAME", help="Only this model (default: all).")
def summary(file: str, as_json: bool, model: str | None) -> None:
    """Per-layer output shapes, parameters, FLOPs and activation memory of every model.

    FLOPs and activation memory are per example (multiply-add = 2 FLOPs; fp32 values).
    """
    from specc.summary import summarize_all

    analysis = load(one_spec(file, "summary"))
    if not analysis.ok:
        print_diagnostics(analysis)
        sys.exit(1)
    names = [m.name for m in analysis.spec.models]
    if model is not None and model not in names:
        known = ", ".join(names) or "none"
        raise click.UsageError(f"no model named {model!r} in {file}; models: {known}")
    summaries = summarize_all(analysis.shapes, model)
    if as_json:
        payload = {"file": analysis.path, "models": [s.to_json() for s in summaries]}
        click.echo(json.dumps(payload, indent=2))
    else:
        _print_tables(summaries)


@click.command()
@click.option(
    "--draft",
    type=click.Choice(["2020-12", "07"]),
    default="2020-12",
    show_default=True,
    help="JSON Schema draft (07 for YAML tooling that stops there).",
)
@click.option("-o", "--output", type=click.Path(dir_okay=False), help="Write to this file.")
def schema(draft: str, output: str | None) -> None:
    """The JSON Schema of the spec IR (what `specc ir` prints)."""
    from specc.schema import dumps

    text = dumps(draft)
    if output is None:
        click.echo(text, nl=False)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as err:
        raise click.UsageError(f"cannot write {output}: {err.strerror or err}") from err


COMMANDS = [summary, schema]


def _outputs(summary: ModelSummary) -> str:
    """The output's shape, or each named output's: `kind 6, big 1`."""
    if not summary.outputs:
        return _shape(summary.output)
    return ", ".join(f"{name} {_shape(shape)}" for name, shape in summary.outputs)
