"""`specc run --backend tensorflow` on several local devices: MirroredStrategy, one replica
per device, the global batch cut into equal replica slices. Here the CPU is split into two
logical devices (SPECC_TF_CPU_REPLICAS=2), the stand-in for a machine with two GPUs."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from dist_helpers import spec, specc

from specc.errors import UsageError
from specc.run.record import load_arrays

pytestmark = pytest.mark.timeout(600)
REPLICAS = {"SPECC_TF_CPU_REPLICAS": "2"}


def _spec(tmp_path: Path, batch: str = "batch 32 shuffle drop_last") -> Path:
    path = tmp_path / "tiny.nn"
    path.write_text(spec(batch=batch).replace("    batchnorm\n", ""))  # batchnorm: per replica
    return path


def test_two_replicas_train_the_single_device_model(tmp_path: Path) -> None:
    path = _spec(tmp_path)
    args = ["run", str(path), "--backend", "tensorflow", "--out"]
    two = specc(*args, str(tmp_path / "two"), **REPLICAS)
    assert two.returncode == 0, two.stderr
    assert "device cpu:0,1 (auto" in two.stderr
    assert "global batch 32 = 2 replicas x 16" in two.stderr
    assert two.stdout.count("run directory:") == 1 and "epoch 3/3" in two.stderr
    run = json.loads((tmp_path / "two/run.json").read_text())
    assert run["resolved"]["device"] == "cpu:0,1" and run["replicas"] == 2 and run["ranks"] == 1

    one = specc(*args, str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    assert "device cpu (auto" in one.stderr and "replicas" not in one.stderr
    a = load_arrays(tmp_path / "one/weights.safetensors")[0]
    b = load_arrays(tmp_path / "two/weights.safetensors")[0]
    assert a.keys() == b.keys()
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5, rtol=0, err_msg=key)
    m1 = json.loads((tmp_path / "one/metrics.json").read_text())
    m2 = json.loads((tmp_path / "two/metrics.json").read_text())
    for key in ("loss", "accuracy", "val_loss", "val_accuracy", "test_loss", "test_accuracy"):
        assert m2[key] == pytest.approx(m1[key], abs=1e-5), key
    steps = [json.loads(line) for line in (tmp_path / "two/metrics.jsonl").read_text().splitlines()]
    single = [
        json.loads(line) for line in (tmp_path / "one/metrics.jsonl").read_text().splitlines()
    ]
    l2 = [r["loss"] for r in steps if "step" in r]
    l1 = [r["loss"] for r in single if "step" in r]
    assert len(l2) == len(l1) == 9  # 3 epochs x 3 global batches
    np.testing.assert_allclose(l2, l1, atol=1e-5, rtol=0)


def test_a_batch_the_replicas_cannot_share_is_e602(tmp_path: Path) -> None:
    path = _spec(tmp_path, batch="batch 31 shuffle drop_last")
    result = specc(
        "run", str(path), "--backend", "tensorflow", "--out", str(tmp_path / "r"), **REPLICAS
    )
    assert result.returncode == 1
    assert "E602" in result.stderr and "batch 31 cannot be split over 2 replicas" in result.stderr
    assert "use a batch that 2 divides (e.g. 30)" in result.stderr
    assert not (tmp_path / "r").exists()


def test_splitting_a_started_tensorflow_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from specc.executors.tensorflow import _tf, devices

    tf = _tf()
    tf.config.list_logical_devices("CPU")  # TensorFlow has started in this process
    monkeypatch.setenv("SPECC_TF_CPU_REPLICAS", "3")
    with pytest.raises(UsageError) as caught:
        devices.split_cpu(tf)
    assert caught.value.message == (
        "SPECC_TF_CPU_REPLICAS=3: TensorFlow had already started in this process, so its "
        "CPU can no longer be split"
    )
    monkeypatch.setenv("SPECC_TF_CPU_REPLICAS", "two")
    with pytest.raises(UsageError, match="expected a whole number of CPU replicas"):
        devices.cpu_replicas()
