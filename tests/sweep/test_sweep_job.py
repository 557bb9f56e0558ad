"""The pieces of a `specc sweep --nproc` trial job that need no framework: its command, its
one-line failure message, and stopping a job whose ranks live in sessions of their own (as
torchrun starts them) without leaving a process behind."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from specc.plan import RunOptions
from specc.sweep.job import alive, command, descendants, failure, start, stop

# A launcher that starts one rank in a new session (torchrun's way), waits for it and prints
# how it ended; a "stubborn" rank ignores SIGINT and SIGTERM (a rank stuck in a collective),
# so only SIGKILL ends it.
LAUNCHER = """
import subprocess, sys
rank = "import signal, time\\n"
if sys.argv[1] == "stubborn":
    rank += "for s in (signal.SIGINT, signal.SIGTERM): signal.signal(s, signal.SIG_IGN)\\n"
rank += "print('ready', flush=True)\\ntime.sleep(600)\\n"
print(subprocess.Popen([sys.executable, "-c", rank], start_new_session=True).wait())
"""


def test_the_command_is_specc_run_with_the_sweeps_overrides(tmp_path: Path) -> None:
    run = RunOptions(backend="tensorflow", epochs=2, limit=100, seed=None)
    args = command(tmp_path / "t.nn", "specs/a.nn", 2, tmp_path / "trial-0000", run)
    assert args[:5] == [sys.executable, "-m", "specc", "run", str(tmp_path / "t.nn")]
    assert args[5:] == [
        *("--spec-path", "specs/a.nn", "--nproc", "2", "--out", str(tmp_path / "trial-0000")),
        *("--quiet", "--backend", "tensorflow", "--epochs", "2", "--limit", "100"),
    ]


def test_the_failure_is_the_jobs_last_error_line_with_its_code() -> None:
    rendered = (
        "error[E602]: batch 31 cannot be split over 2 ranks\n  --> a.nn:10:11\n\n"
        "error: batch 31 cannot be split over 2 ranks\n  hint: use a batch that 2 divides\n"
    )
    assert failure(rendered, 1) == "E602: batch 31 cannot be split over 2 ranks"
    assert failure("error[E600]: fp16 needs CUDA\n  hint: bf16\n", 1) == "E600: fp16 needs CUDA"
    assert failure("note\nerror: rank 1 (pid 7) was stopped by SIGKILL\n", 1) == (
        "rank 1 (pid 7) was stopped by SIGKILL"
    )
    assert failure("Traceback\nValueError: odd\n", 1) == (
        "the trial's job exited with code 1: ValueError: odd"
    )
    assert failure("", -9) == "the trial's job exited with code -9"


def _started(how: str) -> tuple[subprocess.Popen[bytes], list[int]]:
    job = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, how], stdout=subprocess.PIPE, start_new_session=True
    )
    assert job.stdout is not None and job.stdout.readline() == b"ready\n"  # the rank is up
    ranks = descendants(job.pid)
    assert len(ranks) == 1
    return job, ranks


def test_stopping_a_job_ends_its_ranks_in_their_own_sessions() -> None:
    job, ranks = _started("polite")
    stop(job, grace=30)
    assert job.returncode == 0 and not any(alive(pid) for pid in ranks)
    assert job.stdout is not None and job.stdout.read() == b"-2\n"  # the rank had SIGINT


def test_a_rank_that_ignores_sigint_is_killed_after_the_grace_period() -> None:
    job, ranks = _started("stubborn")
    stop(job, grace=0.5)
    assert job.returncode == -15  # the launcher, still waiting, went at SIGTERM
    assert not any(alive(pid) for pid in ranks)  # the rank at SIGKILL


def test_a_job_gets_sigint_at_its_default_even_when_the_sweep_ignores_it(tmp_path: Path) -> None:
    """A sweep started with SIGINT ignored (`nohup specc sweep ... &`) would hand that on to
    its jobs, and a pruned job's ranks would not stop at SIGINT: `start` resets it."""
    import signal

    probe = [
        sys.executable,
        "-c",
        "import signal, sys; h = signal.getsignal(signal.SIGINT); "
        "print(h is signal.default_int_handler, h == signal.SIG_IGN, file=sys.stderr)",
    ]
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        with open(tmp_path / "log", "w+b") as log:
            assert start(probe, log).wait(timeout=60) == 0
        with open(tmp_path / "ignored", "w+b") as log:  # the control: inherited as ignored
            subprocess.Popen(probe, stderr=log).wait(timeout=60)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert (tmp_path / "log").read_text().split() == ["True", "False"]
    assert (tmp_path / "ignored").read_text().split() == ["False", "True"]
