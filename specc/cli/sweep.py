"""`specc sweep` and `specc compare`. Thin: flags -> `specc.sweep.sweep` / `specc.sweep.compare`."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from typing import Any

import click


def run_overrides(command: Callable[..., Any]) -> Callable[..., Any]:
    """The `specc run` overrides both commands accept (same names, same meaning)."""
    options = [
        click.option("--backend", default="torch", show_default=True, help="torch or tensorflow."),
        click.option("--device", default=None, help="auto, cpu, cuda, cuda:N or mps."),
        click.option("--epochs", type=int, default=None, help="Override the spec's epochs."),
        click.option("--seed", type=int, default=None, help="Override the spec's seed."),
        click.option("--data", default=None, metavar="NAME_OR_PATH", help="Another data source."),
        click.option("--limit", type=int, default=None, help="Use only the first N examples."),
        click.option("--out", default=None, metavar="DIR", help="Output directory."),
        click.option("--quiet", "-q", is_flag=True, help="No progress output."),
        click.option("--json", "json_output", is_flag=True, help="Print one JSON object."),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def _run_options(flags: dict[str, Any]) -> Any:
    from specc.plan import RunOptions

    return RunOptions(
        backend=flags["backend"],
        device=flags["device"],
        epochs=flags["epochs"],
        seed=flags["seed"],
        data=flags["data"],
        limit=flags["limit"],
        out=flags["out"],
        quiet=True,
    )


def _guarded(job: Callable[[], Any], spec_path: str | None, as_json: bool = False) -> Any:
    """Run `job`; user mistakes become a message and an exit code, never a traceback
    (with `--json`, also one JSON object on stdout)."""
    from specc.cli.errors import guarded

    with guarded(spec_path, json_output=as_json):
        return job()


@click.command()
@click.argument("file")
@click.option("--trials", type=int, default=10, show_default=True, help="Total trials wanted.")
@click.option(
    "--sampler", type=click.Choice(["tpe", "random", "grid"]), default="tpe", show_default=True
)
@click.option("--metric", default=None, help="Metric to rank trials by (default val_<metric>).")
@click.option("--direction", type=click.Choice(["maximize", "minimize"]), default=None)
@click.option("--storage", default=None, help="Optuna storage URL (default: SQLite in --out).")
@click.option("--study", default=None, help="Study name (default: the spec's file name).")
@click.option("--jobs", type=int, default=1, show_default=True, help="Local worker processes.")
@click.option(
    "--pruner", type=click.Choice(["median", "none"]), default="median", show_default=True
)
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Train each trial data-parallel on N local processes, as `specc run --nproc N` "
    "(docs/distributed.md#sweeps).",
)
@run_overrides
def sweep(file: str, **flags: Any) -> None:
    """Search the spec's spaces (`lr=loguniform(1e-4, 1e-2)`, ...) with Optuna.

    Re-running the same command resumes the sweep; the sweep directory (--out, default
    runs/sweep-<name>/) gets a leaderboard, best.nn and plots.
    """
    from specc.sweep import SweepOptions
    from specc.sweep import sweep as run_sweep

    options = SweepOptions(
        trials=flags["trials"],
        sampler=flags["sampler"],
        metric=flags["metric"],
        direction=flags["direction"],
        storage=flags["storage"],
        study=flags["study"],
        jobs=flags["jobs"],
        pruner=flags["pruner"],
        nproc=flags["nproc"],
        run=_run_options(flags),
        quiet=flags["quiet"] or flags["json_output"],
    )
    result = _guarded(lambda: run_sweep(file, options), file, flags["json_output"])
    if flags["json_output"]:
        click.echo(json.dumps(result.to_json()))
        return
    counts = ", ".join(f"{n} {state}" for state, n in result.counts().items() if n)
    click.echo(f"{counts}; leaderboard: {result.sweep_dir / 'leaderboard.md'}")
    best = result.best
    if best is not None:
        values = "  ".join(
            f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
            for k, v in best["params"].items()
        )
        click.echo(f"best: trial {best['trial']}  {result.metric} {best['value']:.4f}  {values}")
        click.echo(f"best spec: {result.sweep_dir / 'best.nn'}")
    for note in result.notes:
        click.echo(f"note: {note}")


@click.command()
@click.argument("files", nargs=-1, required=True)
@click.option("--models", default=None, help="Comma-separated model names (default: all).")
@run_overrides
def compare(files: tuple[str, ...], **flags: Any) -> None:
    """Train every model of FILES under the same data, seed and epochs, side by side.

    Writes one directory (--out, default runs/compare-<name>-<time>/) with each model's run,
    overlaid loss.png and metrics.png, and the table as comparison.md and comparison.json.
    """
    import dataclasses

    from specc.sweep.compare import CompareOptions, table
    from specc.sweep.compare import compare as run_compare

    wanted = tuple(m.strip() for m in (flags["models"] or "").split(",") if m.strip())
    quiet = flags["quiet"] or flags["json_output"]
    run = dataclasses.replace(_run_options(flags), quiet=quiet)
    options = CompareOptions(models=wanted, run=run)
    result = _guarded(lambda: run_compare(list(files), options), files[0], flags["json_output"])
    if flags["json_output"]:
        click.echo(json.dumps(_json(result)))
        return
    from rich.console import Console
    from rich.table import Table

    header, cells = table(result)
    shown = Table(title=f"same seed {result.settings['seed']}, {result.settings['epochs']} epochs")
    for i, name in enumerate(header):
        widest = max([len(name), *(len(row[i]) for row in cells)])
        shown.add_column(name, justify="left" if i == 0 else "right", min_width=widest)
    for row in cells:
        shown.add_row(*row)
    needed = sum(max([len(h), *(len(r[i]) for r in cells)]) + 3 for i, h in enumerate(header))
    Console(width=max(shutil.get_terminal_size().columns, needed + 1)).print(shown)
    click.echo(f"comparison: {result.out_dir / 'comparison.md'}  (loss.png, metrics.png)")
    for note in result.notes:
        click.echo(f"note: {note}")


def _json(result: Any) -> dict[str, Any]:
    out: dict[str, Any] = result.to_json()
    out["models"] = [{k: v for k, v in m.items() if k != "history"} for m in out["models"]]
    return out


COMMANDS = [sweep, compare]
