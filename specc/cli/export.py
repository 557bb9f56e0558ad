"""`specc export`: a run's model as ONNX, torch.export, SavedModel or .keras, verified. Thin."""

from __future__ import annotations

import sys

import click

FORMAT_CHOICES = ["onnx", "torch", "savedmodel", "keras"]


@click.command(name="export")
@click.argument("run_dir", metavar="RUN")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMAT_CHOICES),
    required=True,
    help="onnx or torch (.pt2) for PyTorch runs; savedmodel or keras for TensorFlow runs.",
)
@click.option(
    "-o", "--out", default=None, metavar="DIR", help="Export folder (default RUN/export/FORMAT)."
)
@click.option(
    "--legacy-onnx",
    is_flag=True,
    help="Use torch's older TorchScript-based ONNX exporter instead of the dynamo one.",
)
def export(run_dir: str, fmt: str, out: str | None, legacy_onnx: bool) -> None:
    """Export the model of the finished run RUN and verify it numerically.

    Writes the artifact and export.json (input shape, preprocessing, classes, versions)
    into one folder, only after the artifact, loaded back, matches the run's model on
    held-out examples. Exit 1 when verification fails (nothing is written), 2 on usage errors.
    """
    from specc.cli.errors import report
    from specc.data import DataError
    from specc.errors import RunError
    from specc.export import export as run_export

    try:
        done = run_export(run_dir, fmt, out, legacy_onnx=legacy_onnx)
    except RunError as err:
        if err.diagnostics:  # located (E600: what the format cannot hold), like `specc check`
            report(err)
        _fail(err.message, err.hint, err.exit_code)
    except DataError as err:
        _fail(err.message, err.hint, 1)
    checks = ", ".join(
        f"batch {c.batch}{'' if c.output is None else ' ' + c.output}: max |diff| {c.max_abs_diff:.2g}"
        for c in done.checks
    )
    click.echo(f"exported {done.artifact}  ({done.manifest['exporter']})")
    click.echo(f"verified on {done.manifest['verification']['examples']}: {checks}")
    click.echo(
        f"export {done.export_seconds:.2f}s, verify {done.verify_seconds:.2f}s; "
        f"use it: specc predict {done.folder} INPUT..."
    )


def _fail(message: str, hint: str | None, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    sys.exit(code)


COMMANDS = [export]
