"""Sweeps across processes: a killed sweep resumes keeping its finished trials (the
interrupted one is marked failed and retried), and two concurrent workers sharing one
SQLite storage run the total exactly, never the same trial twice."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

from sweep_helpers import SMALL, tiny_spec

from specc.sweep.study import KILL_TRIAL_ENV


def _command(spec: Path, out: Path, *flags: str) -> list[str]:
    return [sys.executable, "-m", "specc", "sweep", str(spec), "--out", str(out), *SMALL, *flags]


def _trials(out: Path, name: str, storage: str | None = None) -> list[object]:
    import optuna

    url = storage or f"sqlite:///{out / 'study.db'}"
    return optuna.load_study(study_name=name, storage=url).get_trials(deepcopy=False)


def test_a_killed_sweep_resumes_keeping_finished_trials(tmp_path: Path) -> None:
    spec = tmp_path / "lr.nn"
    spec.write_text(tiny_spec())
    out = tmp_path / "sweep"
    command = _command(spec, out, "--trials", "3", "--sampler", "random")
    env = {**os.environ, KILL_TRIAL_ENV: "1"}
    killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert killed.returncode == -signal.SIGKILL, killed.stderr

    before = {t.number: t for t in _trials(out, "lr")}  # type: ignore[attr-defined]
    assert [before[n].state.name for n in sorted(before)] == ["COMPLETE", "RUNNING"]
    first_metrics = (out / "trials/trial-0000/metrics.json").read_bytes()
    assert not (out / "trials/trial-0001/metrics.json").exists()  # killed mid-trial

    # Resume with two local workers: the retry and the missing trial run side by side.
    resumed = subprocess.run(
        [*command, "--jobs", "2", "--json"], capture_output=True, text=True, timeout=600
    )
    assert resumed.returncode == 0, resumed.stderr
    summary = json.loads(resumed.stdout)
    assert summary["counts"]["complete"] == 3 and summary["counts"]["fail"] == 1
    assert "param_importances.png skipped" in " ".join(summary["notes"])  # one searched value
    assert summary["best"]["params"].keys() == {"train.optimizer.lr"}

    after = {t.number: t for t in _trials(out, "lr")}  # type: ignore[attr-defined]
    assert after[0].state.name == "COMPLETE" and after[0].value == before[0].value
    assert (out / "trials/trial-0000/metrics.json").read_bytes() == first_metrics  # not rerun
    assert after[1].state.name == "FAIL"
    retries = [t for t in after.values() if t.user_attrs.get("retry_of") == 1]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == before[1].params
    assert sorted(n for n, t in after.items() if t.state.name == "COMPLETE") == [0, 2, 3]

    board = json.loads((out / "leaderboard.json").read_text())
    failed = next(t for t in board["trials"] if t["trial"] == 1)
    assert failed["error"] == f"interrupted; retried as trial {retries[0].number}"
    assert (out / "best.nn").is_file() and (out / "optimization_history.png").is_file()

    again = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0 and "trial " not in again.stderr  # nothing left to run
    assert len(_trials(out, "lr")) == len(after)


def test_two_concurrent_workers_share_one_study(tmp_path: Path) -> None:
    spec = tmp_path / "lr.nn"
    spec.write_text(tiny_spec())
    out = tmp_path / "shared"
    out.mkdir()
    storage = f"sqlite:///{out / 'shared.db'}"
    command = _command(spec, out, "--trials", "5", "--storage", storage, "--study", "s")
    workers = [
        subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [w.communicate(timeout=600) for w in workers]
    for worker, (_, err) in zip(workers, outputs, strict=True):
        assert worker.returncode == 0, err

    trials = _trials(out, "s", storage)
    ran = [t for t in trials if not t.user_attrs.get("surplus")]  # type: ignore[attr-defined]
    assert sorted(t.state.name for t in ran) == ["COMPLETE"] * 5  # type: ignore[attr-defined]
    numbers = [t.number for t in ran]  # type: ignore[attr-defined]
    dirs = sorted(p.name for p in (out / "trials").iterdir())
    # One run directory per trial number: a number run twice would have failed on
    # "already holds a run", and surplus trials never train.
    assert dirs == [f"trial-{n:04d}" for n in sorted(numbers)]
    pids = {t.user_attrs["worker"]["pid"] for t in ran}  # type: ignore[attr-defined]
    assert pids <= {w.pid for w in workers}
    reported = [
        line for _, err in outputs for line in err.splitlines() if line.startswith("trial ")
    ]
    assert sorted(int(line.split()[1]) for line in reported) == sorted(numbers)


def test_ctrl_c_fails_the_trial_queues_its_values_and_still_writes_the_report(
    tmp_path: Path,
) -> None:
    spec = tmp_path / "lr.nn"
    spec.write_text(tiny_spec())
    out = tmp_path / "sweep"
    env = {**os.environ, KILL_TRIAL_ENV: "0:INT"}
    command = _command(spec, out, "--trials", "2", "--sampler", "random")
    stopped = subprocess.run(command, env=env, capture_output=True, text=True, timeout=600)
    assert stopped.returncode == 130, stopped.stderr
    assert "error: interrupted" in stopped.stderr and "Traceback" not in stopped.stderr
    trials = _trials(out, "lr")
    assert [t.state.name for t in trials] == ["FAIL", "WAITING"]  # type: ignore[attr-defined]
    assert trials[1].params == {} and trials[1].user_attrs == {"retry_of": 0}  # type: ignore[attr-defined]
    board = json.loads((out / "leaderboard.json").read_text())
    assert board["best"] is None
    assert board["trials"][0]["error"] == "interrupted; retried as trial 1"
    assert "no trial completed yet" in " ".join(board["notes"])
