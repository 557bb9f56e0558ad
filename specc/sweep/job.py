"""`specc sweep --nproc N`: a trial as a distributed `specc run --nproc N` job.

The sweep stays the one Optuna client: it writes the trial's concrete spec to a scratch
file, starts `python -m specc run FILE --nproc N --out <trial dir>` in a session of its own
(torchrun's ranks, or N TF_CONFIG workers: the same launcher as `specc run --nproc`), and
reads the run's epoch records from `metrics.jsonl` as rank 0 writes them (each write is
atomic, so a read sees whole records). Each record goes to `on_record`; when that says
"prune" while the job still runs, the job is stopped: SIGINT to its ranks (each ends as a
Ctrl-C ends it, rank 0 marking the run `interrupted`), then, after `STOP_GRACE_SECONDS`,
SIGTERM and SIGKILL to whatever is left. No process of the job outlives `run_job`.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from specc.plan import RunOptions
from specc.run.record import RUN_FACTS

STOP_GRACE_SECONDS = 10.0  # after SIGINT: the ranks' time to stop on their own
POLL_SECONDS = 0.2
# `specc run` options a trial job passes on (the sweep's overrides), by RunOptions field
RUN_FLAGS = {
    "backend": "--backend",
    "device": "--device",
    "epochs": "--epochs",
    "batch_size": "--batch-size",
    "seed": "--seed",
    "data": "--data",
    "limit": "--limit",
}


class TrialJobError(Exception):
    """The trial's job failed (its one-line message): this trial fails, the sweep goes on."""


@dataclass
class JobResult:
    """How a trial's job ended: `pruned` when `on_record` stopped it (or would have), and
    then `metrics` are those of the last epoch record it reported."""

    returncode: int
    pruned: bool
    metrics: dict[str, Any] = field(default_factory=dict)
    train_seconds: float = 0.0


def command(spec_file: Path, spec_path: str, nproc: int, out: Path, run: RunOptions) -> list[str]:
    """`python -m specc run` of the trial's spec on `nproc` local ranks, quietly."""
    args = [sys.executable, "-m", "specc", "run", str(spec_file), "--spec-path", spec_path]
    args += ["--nproc", str(nproc), "--out", str(out), "--quiet"]
    for name, flag in RUN_FLAGS.items():
        value = getattr(run, name)
        if value is not None:
            args += [flag, str(value)]
    return args


def start(argv: list[str], log: IO[bytes]) -> subprocess.Popen[bytes]:
    """Start a job in a session of its own (the sweep's Ctrl-C is handled by the sweep, not
    by the job) with SIGINT at its default: a sweep started with SIGINT ignored (`nohup ...
    &`, a batch system) hands that on to its children, and `stop` could then not end the
    ranks with it (they would only stop at SIGTERM, without marking the run interrupted)."""
    return subprocess.Popen(
        argv,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=log,
        start_new_session=True,
        preexec_fn=_default_sigint,
    )


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)  # Python then turns it into KeyboardInterrupt


def run_job(
    text: str,
    spec_path: str,
    nproc: int,
    out: Path,
    run: RunOptions,
    on_record: Callable[[int, dict[str, Any]], bool],
) -> JobResult:
    """Train `text` (read as the spec at `spec_path`) as an `nproc`-rank job in `out`;
    `on_record(epoch, record) -> prune?` sees the epoch records in order until it prunes.
    A job that fails raises TrialJobError with its message."""
    with tempfile.TemporaryDirectory(prefix="specc-trial-") as scratch:
        spec_file = Path(scratch) / "trial.nn"
        spec_file.write_text(text, encoding="utf-8")
        with open(Path(scratch) / "stderr.txt", "w+b") as log:
            process = start(command(spec_file, spec_path, nproc, out, run), log)
            try:
                reported, pruned, last, seconds = 0, False, {}, 0.0
                while True:
                    code = process.poll()  # before reading: every record of a finished job
                    for epoch, record in _epoch_records(out, reported):
                        reported, last = epoch, record
                        seconds += float(record.get("seconds", 0.0))
                        if on_record(epoch, record):
                            pruned = True
                            break
                    if pruned or code is not None:
                        break
                    time.sleep(POLL_SECONDS)
            finally:
                stop(process)
            log.seek(0)
            errors = log.read().decode("utf-8", "replace")
    if pruned:
        kept = {k: v for k, v in last.items() if k not in ("epoch", "seconds")}
        return JobResult(process.returncode, True, kept, seconds)
    if process.returncode != 0:
        raise TrialJobError(failure(errors, process.returncode))
    final = json.loads((out / "metrics.json").read_text(encoding="utf-8"))
    metrics = {k: v for k, v in final.items() if k not in RUN_FACTS}
    return JobResult(0, False, metrics, float(final.get("train_seconds", 0.0)))


def _epoch_records(out: Path, after: int) -> list[tuple[int, dict[str, Any]]]:
    """The run's epoch records past epoch `after`, in order ([] before the file exists)."""
    try:
        lines = (out / "metrics.jsonl").read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
    records = [json.loads(line) for line in lines if line.strip()]
    return [
        (int(r["epoch"]), r)
        for r in records
        if "step" not in r and "epoch" in r and int(r["epoch"]) > after
    ]


def failure(stderr: str, returncode: int) -> str:
    """The job's one-line message, `E602: message`: its last `error...:` line, with the code
    of the diagnostic rendered above it when the headline leaves the code out."""
    lines = stderr.splitlines()
    coded = {}
    for line in lines:
        if line.startswith("error[") and "]: " in line:
            code, _, message = line[len("error[") :].partition("]: ")
            coded[message] = f"{code}: {message}"
    for line in reversed(lines):
        if line.startswith("error[") and "]: " in line:
            return coded[line[len("error[") :].partition("]: ")[2]]
        if line.startswith("error: "):
            message = line[len("error: ") :]
            return coded.get(message, message)
    last = next((line for line in reversed(lines) if line.strip()), "")
    return f"the trial's job exited with code {returncode}" + (f": {last[:200]}" if last else "")


def stop(process: subprocess.Popen[bytes], grace: float = STOP_GRACE_SECONDS) -> None:
    """End the job and every process it started: SIGINT to the ranks (the launcher then
    returns on its own), after `grace` SIGTERM, then SIGKILL to all that is left."""
    ranks = descendants(process.pid)
    if process.poll() is None or ranks:
        if ranks:
            _signal(ranks, signal.SIGINT)
        else:  # no /proc to find them: the job's process group (tensorflow's workers)
            _signal_group(process.pid, signal.SIGINT)
        _wait_for(process, ranks, grace)
    for sig in (signal.SIGTERM, signal.SIGKILL):
        left = [pid for pid in {*ranks, *descendants(process.pid)} if alive(pid)]
        if process.poll() is None or left:
            _signal(left, sig)
            _signal_group(process.pid, sig)
            _wait_for(process, left, 2.0)
    process.wait()


def descendants(pid: int) -> list[int]:
    """Every live process below `pid` (Linux /proc; [] elsewhere). torchrun starts each rank
    in a session of its own, so the job's process group alone would miss them."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not _zombie(pid)


def _zombie(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except (OSError, IndexError):
        return False


def _signal(pids: list[int], sig: signal.Signals) -> None:
    for pid in pids:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, sig)


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def _wait_for(process: subprocess.Popen[bytes], pids: list[int], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if process.poll() is not None and not any(alive(p) for p in pids):
            return
        time.sleep(0.05)
