"""`specc sweep --nproc 2`: each trial is a 2-rank `specc run --nproc 2` job (gloo on
loopback, or two TF_CONFIG workers) in its own run directory, while the sweep alone talks to
Optuna. A trial's result is the single-process run of its concrete spec; a pruned trial's
job is stopped with no process left; a failed job is one failed trial with its message."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dist_helpers import spec, specc

from specc.run.record import load_arrays

pytestmark = pytest.mark.timeout(900)
SEARCH = ("lr=0.1", "lr=choice(0.05, 0.1)")


def _sweep(tmp_path: Path, text: str, *flags: str, expect: int = 0) -> tuple[Path, dict[str, Any]]:
    """`specc sweep --nproc 2 --json` of `text`: the sweep folder and its JSON answer."""
    path = tmp_path / "search.nn"
    path.write_text(text)
    out = tmp_path / "sweep"
    done = specc("sweep", str(path), "--nproc", "2", "--out", str(out), "--json", *flags)
    assert "Traceback" not in done.stderr, done.stderr
    assert done.returncode == expect, done.stderr
    return out, json.loads(done.stdout)


def _epochs(run_dir: Path) -> list[dict[str, Any]]:
    lines = (run_dir / "metrics.jsonl").read_text().splitlines()
    return [r for r in map(json.loads, lines) if "step" not in r]


def _same_as_one_process(run_dir: Path, backend: str, tmp_path: Path) -> None:
    """The trial's concrete spec (its run directory's spec.nn) trained in one process."""
    assert "choice(" not in (run_dir / "spec.nn").read_text()
    one = tmp_path / f"one-{run_dir.name}"
    done = specc("run", str(run_dir / "spec.nn"), "--backend", backend, "--out", str(one))
    assert done.returncode == 0, done.stderr
    got = json.loads((run_dir / "metrics.json").read_text())
    want = json.loads((one / "metrics.json").read_text())
    for key in ("loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert got[key] == pytest.approx(want[key], abs=1e-5), (run_dir.name, key)
    mine = load_arrays(run_dir / "weights.safetensors")[0]
    theirs = load_arrays(one / "weights.safetensors")[0]
    assert mine.keys() == theirs.keys()
    for key in mine:
        np.testing.assert_allclose(mine[key], theirs[key], atol=1e-5, rtol=0, err_msg=key)


def test_each_trial_is_a_two_rank_run_equal_to_one_process(tmp_path: Path) -> None:
    import optuna

    # no batchnorm: per-rank statistics would differ from one process's (dropout is 0.0)
    text = spec().replace(*SEARCH).replace("    batchnorm\n", "")
    out, result = _sweep(tmp_path, text, "--sampler", "grid", "--trials", "2")
    assert result["counts"]["complete"] == 2 and result["counts"]["fail"] == 0
    trials = out / "trials"
    assert sorted(p.name for p in trials.iterdir()) == ["trial-0000", "trial-0001"]
    study = optuna.load_study(study_name="search", storage=f"sqlite:///{out / 'study.db'}")
    assert sorted(t.params["train.optimizer.lr"] for t in study.trials) == [0.05, 0.1]
    for trial in study.trials:
        run_dir = trials / f"trial-{trial.number:04d}"
        assert json.loads((run_dir / "run.json").read_text())["ranks"] == 2
        assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
        # every epoch record was reported to Optuna as the sweep read it
        records = _epochs(run_dir)
        assert trial.intermediate_values == {r["epoch"]: r["val_accuracy"] for r in records}
        assert trial.value == json.loads((run_dir / "metrics.json").read_text())["val_accuracy"]
        assert f"lr={trial.params['train.optimizer.lr']}" in (run_dir / "spec.nn").read_text()
        _same_as_one_process(run_dir, "torch", tmp_path)


def test_a_tensorflow_trial_runs_on_two_workers(tmp_path: Path) -> None:
    text = spec().replace(*SEARCH).replace("    batchnorm\n", "")  # per worker in tf
    out, result = _sweep(tmp_path, text, "--backend", "tensorflow", "--trials", "1")
    assert result["counts"]["complete"] == 1, result
    (run_dir,) = (out / "trials").iterdir()
    info = json.loads((run_dir / "run.json").read_text())
    assert (info["ranks"], info["resolved"]["backend"]) == (2, "tensorflow")
    _same_as_one_process(run_dir, "tensorflow", tmp_path)


def test_a_pruned_trial_job_is_stopped_and_no_process_is_left(tmp_path: Path) -> None:
    """Five earlier trials reported an unreachable value after epoch 1, so the median pruner
    stops the sixth trial's 2-rank job after its first of 300 epochs."""
    import optuna

    (tmp_path / "sweep").mkdir()
    study = optuna.create_study(
        storage=f"sqlite:///{tmp_path / 'sweep/study.db'}",
        study_name="search",
        direction="maximize",
    )
    lr = optuna.distributions.CategoricalDistribution((0.05, 0.1))
    for _ in range(5):
        study.add_trial(
            optuna.trial.create_trial(
                params={"train.optimizer.lr": 0.1},
                distributions={"train.optimizer.lr": lr},
                value=2.0,
                intermediate_values={1: 2.0},
            )
        )
    out, result = _sweep(tmp_path, spec().replace(*SEARCH), "--trials", "6", "--epochs", "300")
    assert result["counts"] == {"complete": 5, "pruned": 1, "fail": 0, "running": 0, "waiting": 0}
    run_dir = out / "trials/trial-0005"
    assert [p.name for p in (out / "trials").iterdir()] == ["trial-0005"]
    records = _epochs(run_dir)
    assert 1 <= len(records) < 300  # stopped: Ctrl-C reached its ranks
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert not (run_dir / "metrics.json").exists()
    pruned = optuna.load_study(study_name="search", storage=f"sqlite:///{out / 'study.db'}")
    assert pruned.trials[5].intermediate_values == {1: records[0]["val_accuracy"]}
    assert _processes_naming(run_dir) == []


def _processes_naming(run_dir: Path) -> list[str]:
    """Command lines of live processes that mention `run_dir` (the job's launcher, ranks)."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            words = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if str(run_dir).encode() in words:
            found.append(b" ".join(words).decode())
    return found


def test_a_failed_trial_job_is_a_failed_trial_with_its_message(tmp_path: Path) -> None:
    """Batch 31 cannot be split over 2 ranks: each trial's job refuses it (E602, once, from
    rank 0), each trial fails with that line, and the sweep stops after 3 in a row."""
    text = spec(batch="batch 31 shuffle drop_last").replace(*SEARCH)
    out, done = _sweep(tmp_path, text, "--trials", "1", expect=1)
    assert done["error"]["message"] == (
        "3 trials failed in a row; last: E602: batch 31 cannot be split over 2 ranks"
    )
    board = json.loads((out / "leaderboard.json").read_text())
    assert [(t["state"], t["error"]) for t in board["trials"]] == [
        ("FAIL", "E602: batch 31 cannot be split over 2 ranks")
    ] * 3
    for trial in board["trials"]:
        assert _processes_naming(Path(trial["run_dir"])) == []


def test_a_diverged_trial_job_is_pruned_as_in_one_process(tmp_path: Path) -> None:
    text = spec().replace("lr=0.1", "lr=choice(1e5, 1e6)")
    out, result = _sweep(tmp_path, text, "--sampler", "grid", "--trials", "1")
    assert result["counts"]["pruned"] == 1 and result["best"] is None, result
    board = json.loads((out / "leaderboard.json").read_text())
    (trial,) = board["trials"]
    assert trial["state"] == "PRUNED"
    assert trial["error"].startswith("diverged: the loss became NaN or infinite at step ")
    assert json.loads((Path(trial["run_dir"]) / "run.json").read_text())["status"] == "failed"


def test_ctrl_c_of_the_sweep_stops_the_running_job(tmp_path: Path) -> None:
    """The sweep sends itself SIGINT after trial 0's first epoch record (its test hook)."""
    path = tmp_path / "search.nn"
    path.write_text(spec().replace(*SEARCH))
    out = tmp_path / "sweep"
    done = specc(
        *("sweep", str(path), "--nproc", "2", "--out", str(out), "--epochs", "300"),
        SPECC_TEST_SWEEP_KILL_TRIAL="0:INT",
    )
    assert done.returncode == 130, done.stderr
    assert "Traceback" not in done.stderr and "error: interrupted" in done.stderr
    run_dir = out / "trials/trial-0000"
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
    assert len(_epochs(run_dir)) < 300
    assert _processes_naming(run_dir) == []
