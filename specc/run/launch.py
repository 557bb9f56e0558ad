"""`specc run --nproc N`: start N ranks on this machine, with the engine's own machinery.

torch: torch's own launcher, the same as `torchrun --standalone --nproc-per-node N -m specc
run ...` (the elastic agent, a c10d rendezvous on a free loopback port, no restarts).
tensorflow: N `specc run` worker processes, each with a TF_CONFIG naming all N on free
loopback ports and its own `task.index` (what one starts by hand on several machines).

Either way a failure is reported once, as a sentence: a rank killed by a signal names the
rank and the signal and how to resume; a rank that exited with an error has already printed
it (rank 0 speaks for errors every rank meets), so nothing is repeated. No rank outlives
the launcher: after a failure the others get `GRACE_SECONDS` to finish, then are killed.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from specc.errors import RunError
from specc.run.distributed import LAUNCH_INFO_ENV, LAUNCHED_ENV
from specc.run.record import CHECKPOINT

GRACE_SECONDS = 10.0  # after one worker fails: the others' time to stop on their own
POLL_SECONDS = 0.1


def launch(nproc: int, args: list[str], backend: str = "torch") -> int:
    """Run `specc run ARGS` on `nproc` local ranks of `backend`; the command's exit code."""
    with tempfile.TemporaryDirectory(prefix="specc-launch-") as scratch:
        info = Path(scratch) / "run_dir"
        os.environ[LAUNCH_INFO_ENV] = str(info)
        os.environ[LAUNCHED_ENV] = "1"
        try:
            return LAUNCHERS[backend](nproc, args, info)
        finally:
            os.environ.pop(LAUNCH_INFO_ENV, None)
            os.environ.pop(LAUNCHED_ENV, None)


def _torchrun(nproc: int, args: list[str], info: Path) -> int:
    from torch.distributed.elastic.multiprocessing.errors import ChildFailedError
    from torch.distributed.launcher.api import LaunchConfig, elastic_launch

    logging.getLogger("torch.distributed.elastic").setLevel(logging.CRITICAL)
    config = LaunchConfig(
        min_nodes=1,
        max_nodes=1,
        nproc_per_node=nproc,
        run_id=f"specc-{uuid.uuid4().hex[:8]}",
        rdzv_backend="c10d",
        rdzv_endpoint="127.0.0.1:0",
        max_restarts=0,
        monitor_interval=0.1,
    )
    try:
        elastic_launch(config, sys.executable)("-m", "specc", "run", *args)
    except ChildFailedError as err:
        rank, failure = err.get_first_failure()
        if failure.exitcode > 0:
            return failure.exitcode
        name = failure.signal_name()
        raise _killed(f"rank {rank}", failure.pid, name, "rank", nproc, info) from None
    return 0


def _tf_workers(nproc: int, args: list[str], info: Path) -> int:
    """N worker processes under one TF_CONFIG cluster on 127.0.0.1."""
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(nproc)]}
    workers: list[subprocess.Popen[bytes]] = []
    try:
        for index in range(nproc):
            task = {"cluster": cluster, "task": {"type": "worker", "index": index}}
            env = {**os.environ, "TF_CONFIG": json.dumps(task)}
            env.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # the collectives' abort logs: noise
            command = [sys.executable, "-m", "specc", "run", *args]
            workers.append(subprocess.Popen(command, env=env))
        first = _first_failure(workers)
        if first is None:
            return 0
        _wait(workers, GRACE_SECONDS)  # a shared error: rank 0 is still saying it
        stopped = _stop(workers)  # the workers this launcher killed
        codes = [w.returncode for w in workers]
        killed = [i for i, code in enumerate(codes) if code < 0 and i not in stopped]
        if killed:
            index = killed[0]
            name = signal.Signals(-codes[index]).name
            raise _killed(f"worker {index}", workers[index].pid, name, "worker", nproc, info)
        # a worker's own error, printed by it (or by rank 0 for an error every rank meets)
        return next((code for code in codes if code > 0), codes[first])
    except KeyboardInterrupt:  # every worker had the Ctrl-C too; rank 0 says how to resume
        _wait(workers, GRACE_SECONDS)
        return 130
    finally:
        _stop(workers)


def _free_ports(count: int) -> list[int]:
    """`count` distinct free loopback ports (held together while chosen)."""
    with contextlib.ExitStack() as stack:
        sockets = [stack.enter_context(socket.socket()) for _ in range(count)]
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [int(s.getsockname()[1]) for s in sockets]


def _first_failure(workers: list[subprocess.Popen[bytes]]) -> int | None:
    """Wait until every worker succeeded (None) or one failed (its index)."""
    while True:
        codes = [w.poll() for w in workers]
        failed = [i for i, code in enumerate(codes) if code not in (None, 0)]
        if failed:
            signalled = [i for i in failed if (codes[i] or 0) < 0]
            return (signalled or failed)[0]
        if all(code == 0 for code in codes):
            return None
        time.sleep(POLL_SECONDS)


def _wait(workers: list[subprocess.Popen[bytes]], seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while any(w.poll() is None for w in workers) and time.monotonic() < deadline:
        time.sleep(POLL_SECONDS)


def _stop(workers: list[subprocess.Popen[bytes]]) -> set[int]:
    """SIGKILL every worker still running, and reap it; the indices signalled."""
    stopped = set()
    for index, worker in enumerate(workers):
        if worker.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                worker.kill()
            stopped.add(index)
        worker.wait()
    return stopped


def _killed(who: str, pid: int, name: str, kind: str, nproc: int, info: Path) -> RunError:
    run_dir = info.read_text(encoding="utf-8") if info.is_file() else None
    return RunError(
        f"{who} (pid {pid}) was stopped by {name}; the other {kind}(s) were stopped too",
        f"continue from the last checkpoint: specc run --resume {run_dir} --nproc {nproc}"
        if run_dir and (Path(run_dir) / CHECKPOINT).is_file()
        else "start it again (no epoch had finished)",
    )


LAUNCHERS: dict[str, Callable[[int, list[str], Path], int]] = {
    "torch": _torchrun,
    "tensorflow": _tf_workers,
}
