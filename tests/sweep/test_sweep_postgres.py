"""`specc sweep --storage postgresql://...` on a real PostgreSQL server: two worker
processes finish exactly the asked trials, none lost or run twice, including after a
worker was killed mid-trial (its trial is failed and its values retried)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from postgres_server import postgres_server
from sweep_helpers import SMALL, tiny_spec

from specc.sweep.study import KILL_TRIAL_ENV

pytestmark = pytest.mark.timeout(900)


def _command(spec: Path, out: Path, storage: str) -> list[str]:
    return [
        *(sys.executable, "-m", "specc", "sweep", str(spec), "--out", str(out), *SMALL),
        *("--trials", "4", "--sampler", "random", "--storage", storage, "--study", "pg"),
    ]


def test_two_workers_on_postgres_survive_a_killed_worker(tmp_path: Path) -> None:
    import optuna

    spec = tmp_path / "lr.nn"
    spec.write_text(tiny_spec())
    out = tmp_path / "sweep"
    with postgres_server() as url:
        command = _command(spec, out, url)
        env = {**os.environ, KILL_TRIAL_ENV: "1"}
        killed = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert killed.returncode == -signal.SIGKILL, killed.stderr
        before = optuna.load_study(study_name="pg", storage=url).get_trials(deepcopy=False)
        assert [t.state.name for t in before] == ["COMPLETE", "RUNNING"]
        first = (out / "trials/trial-0000/metrics.json").read_bytes()

        workers = [
            subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
            for _ in range(2)
        ]
        try:
            outputs = [w.communicate(timeout=300) for w in workers]
        finally:
            for w in workers:
                if w.poll() is None:
                    w.kill()
        for worker, (_, err) in zip(workers, outputs, strict=True):
            assert worker.returncode == 0, err
        trials = optuna.load_study(study_name="pg", storage=url).get_trials(deepcopy=False)

    ran = [t for t in trials if not t.user_attrs.get("surplus")]
    states = {t.number: t.state.name for t in ran}
    assert sorted(states.values()) == ["COMPLETE"] * 4 + ["FAIL"]
    assert states[0] == "COMPLETE" and states[1] == "FAIL"
    retries = [t for t in ran if t.user_attrs.get("retry_of") == 1]
    assert len(retries) == 1 and retries[0].state.name == "COMPLETE"
    assert retries[0].params == before[1].params
    # One run directory per trial number (a number run twice would find its directory
    # taken), and the trial finished before the kill was not rerun.
    dirs = sorted(p.name for p in (out / "trials").iterdir())
    assert dirs == [f"trial-{n:04d}" for n in sorted(states)]
    assert (out / "trials/trial-0000/metrics.json").read_bytes() == first
    pids = {t.user_attrs["worker"]["pid"] for t in ran if t.number != 1 and t.number != 0}
    assert pids <= {w.pid for w in workers}
    lines = [line for _, err in outputs for line in err.splitlines() if line.startswith("trial ")]
    recovered = [line for line in lines if "was interrupted (its worker is gone)" in line]
    assert [line.split()[1] for line in recovered] == ["1"]  # failed once, by one worker
    reported = sorted(int(line.split()[1]) for line in lines if line not in recovered)
    assert reported == sorted(n for n, s in states.items() if s == "COMPLETE" and n != 0)
    board = json.loads((out / "leaderboard.json").read_text())
    assert sorted(row["trial"] for row in board["trials"]) == sorted(states)
