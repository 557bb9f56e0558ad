"""Helpers for the distributed tests: a tiny spec, a free loopback port, and the
environment every rank needs (gloo on the loopback interface, one thread per rank)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

TIMEOUT = 240  # seconds: a hung rank fails the test instead of blocking the suite


def spec(extra: str = "", epochs: int = 3, batch: str = "batch 32 shuffle drop_last") -> str:
    """Batchnorm, a dropout switched off (rate 0, so the comparison is exact) and a cosine
    schedule, on 160 synthetic examples (96 to train: 3 global batches of 32)."""
    return (
        "model tiny {\n    input 8\n    dense 16 relu\n    batchnorm\n    dropout 0.0\n"
        "    dense 3\n}\n\n"
        "data synthetic classification samples=160 features=8 classes=3 noise=0.3 {\n"
        f"    {batch}\n    validation 0.2\n    test 0.2\n}}\n\n"
        "train {\n    loss sparse_categorical_crossentropy\n"
        "    optimizer sgd lr=0.1 momentum=0.9\n    schedule cosine\n"
        f"    epochs {epochs}\n    metrics accuracy\n    seed 3\n{extra}}}\n"
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def env(**extra: str) -> dict[str, str]:
    out = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    root = str(Path(__file__).resolve().parents[2])
    out.update(
        GLOO_SOCKET_IFNAME="lo",
        OMP_NUM_THREADS="1",
        PYTHONPATH=os.pathsep.join([root, out.get("PYTHONPATH", "")]),
        **extra,
    )
    return out


def specc(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """`python -m specc ARGS` in a new process group, killed whole on a timeout."""
    command = [sys.executable, "-m", "specc", *args]
    return _bounded(command, env(**extra))


def torchrun(nproc: int, *args: str, **extra: str) -> subprocess.CompletedProcess[str]:
    """`torchrun --nproc-per-node N -m specc ARGS` on 127.0.0.1 and a free port."""
    command = [
        *(sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", str(nproc)),
        *("--master-addr", "127.0.0.1", "--master-port", str(free_port())),
        *("-m", "specc", *args),
    ]
    return _bounded(command, env(**extra))


def _bounded(command: list[str], environment: dict[str, str]) -> subprocess.CompletedProcess[str]:
    process = subprocess.Popen(
        command,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # its own process group: the ranks go with it
    )
    try:
        out, err = process.communicate(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, 9)
        out, err = process.communicate()
        raise AssertionError(f"timed out after {TIMEOUT}s:\n{err}") from None
    finally:
        with contextlib.suppress(ProcessLookupError):  # no rank outlives its test
            os.killpg(process.pid, 9)
    return subprocess.CompletedProcess(command, process.returncode, out, err)


def tf_workers(
    path: Path, out: Path, first: list[str] | None = None, **extra: str
) -> list[subprocess.CompletedProcess[str]]:
    """Two workers started by hand (no launcher), each bounded by TIMEOUT; `first`: how
    worker 0's Python starts (default `-m specc`)."""
    ports = [free_port(), free_port()]
    cluster = {"worker": [f"127.0.0.1:{p}" for p in ports]}
    args = ["run", str(path), "--backend", "tensorflow", "--out", str(out)]
    command = [sys.executable, "-m", "specc", *args]
    processes = [
        subprocess.Popen(
            [sys.executable, *first, *args] if first and i == 0 else command,
            env=env(
                TF_CONFIG=json.dumps({"cluster": cluster, "task": {"type": "worker", "index": i}}),
                **extra,
            ),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,
        )
        for i in range(2)
    ]
    done = []
    try:
        for process in processes:
            out_text, err_text = process.communicate(timeout=TIMEOUT)
            done.append(
                subprocess.CompletedProcess(command, process.returncode, out_text, err_text)
            )
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
    return done
