"""A graph model under PyTorch DDP on 2 CPU processes: residual blocks with batchnorm
(synchronised), a frozen block and a branch nothing reads (whose weights no step uses,
so DDP must not wait for their gradients) train to the single-process model."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dist_helpers import specc

from specc.plan import RunOptions
from specc.run import run as run_spec
from specc.run.record import load_arrays

pytestmark = pytest.mark.timeout(600)

GRAPH = """model tower {
    input 8
    dense 16 relu
    branch unused { dense 4 }
    residual {
        dense 16 relu; batchnorm; dense 16
    }
    relu
    residual frozen { dense 16 relu }
    parallel concat {
        branch { dense 4 }
        branch { dense 4 tanh }
    }
    dense 3
}

data synthetic classification samples=160 features=8 classes=3 noise=0.3 {
    batch 32 shuffle drop_last
    validation 0.2
    test 0.2
}

train {
    loss sparse_categorical_crossentropy
    optimizer sgd lr=0.1 momentum=0.9
    epochs 3
    metrics accuracy
    seed 3
}
"""


def test_two_ranks_train_the_single_process_graph(tmp_path: Path) -> None:
    path = tmp_path / "tower.nn"
    path.write_text(GRAPH)
    out = tmp_path / "ddp"
    done = specc("run", str(path), "--nproc", "2", "--sync-batchnorm", "--out", str(out))
    assert done.returncode == 0, done.stderr
    assert "global batch 32 = 2 ranks x 16" in done.stderr and "Traceback" not in done.stderr
    single = run_spec(GRAPH, RunOptions(out=str(tmp_path / "single"), quiet=True))
    want, _ = load_arrays(single.run_dir / "weights.safetensors")
    got, _ = load_arrays(out / "weights.safetensors")
    assert got.keys() == want.keys()
    for key in want:
        np.testing.assert_allclose(got[key], want[key], atol=1e-5, rtol=0, err_msg=key)
    metrics = json.loads((out / "metrics.json").read_text())
    single_metrics = json.loads((single.run_dir / "metrics.json").read_text())
    for key in ("loss", "accuracy", "test_loss", "test_accuracy"):
        assert metrics[key] == pytest.approx(single_metrics[key], abs=1e-5), key
