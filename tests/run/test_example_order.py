"""One documented order of training examples (docs/semantics.md#training): `specc run`
trains epoch e on the e-th `permutation(n)` of `np.random.default_rng(seed)`, and
`specc parity` replays exactly those batches."""

from __future__ import annotations

from typing import Any

import numpy as np

from specc import executors
from specc.analysis import analyze
from specc.parity import parity
from specc.plan import RunOptions
from specc.run import run

SPEC = """model m {
    input 6
    dense 8 relu
    dropout 0.2
    dense 3
}
data synthetic classification samples=40 features=6 classes=3 { batch 8 shuffle }
train {
    loss sparse_categorical_crossentropy
    optimizer sgd lr=0.1
    epochs 3
    seed 11
}
"""


def _record_orders(monkeypatch: Any, backend: str) -> list[np.ndarray]:
    module = executors.get(backend)
    seen: list[np.ndarray] = []
    original = module.train_epoch

    def recording(state: Any, data: Any, order: np.ndarray, *args: Any, **kw: Any) -> Any:
        seen.append(np.array(order))
        return original(state, data, order, *args, **kw)

    monkeypatch.setattr(module, "train_epoch", recording)
    return seen


def test_run_trains_on_the_documented_permutations(monkeypatch: Any, tmp_path: Any) -> None:
    seen = _record_orders(monkeypatch, "torch")
    run(analyze(SPEC, "order.nn"), RunOptions(out=str(tmp_path / "r"), quiet=True))
    n = len(seen[0])  # the training split (synthetic holds out its test fraction)
    rng = np.random.default_rng(11)  # what a program written from the docs draws
    assert len(seen) == 3
    for order in seen:
        np.testing.assert_array_equal(order, rng.permutation(n))


def test_parity_replays_the_runs_batches(monkeypatch: Any, tmp_path: Any) -> None:
    recording = _record_orders(monkeypatch, "torch")
    run(analyze(SPEC, "order.nn"), RunOptions(out=str(tmp_path / "r"), quiet=True))
    ran = list(recording)  # parity trains on torch too: keep the run's own three
    replayed = _record_orders(monkeypatch, "tensorflow")
    parity(analyze(SPEC, "order.nn"), steps=15)  # 3 epochs of 5 batches
    assert len(replayed) == 3
    for run_order, parity_order in zip(ran, replayed, strict=True):
        np.testing.assert_array_equal(parity_order, run_order[: len(parity_order)])
