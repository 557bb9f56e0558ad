"""`specc run`: train a spec and leave a run directory. Thin: flags -> `specc.run.run`."""

from __future__ import annotations

import json
import os
import sys
from typing import Any

import click

from specc.errors import PlanError, RunError


def _fail(message: str, hint: str | None, code: int) -> None:
    click.echo(f"error: {message}", err=True)
    if hint:
        click.echo(f"  hint: {hint}", err=True)
    sys.exit(code)


@click.command()
@click.argument("file", required=False)
@click.option("--backend", default="torch", show_default=True, help="torch or tensorflow.")
@click.option(
    "--device", default=None, help="auto, cpu, cuda, cuda:N or mps (default: the spec's)."
)
@click.option("--epochs", type=int, default=None, help="Override the spec's epochs.")
@click.option("--batch-size", type=int, default=None, help="Override the spec's batch size.")
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option(
    "--data",
    default=None,
    metavar="NAME_OR_PATH",
    help="Another data source: a name (mnist_sample) or a folder of MNIST-format files.",
)
@click.option("--model", default=None, help="Which model of the file to train.")
@click.option(
    "--out", default=None, metavar="DIR", help="Run directory (default runs/<model>-<time>)."
)
@click.option("--resume", default=None, metavar="RUN_DIR", help="Continue a killed run.")
@click.option("--limit", type=int, default=None, help="Use only the first N train/test examples.")
@click.option(
    "--compile",
    "compile_mode",
    type=click.Choice(["auto", "on", "off"]),
    default=None,
    help="Compile the train step (default: the spec's, auto).",
)
@click.option("--precision", type=click.Choice(["fp32", "bf16", "fp16"]), default=None)
@click.option("--no-download", is_flag=True, help="Never download data; fail if it is absent.")
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    default=None,
    help="Train data-parallel on N local processes (starts torchrun; docs/distributed.md).",
)
@click.option(
    "--sync-batchnorm",
    is_flag=True,
    help="Distributed: batchnorm statistics over the global batch (default: per rank).",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--json", "json_output", is_flag=True, help="Print only one JSON object at the end.")
def run(file: str | None, **flags: Any) -> None:
    """Train the model FILE declares, on its data, and record the run.

    Prints test metrics and the run directory; exit 1 when training fails, 2 on usage errors.
    """
    from specc.data import DataError
    from specc.plan import RunOptions

    if file is None and not flags["resume"]:
        raise click.UsageError("give a spec FILE (or --resume RUN_DIR)")
    if flags["nproc"] and flags["nproc"] > 1 and "WORLD_SIZE" not in os.environ:
        _launch(file, flags)
    options = RunOptions(
        backend=flags["backend"],
        device=flags["device"],
        epochs=flags["epochs"],
        batch_size=flags["batch_size"],
        seed=flags["seed"],
        data=flags["data"],
        model=flags["model"],
        out=flags["out"],
        resume=flags["resume"],
        quiet=flags["quiet"],
        json=flags["json_output"],
        limit=flags["limit"],
        compile=flags["compile_mode"],
        precision=flags["precision"],
        download=not flags["no_download"],
        sync_batchnorm=flags["sync_batchnorm"],
    )
    try:
        result = _run_this_rank(file, options)
    except PlanError as err:
        from specc.diagnostics import render

        text = err.diagnostics and _spec_text(file, flags["resume"])
        for diag in err.diagnostics:
            click.echo(render(diag, text or "", file or "<spec>") + "\n", err=True)
        _fail(err.message, err.hint, err.exit_code)
    except RunError as err:
        _fail(err.message, err.hint, err.exit_code)
    except DataError as err:
        _fail(err.message, err.hint, 1)
    except KeyboardInterrupt:
        _fail("interrupted", "continue with --resume RUN_DIR (the last epoch's checkpoint)", 130)
    if options.json:
        click.echo(json.dumps(result.to_json()))
        return
    shown = {k: v for k, v in result.metrics.items() if k.startswith("test_")} or result.metrics
    summary = "  ".join(f"{k} {v:.4f}" for k, v in shown.items() if isinstance(v, float))
    click.echo(
        f"{summary}\nrun directory: {result.run_dir}  ({result.train_seconds:.1f}s training)"
    )


def _run_this_rank(file: str | None, options: Any) -> Any:
    """`specc.run`; in a distributed run, a rank other than 0 exits quietly after training
    and on an error every rank meets (rank 0 reports it once: distributed.speaks)."""
    from specc.data import DataError
    from specc.run import run as run_spec
    from specc.run.distributed import World, speaks

    try:
        result = run_spec(file, options)
    except (RunError, DataError) as err:
        if not speaks(err):
            sys.exit(getattr(err, "exit_code", 1))
        raise
    if not World.from_env().main:
        sys.exit(0)  # rank 0 prints the result
    return result


def _launch(file: str | None, flags: dict[str, Any]) -> None:
    """`--nproc N`: the same command on N ranks under torchrun's launcher; exits."""
    from specc.run.launch import launch

    context = click.get_current_context()
    args: list[str] = []
    for param in context.command.params:
        value = flags.get(param.name or "")
        if not isinstance(param, click.Option) or param.name == "nproc":
            continue
        if value is None or value is False or value == param.default:
            continue
        args += [param.opts[0]] if param.is_flag else [param.opts[0], str(value)]
    try:
        code = launch(int(flags["nproc"]), [*args, *([file] if file else [])])
    except RunError as err:
        _fail(err.message, err.hint, err.exit_code)
    sys.exit(code)


def _spec_text(file: str | None, resume: str | None) -> str:
    from pathlib import Path

    for candidate in (Path(resume) / "spec.nn" if resume else None, Path(file) if file else None):
        if candidate is not None and candidate.is_file():
            return candidate.read_text(encoding="utf-8", errors="replace")
    return ""


COMMANDS = [run]
