"""Token-id data (`input N int`): integer .npz arrays stay int64 all the way to the model.

Fixtures are written at test time in a tmp dir.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specc import executors
from specc.analysis import analyze_file
from specc.data import DataError, load
from specc.init_weights import initial_weights
from specc.ir.sequence import vocabulary
from specc.plan import RunOptions, make_plan

SPEC = """model m {{
    input 6 int
    embedding 50 4 pad=0
    global_avgpool
    dense 2
}}
data npz "tokens.npz" {{
{transforms}    batch 4
}}
train {{
    loss sparse_categorical_crossentropy
    epochs 1
}}
"""


def write(tmp: Path, x: np.ndarray, transforms: str = "") -> Path:
    y = np.arange(len(x)) % 2
    np.savez(tmp / "tokens.npz", x=x, y=y)
    path = tmp / "spec.nn"
    path.write_text(SPEC.format(transforms=transforms))
    return path


def ids(n: int = 10, high: int = 50) -> np.ndarray:
    return np.random.default_rng(0).integers(0, high, size=(n, 6)).astype(np.int32)


def test_ids_stay_int64_through_loader_and_both_backends(tmp_path: Path) -> None:
    x = ids()
    analysis = analyze_file(write(tmp_path, x))
    assert analysis.ok
    plan = make_plan(analysis, RunOptions(backend="torch"))
    assert vocabulary(plan.shapes) == 50
    data = load(plan.data, spec_dir=tmp_path, vocab=vocabulary(plan.shapes))
    assert data.x_train.dtype == np.int64
    np.testing.assert_array_equal(data.x_train, x[: len(data.x_train)])
    for backend in ("torch", "tensorflow"):
        backend_plan = make_plan(analysis, RunOptions(backend=backend))
        executor = executors.get(backend)
        state = executor.build(backend_plan, initial_weights(plan.shapes, 0), "cpu")
        inputs = executor.load_data(state, data.x_train, data.y_train)
        tensor = inputs[0] if backend == "torch" else inputs.x
        assert "int64" in str(tensor.dtype), (backend, tensor.dtype)


def test_a_float_model_still_gets_float32_from_an_integer_npz(tmp_path: Path) -> None:
    spec = write(tmp_path, ids())
    text = spec.read_text().replace(
        "input 6 int\n    embedding 50 4 pad=0\n    global_avgpool", "input 6"
    )
    spec.write_text(text)
    analysis = analyze_file(spec)
    assert analysis.ok, [d.message for d in analysis.errors]
    plan = make_plan(analysis, RunOptions())
    assert vocabulary(plan.shapes) is None
    assert load(plan.data, spec_dir=tmp_path).x_train.dtype == np.float32


def _load(tmp: Path, x: np.ndarray, transforms: str = "") -> None:
    plan = make_plan(analyze_file(write(tmp, x, transforms)), RunOptions())
    load(plan.data, spec_dir=tmp, vocab=vocabulary(plan.shapes))


def test_float_inputs_to_a_token_model_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError) as err:
        _load(tmp_path, ids().astype(np.float32))
    assert "reads token ids (`input N int`), but the inputs are float32 numbers" in str(err.value)
    assert "np.int64" in err.value.hint  # type: ignore[attr-defined]


def test_an_id_beyond_the_vocabulary_names_its_row(tmp_path: Path) -> None:
    x = ids()
    x[7, 2] = 50
    with pytest.raises(DataError) as err:
        _load(tmp_path, x)
    message = str(err.value)
    assert "row 7 holds token id 50, but the embedding's vocabulary is 50 (ids 0 to 49)" in message
    x[7, 2], x[3, 1] = 1, -2
    with pytest.raises(DataError, match="row 3 holds token id -2"):
        _load(tmp_path, x)


def test_input_transforms_on_token_ids_are_refused(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="`scale` would change token ids"):
        _load(tmp_path, ids(), transforms="    scale 1/255\n")


def test_synthetic_text_plants_one_signal_token_per_example() -> None:
    from specc.data.synthetic import generate_text
    from specc.ir.data import SyntheticText

    node = SyntheticText(samples=300, length=20, vocab=50, classes=3, data_seed=4)
    table = generate_text(node)
    x, y = table.x, table.y
    assert x.dtype == np.int64 and x.shape == (300, 20) and y.dtype == np.int64
    assert np.bincount(y).tolist() == [100, 100, 100]
    for row, label in zip(x, y, strict=True):
        signals = row[(row >= 1) & (row <= 3)]
        assert signals.tolist() == [1 + label]  # exactly one signal token: the label's
        real = np.flatnonzero(row)
        assert real.size >= 5 and (row[real[0] :] != 0).all()  # pre-padded, then no zeros
    np.testing.assert_array_equal(generate_text(node).x, x)  # the seed decides everything


def test_synthetic_text_binary_loads_as_0_1_targets(tmp_path: Path) -> None:
    spec = tmp_path / "text.nn"
    spec.write_text(
        "model m {\n input 10 int\n embedding 30 4 pad=0\n global_maxpool\n dense 1 sigmoid\n}\n"
        "data synthetic_text binary samples=40 length=10 vocab=30 { batch 8; test 0.25 }\n"
        "train { loss binary_crossentropy; epochs 1 }\n"
    )
    analysis = analyze_file(spec)
    assert analysis.ok, [d.message for d in analysis.errors]
    plan = make_plan(analysis, RunOptions())
    data = load(plan.data, spec_dir=tmp_path, vocab=vocabulary(plan.shapes))
    assert data.x_train.dtype == np.int64 and data.x_train.shape == (30, 10)
    assert data.y_train.shape == (30, 1) and set(np.unique(data.y_train)) == {0.0, 1.0}
    assert len(data.x_test) == 10
