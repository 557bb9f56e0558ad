"""`specc parity`: the same spec on PyTorch and TensorFlow, step by step, compared."""

from __future__ import annotations

import json
import sys

import click

from specc.cli.check import spec_files


@click.command()
@click.argument("file")
@click.option("--steps", type=int, default=20, show_default=True, help="Training steps to compare.")
@click.option(
    "--tolerance",
    type=float,
    default=None,
    help="Largest relative loss difference accepted (default: per layer kind, see docs/parity.md).",
)
@click.option("--model", default=None, help="Which model of the file (default: the train block's).")
@click.option(
    "--data", default=None, help="Use this data source instead of the spec's (e.g. mnist_sample)."
)
@click.option(
    "--limit", type=int, default=None, help="Use only the first N examples of each split."
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def parity(
    file: str,
    steps: int,
    tolerance: float | None,
    model: str | None,
    data: str | None,
    limit: int | None,
    as_json: bool,
) -> None:
    """Train FILE for a few steps on both backends from the same weights and batches.

    Prints each backend's loss per step and the largest relative difference; exits 1
    when it is above the tolerance. Dropout and augmentation are switched off.
    """
    from specc.cli.errors import guarded
    from specc.parity import parity as run_parity

    path = spec_files((file,))[0]
    if limit is not None and limit < 1:
        raise click.UsageError(f"--limit must be at least 1, got {limit}")
    with guarded(path):
        result = run_parity(
            path, steps=steps, tolerance=tolerance, model=model, data=data, limit=limit
        )
    if as_json:
        click.echo(json.dumps(result.to_json(), indent=2))
    else:
        _print_table(result)
    sys.exit(0 if result.passed else 1)


def _print_table(result: object) -> None:
    from specc.parity import ParityResult

    assert isinstance(result, ParityResult)
    a, b = result.runs
    for note in result.notes:
        click.echo(f"note: {note}")
    click.echo(f"{result.path}: model `{result.model}`, {result.steps} steps")
    click.echo(f"{'step':>4}  {'lr':>10}  {a.name:>14}  {b.name:>14}  {'rel. diff':>9}")
    for i, rel in enumerate(result.relative):
        lr = result.lrs[i] if i < len(result.lrs) else float("nan")
        click.echo(
            f"{i + 1:>4}  {lr:>10.3g}  {a.losses[i]:>14.8f}  {b.losses[i]:>14.8f}  {rel:>9.2e}"
        )
    click.echo(
        f"{'eval':>4}  {'':>10}  {a.eval_loss:>14.8f}  {b.eval_loss:>14.8f}  "
        f"{result.eval_relative:>9.2e}   (evaluation mode, after the last step)"
    )
    verdict = "OK" if result.passed else "FAILED"
    click.echo(
        f"max relative difference {result.max_relative:.3e} "
        f"(tolerance {result.tolerance:.0e}): {verdict}"
    )
    click.echo(
        f"final weights differ by at most {result.weight_relative:.3e} (relative, per array)"
    )


COMMANDS = [parity]
