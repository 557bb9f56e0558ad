"""A model with several named outputs trained data-parallel: torch DDP ranks (`--nproc 2`,
gloo on loopback), TensorFlow's mirrored replicas (two logical CPUs) and two TF_CONFIG
workers each give the single-process model: the same final weights, and the weighted total,
each output's loss and each output's metrics on every split within 1e-5; so does the
script `specc emit --target pytorch --ddp` writes, under torchrun."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from dist_helpers import TIMEOUT, env, free_port, specc, tf_workers

from specc.analysis import analyze
from specc.emit import emit
from specc.run.record import load_arrays

pytestmark = pytest.mark.timeout(600)

# A 3-way class (logits: the loss applies the softmax) and a real value at weight 0.5, from
# one trunk with batchnorm (torch: synced over ranks) and a cosine schedule; 96 training
# examples are 3 global batches of 32. Dropout 0 keeps the comparison exact.
SPEC = """\
model two {
    input 8
    dense 16 relu
    batchnorm
    dropout 0.0
    output kind {
        dense 3
    }
    output size {
        dense 1
    }
}

data synthetic samples=160 features=8 classes=3 noise=2.0 {
    batch 32 shuffle drop_last
    validation 0.2
    test 0.2
}

train {
    output kind {
        loss sparse_categorical_crossentropy
        metrics accuracy
    }
    output size {
        loss mse
        weight 0.5
        metrics mae
    }
    optimizer sgd lr=0.1 momentum=0.9
    schedule cosine
    epochs 3
    seed 3
}
"""

# every record a run with these outputs writes, on the three splits
KEYS = [
    f"{split}{name}"
    for split in ("", "val_", "test_")
    for name in ("loss", "kind_loss", "size_loss", "kind_accuracy", "size_mae")
]


def _write(tmp_path: Path, batchnorm: bool) -> Path:
    path = tmp_path / "two.nn"
    path.write_text(SPEC if batchnorm else SPEC.replace("    batchnorm\n", ""))
    return path


def _assert_same_model(one: Path, many: Path) -> dict[str, Any]:
    """The distributed run `many` equals the single-process run `one`; its metrics."""
    a, b = load_arrays(one / "weights.safetensors")[0], load_arrays(many / "weights.safetensors")[0]
    assert a.keys() == b.keys() and len(a) >= 6
    for key in a:
        np.testing.assert_allclose(b[key], a[key], atol=1e-5, rtol=0, err_msg=key)
    m1 = json.loads((one / "metrics.json").read_text())
    m2 = json.loads((many / "metrics.json").read_text())
    for key in KEYS:
        assert m2[key] == pytest.approx(m1[key], abs=1e-5), key
    # the weighted total is the spec's: kind + 0.5 * size, on every split
    for split in ("", "val_", "test_"):
        total = m2[f"{split}kind_loss"] + 0.5 * m2[f"{split}size_loss"]
        assert m2[f"{split}loss"] == pytest.approx(total, abs=1e-5), split
    # each step's total loss, reduced over ranks, is the single process's
    s1 = [json.loads(line) for line in (one / "metrics.jsonl").read_text().splitlines()]
    s2 = [json.loads(line) for line in (many / "metrics.jsonl").read_text().splitlines()]
    l1 = [r["loss"] for r in s1 if "step" in r]
    l2 = [r["loss"] for r in s2 if "step" in r]
    assert len(l1) == len(l2) == 9  # 3 epochs x 3 global batches
    np.testing.assert_allclose(l2, l1, atol=1e-5, rtol=0)
    epochs = [r for r in s2 if "step" not in r and "epoch" in r]
    assert len(epochs) == 3 and all("val_size_mae" in r for r in epochs)
    return m2


def test_two_torch_ranks_train_the_single_process_model(tmp_path: Path) -> None:
    path = _write(tmp_path, batchnorm=True)
    runs = tmp_path / "runs"
    one = specc("run", str(path), "--out", str(runs / "one"))
    assert one.returncode == 0, one.stderr
    two = specc("run", str(path), "--nproc", "2", "--sync-batchnorm", "--out", str(runs / "two"))
    assert two.returncode == 0, two.stderr
    assert "global batch 32 = 2 ranks x 16" in two.stderr
    assert two.stdout.count("run directory:") == 1 and "Traceback" not in two.stderr
    assert sorted(p.name for p in runs.iterdir()) == ["one", "two"]
    metrics = _assert_same_model(runs / "one", runs / "two")
    assert 0.3 < metrics["test_kind_accuracy"] < 1.0  # the comparison is not of a trivial task


def test_two_mirrored_replicas_train_the_single_device_model(tmp_path: Path) -> None:
    path = _write(tmp_path, batchnorm=False)  # tensorflow: batchnorm normalises per replica
    args = ["run", str(path), "--backend", "tensorflow", "--out"]
    one = specc(*args, str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    two = specc(*args, str(tmp_path / "two"), SPECC_TF_CPU_REPLICAS="2")
    assert two.returncode == 0, two.stderr
    assert "global batch 32 = 2 replicas x 16" in two.stderr
    assert json.loads((tmp_path / "two/run.json").read_text())["replicas"] == 2
    metrics = _assert_same_model(tmp_path / "one", tmp_path / "two")
    assert 0.3 < metrics["test_kind_accuracy"] < 1.0


def test_two_tensorflow_workers_train_the_single_process_model(tmp_path: Path) -> None:
    path = _write(tmp_path, batchnorm=False)
    runs = tmp_path / "runs"
    rank0, rank1 = tf_workers(path, runs / "two")
    assert rank0.returncode == 0, rank0.stderr
    assert rank1.returncode == 0, rank1.stderr
    assert rank1.stdout == "" and "global batch 32 = 2 ranks x 16" in rank0.stderr
    assert [p.name for p in runs.iterdir()] == ["two"]
    one = specc("run", str(path), "--backend", "tensorflow", "--out", str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    _assert_same_model(tmp_path / "one", runs / "two")


def test_the_emitted_ddp_script_trains_the_single_process_model(tmp_path: Path) -> None:
    import torch

    text = _write(tmp_path, batchnorm=False).read_text()  # the script normalises per rank
    script = tmp_path / "two_pytorch.py"
    script.write_text(emit(analyze(text, "two.nn"), "pytorch", ddp=True))
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    launcher += ["--master-addr", "127.0.0.1", "--master-port", str(free_port())]
    for command, out in (([sys.executable], "one"), (launcher, "two")):
        done = subprocess.run(
            [*command, str(script), "--out", str(tmp_path / out)],
            env=env(),
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
        assert done.returncode == 0, done.stderr
    a, b = (torch.load(tmp_path / d / "model.pt") for d in ("one", "two"))
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), atol=1e-5, err_msg=key)
    h1, h2 = (json.loads((tmp_path / d / "history.json").read_text()) for d in ("one", "two"))
    assert sorted(h1) == sorted(h2) and {f"val_{k}" for k in KEYS[:5]} <= h1.keys()
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], atol=1e-5, err_msg=key)
