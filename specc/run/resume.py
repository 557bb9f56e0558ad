"""`specc run --resume DIR`: reopen a run, decide what the flags may change, and say
exactly what is damaged when the directory cannot be continued (never a traceback).

A resumed run keeps what made its finished epochs what they are: backend, seed, data,
limit, batch size, model and precision (a flag that would change them is refused, with
the reason). `--epochs N` extends it (or shortens one not yet past N); `--device` and
`--compile` may change. A run with no finished epoch has no checkpoint: resuming it
trains it from the beginning in the same directory. Files an atomic write left behind
when the process was killed mid-write (`.<name>.tmp<pid>`) are removed first.
"""

from __future__ import annotations

import dataclasses
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from specc.data.loader import recorded
from specc.errors import RunError, UsageError
from specc.plan import RunOptions
from specc.run.record import CHECKPOINT, RunDir

# flag -> why a resumed run cannot take another value
FIXED: dict[str, str] = {
    "backend": "its epochs so far were trained by the `{saved}` backend",
    "seed": "the seed chose its initial weights and the order of the examples already seen",
    "data": "its epochs so far were trained on that data",
    "limit": "its epochs so far were trained on those examples",
    "batch_size": "its steps so far used that batch size",
    "model": "it trains that model",
    "precision": "its epochs so far were trained in that precision",
    "out": "a resumed run stays in its own directory",
}
CHANGEABLE = ("device", "compile")  # the numbers stay the same (or nearly)
LOOP_STATE_KEYS = ("epoch", "schedule", "order", "train_seconds")
LEFTOVER = re.compile(r"^\..+\.tmp\d+$")


@dataclass
class Reopened:
    run_dir: RunDir
    options: RunOptions
    text: str
    spec_path: str
    checkpoint: tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None
    notes: list[str]


def _damaged(folder: Path, what: str, hint: str) -> RunError:
    return RunError(f"--resume {folder}: {what}", hint)


def reopen(options: RunOptions) -> Reopened:
    """The run in `options.resume`, its options merged with the flags given now."""
    assert options.resume is not None
    folder = Path(options.resume)
    if not (folder / "run.json").is_file():
        raise UsageError(f"--resume {options.resume}: not a specc run directory (no run.json)")
    notes = [f"removed {n} leftover temporary file(s)" for n in [clean_leftovers(folder)] if n]
    copy = folder / "spec.nn"
    fresh = f"start a new run instead: specc run {copy if copy.is_file() else 'SPEC'}"
    try:
        info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
        saved = {k: v for k, v in info["options"].items() if k in RunOptions.__dataclass_fields__}
        spec_path = str(info["spec_path"])
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise _damaged(folder, f"run.json is damaged ({_why(err)})", fresh) from None
    try:
        text = copy.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise _damaged(
            folder,
            "spec.nn, the spec the run started with, is missing",
            f"copy that spec back to {copy} (run.json says it was {spec_path})",
        ) from None
    except (OSError, UnicodeDecodeError) as err:
        raise _damaged(folder, f"spec.nn cannot be read ({_why(err)})", fresh) from None
    merged = _merge(RunOptions(**saved), options, folder)
    run_dir = RunDir(folder)
    try:
        run_dir.records = run_dir.read_records()
    except ValueError as err:
        raise _damaged(
            folder,
            f"metrics.jsonl is damaged ({_why(err)})",
            f"repair it, or delete {folder / 'metrics.jsonl'} to resume without the "
            "records of the epochs already trained (the weights are in the checkpoint)",
        ) from None
    checkpoint = None
    if (folder / CHECKPOINT).is_file():
        checkpoint = _checkpoint(run_dir)
    else:
        notes.append("no epoch of this run had finished: training it from the beginning")
    return Reopened(run_dir, merged, text, spec_path, checkpoint, notes)


def _merge(saved: RunOptions, given: RunOptions, folder: Path) -> RunOptions:
    """The saved options, with the flags that may change taken from `given`."""
    default = RunOptions()
    for flag, reason in FIXED.items():
        typed, old = getattr(given, flag), getattr(saved, flag)
        value = recorded(typed) if flag == "data" else typed  # as run.json keeps it
        if value is not None and value != getattr(default, flag) and value != old:
            shown = flag.replace("_", "-")
            raise UsageError(
                f"--resume {folder} cannot take --{shown} {typed}: "
                + reason.format(saved=old)
                + (f" ({old})" if old is not None and "{saved}" not in reason else ""),
                f"drop --{shown}, or start a new run with it",
            )
    changes: dict[str, Any] = {k: getattr(given, k) for k in CHANGEABLE if getattr(given, k)}
    changes["download"] = given.download  # this invocation's choice (--no-download)
    if given.epochs is not None:
        changes["epochs"] = given.epochs
    return dataclasses.replace(
        saved, **changes, quiet=given.quiet, json=given.json, resume=given.resume
    )


def _checkpoint(run_dir: RunDir) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]]:
    path = run_dir.path / CHECKPOINT
    restart = (
        f"delete {path} to train the run again from the beginning (--resume does that), "
        "or start a new run"
    )
    try:
        weights, optimizer, state = run_dir.load_checkpoint()
    except RunError as err:
        raise _damaged(run_dir.path, f"{CHECKPOINT} is damaged ({err.message})", restart) from None
    except ValueError as err:
        raise _damaged(run_dir.path, f"{CHECKPOINT} is damaged ({_why(err)})", restart) from None
    missing = [k for k in LOOP_STATE_KEYS if not isinstance(state, dict) or k not in state]
    if missing:
        names = ", ".join(f"`{k}`" for k in missing)
        raise _damaged(
            run_dir.path, f"{CHECKPOINT} is damaged: its loop state lacks {names}", restart
        )
    return weights, optimizer, state


def check_epochs(reopened: Reopened, epochs: int, done: int, stopped_early: bool) -> None:
    """`--epochs N` must leave something to train; an early-stopped run has finished."""
    folder = reopened.run_dir.path
    if stopped_early and epochs > done:
        raise UsageError(
            f"--resume {folder}: the run stopped early after epoch {done} (early stopping); "
            "more epochs would not be trained",
            "start a new run with more patience, or without early_stopping",
        )
    if epochs < done:
        raise UsageError(
            f"--resume {folder} --epochs {epochs}: the run has already trained {done} epochs",
            f"give --epochs {done} or more",
        )


def clean_leftovers(folder: Path) -> int:
    """Remove `.<name>.tmp<pid>` files that a killed atomic write left; how many."""
    count = 0
    for place in (folder, folder / "checkpoints"):
        if not place.is_dir():
            continue
        for path in place.iterdir():
            if path.is_file() and LEFTOVER.match(path.name):
                path.unlink()
                count += 1
    return count


def _why(err: BaseException) -> str:
    if isinstance(err, KeyError):
        return f"no {err.args[0]!r}"
    if isinstance(err, json.JSONDecodeError):
        return f"not JSON: {err.msg} at line {err.lineno}"
    return str(err) or type(err).__name__
