"""`specc run --backend tensorflow` on two workers named by TF_CONFIG (MultiWorkerMirrored-
Strategy, loopback), started by hand: the single-process model, one run directory, rank 0
reports; a worker killed with SIGKILL makes the other exit with a message, not hang."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from dist_helpers import TIMEOUT, env, spec, tf_workers

from specc.run.record import load_arrays

pytestmark = pytest.mark.timeout(600)


# Worker 0 as TensorFlow's health-check thread leaves it on a loaded machine: the thread
# finds worker 1 gone and aborts the collectives between two of worker 0's steps (with
# INTERNAL when its probe met an unexpected error), so the next step fails with that status,
# not with a lost connection.
ABORTED_BETWEEN_STEPS = """
import sys, time
import specc.executors.tensorflow as backend
from specc.cli import main

original, calls = backend.train_epoch, []


def train_epoch(*args, **kwargs):
    import tensorflow as tf
    from tensorflow.python.eager import context

    calls.append(1)
    if len(calls) == 2:  # epoch 2: worker 1 killed itself after epoch 1
        while True:
            try:
                context.context().check_collective_ops_peer_health(
                    "/job:worker/replica:0/task:1", timeout_in_ms=1000
                )
            except tf.errors.OpError:
                break
            time.sleep(0.05)
        context.context().abort_collective_ops(
            tf.errors.INTERNAL, "unexpected exception in check alive: a test"
        )
    return original(*args, **kwargs)


backend.train_epoch = train_epoch
main()
"""


def test_two_tensorflow_workers_train_the_single_process_model(tmp_path: Path) -> None:
    path = tmp_path / "tiny.nn"
    path.write_text(spec().replace("    batchnorm\n", ""))  # batchnorm: per worker in tf
    runs = tmp_path / "runs"
    rank0, rank1 = tf_workers(path, runs / "two")
    assert rank0.returncode == 0, rank0.stderr
    assert rank1.returncode == 0, rank1.stderr
    assert rank1.stdout == ""  # rank 0 reports
    assert "global batch 32 = 2 ranks x 16" in rank0.stderr
    assert rank0.stdout.count("run directory:") == 1 and "epoch 3/3" in rank0.stderr
    assert [p.name for p in runs.iterdir()] == ["two"]

    command = [sys.executable, "-m", "specc", "run", str(path), "--backend", "tensorflow"]
    single = subprocess.run(
        [*command, "--out", str(tmp_path / "one")],
        env=env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert single.returncode == 0, single.stderr
    a = load_arrays(tmp_path / "one/weights.safetensors")[0]
    b = load_arrays(runs / "two/weights.safetensors")[0]
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5, rtol=0, err_msg=key)
    one = json.loads((tmp_path / "one/metrics.json").read_text())
    two = json.loads((runs / "two/metrics.json").read_text())
    for key in ("loss", "val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert two[key] == pytest.approx(one[key], abs=1e-5), key


def test_a_killed_worker_makes_the_other_exit_with_a_message(tmp_path: Path) -> None:
    path = tmp_path / "tiny.nn"
    path.write_text(spec(epochs=20).replace("    batchnorm\n", ""))
    run_dir = tmp_path / "runs/killed"
    rank0, rank1 = tf_workers(
        path, run_dir, SPECC_TEST_STOP_AFTER_EPOCH="1", SPECC_TEST_STOP_RANK="1"
    )  # each would fail the test after TIMEOUT seconds: a hang is a failure
    assert rank1.returncode == -signal.SIGKILL
    assert rank0.returncode == 1, rank0.stderr
    errors = [line for line in rank0.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and errors[0].startswith(
        "error: rank 0: another rank stopped answering ("
    ), rank0.stderr
    assert "function_node" not in errors[0]
    assert (
        f"hint: continue from the last checkpoint: specc run --resume {run_dir} (on every worker)"
        in rank0.stderr
    )
    assert "Traceback" not in rank0.stderr and "epoch 2/20" not in rank0.stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"


def test_collectives_aborted_between_steps_are_the_lost_worker_too(tmp_path: Path) -> None:
    path = tmp_path / "tiny.nn"
    path.write_text(spec(epochs=20).replace("    batchnorm\n", ""))
    run_dir = tmp_path / "runs/aborted"
    rank0, rank1 = tf_workers(
        path,
        run_dir,
        ["-c", ABORTED_BETWEEN_STEPS],
        SPECC_TEST_STOP_AFTER_EPOCH="1",
        SPECC_TEST_STOP_RANK="1",
    )
    assert rank1.returncode == -signal.SIGKILL
    assert rank0.returncode == 1, rank0.stderr
    assert "Traceback" not in rank0.stderr, rank0.stderr
    errors = [line for line in rank0.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: rank 0: another rank stopped answering (Collective ops is aborted by: "
        "unexpected exception in check alive: a test)"
    ], rank0.stderr


def test_a_worker_on_several_local_devices_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "tiny.nn"
    path.write_text(spec().replace("    batchnorm\n", ""))
    rank0, rank1 = tf_workers(path, tmp_path / "runs/r", SPECC_TF_CPU_REPLICAS="2")
    assert rank0.returncode == rank1.returncode == 2, rank0.stderr
    assert (
        "error: a TF_CONFIG worker trains on one device, and `--device auto` gives several "
        "here (cpu:0,1)"
    ) in rank0.stderr
    assert "start one worker per device, each with --device gpu:N" in rank0.stderr
    assert "error:" not in rank1.stderr  # rank 0 says it once
    assert not (tmp_path / "runs").exists()
