"""A model with two named inputs trained data-parallel: each rank (torch DDP) or replica
(TensorFlow MirroredStrategy) takes its slice of every input's rows, and the result is the
single-process run's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from dist_helpers import specc

from specc.run.record import load_arrays

pytestmark = pytest.mark.timeout(600)

TWO_TOWER = """model two_tower {
    input image 1x4x4
    input meta 3
    branch img from=image { conv2d 2 3 padding=same relu; flatten; dense 4 relu }
    branch tab from=meta { dense 4 relu }
    concat img tab
    dense 2
}
data npz "two.npz" {
    batch 32 shuffle drop_last
    validation 0.2
}
train {
    loss sparse_categorical_crossentropy
    optimizer sgd lr=0.1 momentum=0.9
    epochs 2
    metrics accuracy
}
"""


def _spec(tmp_path: Path) -> Path:
    rng = np.random.default_rng(5)
    n = 160
    image = rng.normal(size=(n, 1, 4, 4)).astype(np.float32)
    meta = rng.normal(size=(n, 3)).astype(np.float32)
    y = ((image[:, 0, 0, 0] > 0) ^ (meta[:, 0] > 0)).astype(np.int64)
    np.savez(tmp_path / "two.npz", image=image, meta=meta, y=y)
    (tmp_path / "two.nn").write_text(TWO_TOWER)
    return tmp_path / "two.nn"


def _same(one: Path, two: Path) -> None:
    a, b = load_arrays(one / "weights.safetensors")[0], load_arrays(two / "weights.safetensors")[0]
    assert a.keys() == b.keys() and len(a) == 8
    for key in a:
        np.testing.assert_allclose(a[key], b[key], atol=1e-5, rtol=0, err_msg=key)


@pytest.mark.parametrize(
    ("backend", "args", "env", "says"),
    [
        ("torch", ["--nproc", "2"], {}, "global batch 32 = 2 ranks x 16"),
        ("tensorflow", [], {"SPECC_TF_CPU_REPLICAS": "2"}, "global batch 32 = 2 replicas x 16"),
    ],
)
def test_two_inputs_train_data_parallel_as_in_one_process(
    tmp_path: Path, backend: str, args: list[str], env: dict[str, str], says: str
) -> None:
    path = _spec(tmp_path)
    common = ["run", str(path), "--backend", backend, "--out"]
    split = specc(*common, str(tmp_path / "split"), *args, **env)
    assert split.returncode == 0, split.stderr
    assert says in split.stderr and "Traceback" not in split.stderr
    one = specc(*common, str(tmp_path / "one"))
    assert one.returncode == 0, one.stderr
    _same(tmp_path / "one", tmp_path / "split")
