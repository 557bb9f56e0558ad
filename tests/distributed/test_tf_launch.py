"""`specc run --nproc 2 --backend tensorflow`: two TF_CONFIG workers on loopback started by
specc itself. The single-process model, one run directory; early stopping ends both
workers; a worker killed with SIGKILL ends the job with one message, no process is left,
and the run resumes from its last checkpoint. Every run is bounded (dist_helpers.TIMEOUT)."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dist_helpers import TIMEOUT, env, spec, specc

from specc.run.record import load_arrays

pytestmark = pytest.mark.timeout(600)
TF = ("--backend", "tensorflow")


def _spec(tmp_path: Path, extra: str = "", epochs: int = 3) -> Path:
    path = tmp_path / "tiny.nn"
    path.write_text(spec(extra, epochs).replace("    batchnorm\n", ""))  # per worker in tf
    return path


def _close(a: Path, b: Path) -> None:
    left, right = load_arrays(a)[0], load_arrays(b)[0]
    assert left.keys() == right.keys()
    for key in left:
        np.testing.assert_allclose(left[key], right[key], atol=1e-5, rtol=0, err_msg=key)


def test_nproc_starts_tensorflow_workers_that_train_the_single_process_model(
    tmp_path: Path,
) -> None:
    path = _spec(tmp_path)
    runs = tmp_path / "runs"
    two = specc("run", str(path), *TF, "--nproc", "2", "--out", str(runs / "two"))
    assert two.returncode == 0, two.stderr
    assert "global batch 32 = 2 ranks x 16" in two.stderr
    assert two.stdout.count("run directory:") == 1 and two.stderr.count("epoch 3/3") == 1
    assert [p.name for p in runs.iterdir()] == ["two"]
    assert json.loads((runs / "two/run.json").read_text())["ranks"] == 2

    one = specc("run", str(path), *TF, "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    _close(tmp_path / "one/weights.safetensors", runs / "two/weights.safetensors")
    m1 = json.loads((tmp_path / "one/metrics.json").read_text())
    m2 = json.loads((runs / "two/metrics.json").read_text())
    for key in ("loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert m2[key] == pytest.approx(m1[key], abs=1e-5), key


def test_early_stopping_is_decided_once_and_ends_both_workers(tmp_path: Path) -> None:
    # min_delta so large that nothing improves after the first epoch: stop after epoch 2
    path = _spec(tmp_path, "    early_stopping monitor=val_loss patience=1 min_delta=100\n", 20)
    done = specc("run", str(path), *TF, "--nproc", "2", "--out", str(tmp_path / "es"), "--json")
    assert done.returncode == 0, done.stderr  # both workers left the loop, together
    assert json.loads(done.stdout)["epochs"] == 2  # one JSON object: rank 0's
    metrics = json.loads((tmp_path / "es/metrics.json").read_text())
    assert metrics["stopped_early"] is True and metrics["epochs"] == 2


def test_a_killed_worker_is_one_message_no_process_is_left_and_the_run_resumes(
    tmp_path: Path,
) -> None:
    path = _spec(tmp_path)
    run_dir = tmp_path / "killed"
    command = [sys.executable, "-m", "specc", "run", str(path), *TF, "--nproc", "2"]
    launcher = subprocess.Popen(
        [*command, "--out", str(run_dir)],
        env=env(SPECC_TEST_STOP_AFTER_EPOCH="1", SPECC_TEST_STOP_RANK="1"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,  # the launcher and its workers: one process group
    )
    try:
        _, err = launcher.communicate(timeout=TIMEOUT)
        with pytest.raises(ProcessLookupError):  # the launcher left no worker behind
            os.killpg(launcher.pid, 0)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(launcher.pid, signal.SIGKILL)
    assert launcher.returncode == 1, err
    errors = [line for line in err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, err
    assert errors[0].startswith("error: worker 1 (pid ")
    assert errors[0].endswith("was stopped by SIGKILL; the other worker(s) were stopped too")
    assert f"hint: continue from the last checkpoint: specc run --resume {run_dir} --nproc 2" in err
    assert "Traceback" not in err and "epoch 1/3" in err and "epoch 2/3" not in err

    # the backend comes from the run itself: `--nproc 2` starts tensorflow workers again
    resumed = specc("run", "--resume", str(run_dir), "--nproc", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "global batch 32 = 2 ranks x 16" in resumed.stderr
    assert f"resuming {run_dir} after epoch 1" in resumed.stderr
    assert resumed.stderr.count("epoch 3/3") == 1 and "epoch 1/3" not in resumed.stderr
    assert json.loads((run_dir / "metrics.json").read_text())["epochs"] == 3
    whole = specc("run", str(path), *TF, "--out", str(tmp_path / "whole"), "-q")
    assert whole.returncode == 0, whole.stderr
    _close(tmp_path / "whole/weights.safetensors", run_dir / "weights.safetensors")


def test_a_spec_error_is_reported_once(tmp_path: Path) -> None:
    path = _spec(tmp_path).read_text().replace("batch 32", "batch 31")
    (tmp_path / "odd.nn").write_text(path)
    result = specc(
        "run", str(tmp_path / "odd.nn"), *TF, "--nproc", "2", "--out", str(tmp_path / "r")
    )
    assert result.returncode == 1
    assert result.stderr.count("error[E602]: batch 31 cannot be split over 2 ranks") == 1
    assert f"--> {tmp_path / 'odd.nn'}:9:11" in result.stderr
    assert result.stderr.count("error: batch 31 cannot be split over 2 ranks") == 1
    assert "Traceback" not in result.stderr and not (tmp_path / "r").exists()


def test_ctrl_c_on_every_worker_is_one_message(tmp_path: Path) -> None:
    path = _spec(tmp_path)
    run_dir = tmp_path / "stopped"
    # each worker sends itself SIGINT when epoch 2 starts, as a terminal's Ctrl-C reaches all
    done = specc(
        *("run", str(path), *TF, "--nproc", "2", "--out", str(run_dir)),
        SPECC_TEST_INTERRUPT_AT_EPOCH="1",
    )
    assert done.returncode == 130, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert errors == ["error: interrupted after epoch 1"], done.stderr
    assert done.stderr.count(f"hint: continue it: specc run --resume {run_dir}") == 1
    assert json.loads((run_dir / "run.json").read_text())["status"] == "interrupted"
