"""`specc emit --target pytorch --ddp`: the emitted script trains data-parallel under
torchrun (2 CPU processes, gloo on loopback) and ends with the single-process model."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from dist_helpers import TIMEOUT, env, free_port, spec

from specc.analysis import analyze
from specc.cli import main
from specc.emit import emit
from tests.emit.conftest import lint

pytestmark = pytest.mark.timeout(600)
EXTRA = "    early_stopping monitor=val_loss patience=2\n    checkpoint best monitor=val_accuracy\n"


def _script(tmp_path: Path) -> Path:
    text = spec(EXTRA).replace("    batchnorm\n", "")  # batchnorm is per rank in the script
    script = tmp_path / "tiny_pytorch.py"
    script.write_text(emit(analyze(text, "tiny.nn"), "pytorch", ddp=True))
    return script


def test_the_emitted_script_trains_the_same_model_on_two_processes(tmp_path: Path) -> None:
    import torch

    script = _script(tmp_path)
    assert lint(script.read_text()) == []
    single = subprocess.run(
        [sys.executable, str(script), "--out", str(tmp_path / "one")],
        env=env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert single.returncode == 0, single.stderr
    launcher = [sys.executable, "-m", "torch.distributed.run", "--nproc-per-node", "2"]
    launcher += ["--master-addr", "127.0.0.1", "--master-port", str(free_port())]
    two = subprocess.run(
        [*launcher, str(script), "--out", str(tmp_path / "two")],
        env=env(),
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert two.returncode == 0, two.stderr
    assert two.stdout.count("epoch 3/3") == 1  # rank 0 prints
    assert sorted(p.name for p in (tmp_path / "two").iterdir()) == [
        "best.pt",
        "history.json",
        "model.pt",
    ]
    a, b = (torch.load(tmp_path / d / "model.pt") for d in ("one", "two"))
    for key in a:
        np.testing.assert_allclose(a[key].numpy(), b[key].numpy(), atol=1e-5, err_msg=key)
    h1, h2 = (json.loads((tmp_path / d / "history.json").read_text()) for d in ("one", "two"))
    assert h1.keys() == h2.keys() and len(h1["loss"]) == 3
    for key in h1:
        np.testing.assert_allclose(h1[key], h2[key], atol=1e-5, err_msg=key)


def test_ddp_is_a_pytorch_flag(tmp_path: Path) -> None:
    path = tmp_path / "tiny.nn"
    path.write_text(spec())
    plain = emit(analyze(spec(), "tiny.nn"), "pytorch")
    assert "DistributedDataParallel" not in plain and "RANK" not in plain
    result = CliRunner().invoke(main, ["emit", str(path), "--target", "keras", "--ddp"])
    assert result.exit_code == 2
    assert "--ddp is for --target pytorch only, not keras" in result.output
