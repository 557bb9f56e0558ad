"""`specc run`: train a spec and leave a run directory. Thin: flags -> `specc.run.run`."""

from __future__ import annotations

import contextlib
import json
import os
import sys
from typing import TYPE_CHECKING, Any, NoReturn

import click

if TYPE_CHECKING:
    from specc.analysis import Analysis


@click.command()
@click.argument("file", required=False)
@click.option("--backend", default="torch", show_default=True, help="torch or tensorflow.")
@click.option(
    "--device",
    default=None,
    help="auto, cpu, gpu, cuda, cuda:N, gpu:N or mps (default: the spec's, else auto); "
    "tensorflow: auto or gpu with several GPUs trains on all of them (MirroredStrategy).",
)
@click.option("--epochs", type=int, default=None, help="Override the spec's epochs.")
@click.option("--batch-size", type=int, default=None, help="Override the spec's batch size.")
@click.option("--seed", type=int, default=None, help="Override the spec's seed.")
@click.option(
    "--data",
    default=None,
    metavar="NAME_OR_PATH",
    help="Another data source: a name (mnist, fashion_mnist, mnist_sample, cifar10), a "
    "folder of MNIST-format files or CIFAR-10 batches, or a .csv, .npz or CIFAR-10 .tar.gz "
    "file (docs/data.md).",
)
@click.option("--model", default=None, help="Which model of the file to train.")
@click.option(
    "--out", default=None, metavar="DIR", help="Run directory (default runs/<model>-<time>)."
)
@click.option(
    "--resume",
    default=None,
    metavar="RUN_DIR",
    help="Continue an interrupted run; with --epochs N, extend it to N epochs.",
)
@click.option("--limit", type=int, default=None, help="Use only the first N train/test examples.")
@click.option(
    "--compile",
    "compile_mode",
    type=click.Choice(["auto", "on", "off"]),
    default=None,
    help="Compile the train step (default: the spec's, auto).",
)
@click.option(
    "--precision",
    type=click.Choice(["fp32", "bf16", "fp16"]),
    default=None,
    help="Number format of training: fp32, bf16 (mixed, CPU or GPU) or fp16 (mixed, CUDA "
    "only) (default: the spec's, fp32).",
)
@click.option("--no-download", is_flag=True, help="Never download data; fail if it is absent.")
@click.option(
    "--nproc",
    type=click.IntRange(min=1),
    default=None,
    help="Train data-parallel on N local processes (torch: starts torchrun; tensorflow: "
    "starts N TF_CONFIG workers on loopback; docs/distributed.md).",
)
@click.option(
    "--sync-batchnorm",
    is_flag=True,
    help="Distributed: batchnorm statistics over the global batch (default: per rank).",
)
@click.option(
    "--spec-path",
    default=None,
    hidden=True,
    help="Read FILE as the spec at this path (relative paths resolve next to it): the "
    "concrete spec of a `specc sweep --nproc` trial.",
)
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--json", "json_output", is_flag=True, help="Print only one JSON object at the end.")
@click.option(
    "--strict", is_flag=True, help="Refuse a spec with warnings (as `specc check --strict`)."
)
def run(file: str | None, **flags: Any) -> None:
    """Train the model FILE declares, on its data, and record the run.

    Prints test metrics and the run directory; exit 1 when training fails, 2 on usage errors.
    """
    from specc.cli.errors import guarded
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
        strict=flags["strict"],
        sync_batchnorm=flags["sync_batchnorm"],
    )
    # Ctrl-C before the run directory exists (after it, the run says how to resume it).
    waiting = "interrupted before training started: run the same command again"
    disk = (
        "free some space (or choose another --out) and run again; a run that saved a "
        "checkpoint continues with `specc run --resume RUN_DIR`"
    )
    with guarded(file, interrupted=waiting, json_output=options.json, disk_full=disk):
        warn = not (flags["resume"] or flags["strict"] or flags["spec_path"])
        source = _show_warnings(file) if file is not None and warn and _main_rank() else None
        if file is not None and flags["spec_path"]:  # a sweep trial: checked by the sweep
            source = _read_as(file, flags["spec_path"])
        result = _run_this_rank(source or file, options)
    if options.json:
        click.echo(json.dumps(result.to_json()))
        return
    shown = {k: v for k, v in result.metrics.items() if k.startswith("test_")} or result.metrics
    summary = "  ".join(f"{k} {v:.4f}" for k, v in shown.items() if isinstance(v, float))
    compiled = f", {result.compile_seconds:.1f}s compiling" if result.compile_seconds else ""
    click.echo(
        f"{summary}\nrun directory: {result.run_dir}  ({result.train_seconds:.1f}s training{compiled})"
    )


def _run_this_rank(file: str | Analysis | None, options: Any) -> Any:
    """`specc.run`; in a distributed run, a rank other than 0 exits quietly after training
    and on an error every rank meets (rank 0 reports it once: distributed.speaks)."""
    from specc.errors import SpeccError
    from specc.run import run as run_spec
    from specc.run.distributed import LAUNCHED_ENV, PeerLost, World, speaks

    try:
        result = run_spec(file, options)
    except PeerLost as err:
        _end_now(err, options.json, speaks(err))
    except SpeccError as err:
        if not speaks(err):
            sys.exit(getattr(err, "exit_code", 1))
        raise
    except KeyboardInterrupt:  # before the run directory exists
        if os.environ.get(LAUNCHED_ENV) and not World.from_env().main:
            sys.exit(130)  # Ctrl-C reached every rank of `--nproc`: rank 0 says it once
        raise
    if not World.from_env().main:
        sys.exit(0)  # rank 0 prints the result
    return result


def _end_now(err: Any, json_output: bool, speak: bool) -> NoReturn:
    """Another rank is gone: report it when this rank speaks, then end at once. The engine's
    collectives are broken and its teardown at exit can block on the lost peer or print
    from its threads (TensorFlow's health check probes peers from a daemon thread while
    the interpreter shuts down), so this rank skips it."""
    from specc.cli.errors import report

    code = err.exit_code
    if speak:
        try:
            report(err, None, json_output)
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


def _launch(file: str | None, flags: dict[str, Any]) -> None:
    """`--nproc N`: the same command on N local ranks (torchrun's launcher for torch, TF_CONFIG
    workers for tensorflow: specc.run.launch); exits."""
    from specc.run.launch import LAUNCHERS, launch

    context = click.get_current_context()
    args: list[str] = []
    for param in context.command.params:
        value = flags.get(param.name or "")
        if not isinstance(param, click.Option) or param.name == "nproc":
            continue
        if value is None or value is False or value == param.default:
            continue
        args += [param.opts[0]] if param.is_flag else [param.opts[0], str(value)]
    from specc.cli.errors import guarded

    backend = _launched_backend(flags)
    if backend not in LAUNCHERS:
        return  # not a backend `specc run` trains on: the run itself says so
    with guarded(file):
        code = launch(int(flags["nproc"]), [*args, *([file] if file else [])], backend)
    sys.exit(code)


def _launched_backend(flags: dict[str, Any]) -> str:
    """The backend the ranks will train on: `--backend`, or the resumed run's own."""
    from pathlib import Path

    from specc.executors import backend_name

    if flags["resume"]:
        with contextlib.suppress(OSError, ValueError, KeyError, TypeError):
            saved = json.loads((Path(flags["resume"]) / "run.json").read_text(encoding="utf-8"))
            return backend_name(str(saved["resolved"]["backend"]))
    return backend_name(str(flags["backend"]))


def _read_as(file: str, spec_path: str) -> Analysis:
    """FILE's text analysed as the spec at `spec_path` (a sweep trial's concrete spec keeps
    the original file's place, so its relative data paths and `init from` still resolve)."""
    from pathlib import Path

    from specc.analysis import analyze
    from specc.errors import UsageError

    try:
        return analyze(Path(file).read_text(encoding="utf-8"), spec_path)
    except OSError as err:
        raise UsageError(f"cannot read {file}: {err.strerror or err}") from None


def _main_rank() -> bool:
    from specc.run.distributed import World

    return World.from_env().main


def _show_warnings(file: str) -> Analysis | None:
    """The spec's lint warnings on stderr, rendered as `specc check` does, before training.

    Returns the analysis for the run to reuse; None when the file cannot be read or has
    errors (the run reports those itself).
    """
    from pathlib import Path

    from specc.analysis import analyze_file
    from specc.cli.check import print_diagnostics

    if not Path(file).is_file():
        return None
    try:
        analysis = analyze_file(file)
    except OSError:
        return None
    if not analysis.ok:
        return None
    print_diagnostics(analysis)  # only warnings are left: errors returned above
    return analysis


COMMANDS = [run]
