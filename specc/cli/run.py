"""`specc run`: train a spec and leave a run directory. Thin: flags -> `specc.run.run`."""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from specc.errors import PlanError, RunError

if TYPE_CHECKING:
    from specc.analysis import Analysis


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
@click.option("--quiet", "-q", is_flag=True, help="No progress output.")
@click.option("--json", "json_output", is_flag=True, help="Print only one JSON object at the end.")
@click.option(
    "--strict", is_flag=True, help="Refuse a spec with warnings (as `specc check --strict`)."
)
def run(file: str | None, **flags: Any) -> None:
    """Train the model FILE declares, on its data, and record the run.

    Prints test metrics and the run directory; exit 1 when training fails, 2 on usage errors.
    """
    from specc.data import DataError
    from specc.plan import RunOptions
    from specc.run import run as run_spec

    if file is None and not flags["resume"]:
        raise click.UsageError("give a spec FILE (or --resume RUN_DIR)")
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
    )
    try:
        source = (
            _show_warnings(file) if file and not flags["resume"] and not flags["strict"] else None
        )
        result = run_spec(source or file, options)
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
    except OSError as err:  # a full disk, a read-only folder: files are written atomically
        where = f" {err.filename}" if err.filename else ""
        _fail(
            f"cannot write{where}: {err.strerror or err}",
            "free some space (or choose another --out) and run again; a run that saved a "
            "checkpoint continues with `specc run --resume RUN_DIR`",
            1,
        )
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


def _show_warnings(file: str) -> Analysis | None:
    """The spec's lint warnings on stderr, rendered as `specc check` does, before training.

    Returns the analysis for the run to reuse; None when the file cannot be read or has
    errors (the run reports those itself).
    """
    from pathlib import Path

    from specc.analysis import analyze_file
    from specc.cli.inspect import print_diagnostics

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


def _spec_text(file: str | None, resume: str | None) -> str:
    from pathlib import Path

    for candidate in (Path(resume) / "spec.nn" if resume else None, Path(file) if file else None):
        if candidate is not None and candidate.is_file():
            return candidate.read_text(encoding="utf-8", errors="replace")
    return ""


COMMANDS = [run]
