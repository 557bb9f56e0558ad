"""`specc run --backend tensorflow` end to end, and `init from` across the two backends."""

from __future__ import annotations

import json
from pathlib import Path
from types import ModuleType

import numpy as np

from specc.init_weights import initial_weights
from specc.plan import RunOptions
from specc.run import run
from specc.run.record import load_arrays
from specc.run.transfer import transfer
from tests.tensorflow.conftest import plan_of

SPEC = """model mlp {{
    {init}
    input 8
    dense 16 relu {frozen} name=hidden
    dense 3 softmax name=head
}}
data synthetic classification samples=200 features=8 classes=3 {{ batch 32 shuffle; validation 0.2 }}
train {{
    loss sparse_categorical_crossentropy
    optimizer adam lr=1e-2
    epochs 2
    metrics accuracy
    seed {seed}
}}
"""


def _text(init: str = "", frozen: str = "", seed: int = 0) -> str:
    return SPEC.format(init=init, frozen=frozen, seed=seed)


def test_run_writes_the_shared_record_and_a_keras_model(tmp_path: Path) -> None:
    result = run(_text(), RunOptions(backend="tensorflow", quiet=True, out=str(tmp_path / "r")))
    folder = result.run_dir
    assert result.backend == "tensorflow" and result.device == "cpu" and result.epochs == 2
    names = {p.name for p in folder.iterdir()}
    assert {
        "model.keras",
        "weights.safetensors",
        "metrics.json",
        "metrics.jsonl",
        "env.json",
    } <= names
    env = json.loads((folder / "env.json").read_text())
    assert env["backend"] == "tensorflow" and env["tensorflow"].startswith("2.")
    arrays, _ = load_arrays(folder / "weights.safetensors")
    assert {k: v.shape for k, v in arrays.items()} == {
        "hidden.weight": (16, 8),
        "hidden.bias": (16,),
        "head.weight": (3, 16),
        "head.bias": (3,),
    }
    assert 0.0 <= result.metrics["val_accuracy"] <= 1.0


def _cross(source_backend: str, target_backend: str, tmp_path: Path, tfb: ModuleType) -> None:
    source = run(
        _text(seed=1), RunOptions(backend=source_backend, quiet=True, out=str(tmp_path / "src"))
    )
    saved, _ = load_arrays(source.run_dir / "weights.safetensors")
    init = f'init from "{source.run_dir}"'
    text = _text(init=init, frozen="frozen", seed=2)
    # The loaded numbers, exactly, in the target backend's model...
    plan = plan_of(text, backend=target_backend)
    names = [info.name for info in plan.shapes.layers]
    weights = transfer(plan.model.init, plan.spec_dir, initial_weights(plan.shapes, 2), names)
    from specc import executors

    backend = executors.get(target_backend)
    loaded = backend.get_weights(backend.build(plan, weights, "cpu"))
    for key, value in saved.items():
        np.testing.assert_array_equal(loaded[key], value)
    # ...and after a whole run there, the frozen layer still holds them bit for bit.
    target = run(text, RunOptions(backend=target_backend, quiet=True, out=str(tmp_path / "dst")))
    trained, _ = load_arrays(target.run_dir / "weights.safetensors")
    for key in ("hidden.weight", "hidden.bias"):
        np.testing.assert_array_equal(trained[key], saved[key])
    assert not np.array_equal(trained["head.weight"], saved["head.weight"])


def test_init_from_a_torch_run_on_tensorflow(tmp_path: Path, tfb: ModuleType) -> None:
    _cross("torch", "tensorflow", tmp_path, tfb)


def test_init_from_a_tensorflow_run_on_torch(tmp_path: Path, tfb: ModuleType) -> None:
    _cross("tensorflow", "torch", tmp_path, tfb)
