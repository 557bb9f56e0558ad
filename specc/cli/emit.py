"""`specc emit` and `specc targets`: standalone training scripts, and what each target can do."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from specc.cli.check import load, one_spec, print_diagnostics


@click.command()
@click.argument("file")
@click.option(
    "--target",
    "-t",
    type=click.Choice(["pytorch", "keras", "tensorflow", "mindspore"]),
    help="The framework to write the script for.",
)
@click.option("--all", "all_targets", is_flag=True, help="Write one script per target into -o DIR.")
@click.option("-o", "--output", help="Write here instead of standard output (a folder with --all).")
@click.option(
    "--model", help="Which model of the file (default: the train block's, else the first)."
)
@click.option(
    "--interop",
    is_flag=True,
    help="Also save (and read, for `init from`) weights.safetensors, the weights file of "
    "`specc run`; without it only a spec with `init from` has that code.",
)
@click.option(
    "--ddp",
    is_flag=True,
    help="pytorch: train data-parallel when started by torchrun (docs/distributed.md).",
)
def emit(
    file: str,
    target: str | None,
    all_targets: bool,
    output: str | None,
    model: str | None,
    interop: bool,
    ddp: bool,
) -> None:
    """Write a standalone training script for FILE (- reads standard input).

    The script depends only on its framework and NumPy; run it with --help for its flags.
    """
    from specc.diagnostics import render
    from specc.emit import NAMES, EmitError, UnknownTarget
    from specc.emit import emit as emit_script
    from specc.emit.targets import TargetUnavailable
    from specc.emit.tidy import RuffMissing

    if all_targets == (target is not None):
        raise click.UsageError("give exactly one of --target T or --all")
    if all_targets and output is None:
        raise click.UsageError("--all needs -o DIR (one script per target is written there)")
    analysis = load(one_spec(file, "emit"))
    if not analysis.ok:
        print_diagnostics(analysis)
        sys.exit(1)
    targets = list(NAMES) if all_targets else [target]
    failed = False
    for name in targets:
        assert name is not None
        chosen = analysis.spec.model_named(model)
        stem = chosen.name if chosen is not None else "model"
        out = _destination(output, all_targets, stem, name)
        try:
            script = out.name if out else None
            text = emit_script(
                analysis,
                name,
                model=model,
                script=script,
                interop=interop,
                ddp=ddp and (name == "pytorch" or not all_targets),
            )
        except TargetUnavailable as err:
            if not all_targets:
                raise click.UsageError(str(err)) from err
            click.echo(f"skipped {name}: {err}", err=True)
            continue
        except UnknownTarget as err:
            raise click.UsageError(str(err)) from err
        except RuffMissing as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(1)
        except EmitError as err:
            for diag in err.diagnostics:
                click.echo(render(diag, analysis.text, analysis.path) + "\n", err=True)
            failed = True
            continue
        if out is None:
            click.echo(text, nl=False)
        else:
            _refuse_shadowing(out, text, stem, name)
            _write(out, text)
            click.echo(f"wrote {out}", err=True)
    sys.exit(1 if failed else 0)


def _destination(output: str | None, all_targets: bool, stem: str, target: str) -> Path | None:
    if output is None:
        return None
    if all_targets:
        return Path(output) / f"{stem}_{target}.py"
    return Path(output)


def _refuse_shadowing(out: Path, text: str, stem: str, target: str) -> None:
    """A script named after a module it imports would import itself: a usage error."""
    from specc.emit.script_name import shadowed, suggested

    module = shadowed(out, text)
    if module is not None:
        better = out.with_name(suggested(stem, target, text))
        raise click.UsageError(
            f"-o {out}: a script named {out.name} would shadow the `{module}` module "
            f"(Python imports from the script's own folder first); use e.g. -o {better}"
        )


def _write(path: Path, text: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    except OSError as err:
        raise click.UsageError(f"cannot write {path}: {err.strerror or err}") from err


@click.command()
def targets() -> None:
    """Print which spec features each emit target can express."""
    from specc.emit.targets import available
    from specc.lowering.capabilities import all_features

    found = available()
    width = max(len(f) for f in all_features()) + 2
    click.echo("feature".ljust(width) + "  ".join(t.name for t in found))
    for feature in all_features():
        marks = [("no" if feature in t.unsupported else "yes").ljust(len(t.name)) for t in found]
        click.echo(feature.ljust(width) + "  ".join(marks).rstrip())


COMMANDS = [emit, targets]
