"""`specc predict`: use a run's model (or an exported one) on new examples. Thin."""

from __future__ import annotations

import sys
from pathlib import Path

import click


@click.command()
@click.argument("source", metavar="RUN_OR_EXPORT")
@click.argument("inputs", nargs=-1, metavar="INPUT...")
@click.option(
    "--split",
    type=click.Choice(["test", "val", "train"]),
    default=None,
    help="Instead of INPUTs, a split of the run's own data (and its metrics).",
)
@click.option(
    "--out", "out", default=None, metavar="FILE", help="Write every row to a .csv or .json file."
)
@click.option("--proba", is_flag=True, help="Add every class's probability.")
@click.option("--top", type=int, default=None, metavar="K", help="Add the K most likely classes.")
@click.option(
    "--device", default="cpu", show_default=True, help="For a run directory: cpu, cuda, ..."
)
def predict(
    source: str,
    inputs: tuple[str, ...],
    split: str | None,
    out: str | None,
    proba: bool,
    top: int | None,
    device: str,
) -> None:
    """Predict with the model of RUN_OR_EXPORT (a run directory or a `specc export` folder).

    INPUTs are PNG/JPEG images, folders of images, IDX, .npz or .csv files; the spec's
    preprocessing is applied as in training. Exit 1 on unreadable inputs, 2 on usage errors.
    """
    from specc.data import DataError
    from specc.errors import RunError
    from specc.predict import predict as run_predict
    from specc.predict.report import rows, table, write

    if inputs and split:
        raise click.UsageError("give INPUT files or --split, not both")
    try:
        found = run_predict(source, list(inputs), split=split, device=device)
        lines = rows(found, proba=proba, top=top)
        if out is not None:
            write(lines, Path(out))
    except RunError as err:
        _fail(err.message, err.hint, err.exit_code)
    except DataError as err:
        _fail(err.message, err.hint, 1)
    if out is not None:
        click.echo(f"{len(lines)} predictions written to {out}")
    else:
        click.echo(table(lines))
    for name, value in found.metrics.items():
        click.echo(f"{name} {value:.4f}")


def _fail(message: str, hint: str | None, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    sys.exit(code)


COMMANDS = [predict]
