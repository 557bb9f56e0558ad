"""Data-parallel training with PyTorch DDP on 2 CPU processes (gloo on loopback): the same
spec means the same model on one process or two, one run directory is written, decisions
end every rank, a killed rank is one clear message and the run resumes (on one process)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dist_helpers import spec, specc, torchrun

from specc.plan import RunOptions
from specc.run import run as run_spec
from specc.run.record import load_arrays

pytestmark = pytest.mark.timeout(600)


def _reference(tmp_path: Path, text: str) -> tuple[dict[str, np.ndarray], dict[str, float]]:
    """The single-process run at the same global batch."""
    result = run_spec(text, RunOptions(out=str(tmp_path / "single"), quiet=True))
    weights, _ = load_arrays(result.run_dir / "weights.safetensors")
    return weights, json.loads((result.run_dir / "metrics.json").read_text())


def _close(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5, rtol=0, err_msg=key)


def test_two_ranks_train_the_single_process_model(tmp_path: Path) -> None:
    path = tmp_path / "tiny.nn"
    path.write_text(spec())
    out = tmp_path / "runs"
    done = specc("run", str(path), "--nproc", "2", "--sync-batchnorm", "--out", str(out / "ddp"))
    assert done.returncode == 0, done.stderr
    assert "global batch 32 = 2 ranks x 16" in done.stderr
    assert done.stderr.count("epoch 3/3") == 1 and "Traceback" not in done.stderr  # rank 0 only
    assert done.stdout.count("run directory:") == 1
    assert [p.name for p in out.iterdir()] == ["ddp"]  # exactly one run directory

    weights, metrics = _reference(tmp_path, path.read_text())
    distributed, _ = load_arrays(out / "ddp/weights.safetensors")
    _close(weights, distributed)  # batchnorm running statistics included
    got = json.loads((out / "ddp/metrics.json").read_text())
    # `accuracy`: the train metric from the training passes, gathered from both ranks
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy", "lr"):
        assert got[key] == pytest.approx(metrics[key], abs=1e-5), key
    assert json.loads((out / "ddp/run.json").read_text())["ranks"] == 2
    records = [json.loads(line) for line in (out / "ddp/metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "step" in r] == list(range(1, 10))  # 3 x 3 steps


def test_early_stopping_under_torchrun_ends_both_ranks(tmp_path: Path) -> None:
    path = tmp_path / "tiny.nn"
    # min_delta so large that nothing improves after the first epoch: stop after epoch 2.
    path.write_text(spec("    early_stopping monitor=val_loss patience=1 min_delta=100\n", 20))
    done = torchrun(2, "run", str(path), "--out", str(tmp_path / "es"), "--json")
    assert done.returncode == 0, done.stderr  # both ranks left the loop: torchrun returned
    assert json.loads(done.stdout)["epochs"] == 2  # one JSON object: rank 0's
    metrics = json.loads((tmp_path / "es/metrics.json").read_text())
    assert metrics["stopped_early"] is True and metrics["epochs"] == 2


def test_a_killed_rank_is_one_message_and_the_run_resumes_on_one_process(
    tmp_path: Path,
) -> None:
    path = tmp_path / "tiny.nn"
    path.write_text(spec())
    run_dir = tmp_path / "killed"
    killed = specc(
        *("run", str(path), "--nproc", "2", "--sync-batchnorm", "--out", str(run_dir)),
        SPECC_TEST_STOP_AFTER_EPOCH="1",
        SPECC_TEST_STOP_RANK="1",
    )
    assert killed.returncode == 1
    errors = [line for line in killed.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "rank 1 (pid" in errors[0] and "SIGKILL" in errors[0]
    assert f"hint: continue from the last checkpoint: specc run --resume {run_dir} --nproc 2" in (
        killed.stderr
    )
    assert "Traceback" not in killed.stderr
    assert json.loads((run_dir / "run.json").read_text())["status"] == "running"

    resumed = specc("run", "--resume", str(run_dir), "--json")  # one process now
    assert resumed.returncode == 0, resumed.stderr
    assert json.loads(resumed.stdout)["epochs"] == 3
    weights, _ = _reference(tmp_path, path.read_text())
    _close(weights, load_arrays(run_dir / "weights.safetensors")[0])


def test_a_single_process_run_resumes_on_two_ranks(tmp_path: Path) -> None:
    path = tmp_path / "tiny.nn"
    path.write_text(spec())
    run_dir = tmp_path / "one"
    killed = specc("run", str(path), "--out", str(run_dir), "-q", SPECC_TEST_STOP_AFTER_EPOCH="1")
    assert killed.returncode == -9
    resumed = specc("run", "--resume", str(run_dir), "--nproc", "2")
    assert resumed.returncode == 0, resumed.stderr
    assert "global batch 32 = 2 ranks x 16" in resumed.stderr
    assert f"resuming {run_dir} after epoch 1" in resumed.stderr
    assert resumed.stderr.count("epoch 3/3") == 1 and "epoch 1/3" not in resumed.stderr
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert (
        metrics["epochs"] == 3
        and json.loads((run_dir / "run.json").read_text())["status"] == "finished"
    )


def test_a_nan_loss_ends_both_ranks_with_one_message(tmp_path: Path) -> None:
    path = tmp_path / "nan.nn"
    path.write_text(spec().replace("lr=0.1", "lr=1e6"))  # the largest lr the checker takes
    done = specc("run", str(path), "--nproc", "2", "--out", str(tmp_path / "nan"))
    assert done.returncode == 1
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, errors  # one message, from rank 0, though both ranks stop
    assert errors[0].startswith("error: the loss became NaN or infinite at step "), errors
    assert "Traceback" not in done.stderr
    assert json.loads((tmp_path / "nan/run.json").read_text())["status"] == "failed"


def test_a_batch_two_ranks_cannot_share_is_reported_once_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    path = tmp_path / "odd.nn"
    path.write_text(spec(batch="batch 31 shuffle drop_last"))
    done = specc("run", str(path), "--nproc", "2", "--out", str(tmp_path / "odd"))
    assert done.returncode == 1
    assert done.stderr.count("error[E602]: batch 31 cannot be split over 2 ranks") == 1
    assert f"--> {path}:10:11" in done.stderr
    assert done.stderr.count("error: batch 31 cannot be split over 2 ranks") == 1
    assert "Traceback" not in done.stderr and not (tmp_path / "odd").exists()


def test_an_e600_every_rank_meets_is_reported_once(tmp_path: Path) -> None:
    """Each rank refuses fp16 on CPU while building its model; rank 0 alone says so."""
    path = tmp_path / "tiny.nn"
    path.write_text(spec())
    out = tmp_path / "fp16"
    done = specc("run", str(path), "--nproc", "2", "--precision", "fp16", "--out", str(out))
    assert done.returncode == 1, done.stderr
    said = "error[E600]: `precision fp16` needs a CUDA GPU with the torch backend (device: cpu)"
    assert done.stderr.count(said) == 1, done.stderr
    assert done.stderr.count("hint: use `precision bf16` on CPU, or --device cuda") == 1
    assert "Traceback" not in done.stderr
    assert json.loads((out / "run.json").read_text())["status"] == "failed"
