"""Per-token predictions (docs/semantics.md#per-token): `dense` on LxD per step, the
per-token cross-entropy with `ignore=` on both backends against NumPy, `perplexity`, and a
character language model that trains to the same numbers on torch and TensorFlow."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze
from specc.ir import losses as Lo
from specc.ir import training as T
from specc.metrics import compute, per_token, perplexity
from specc.plan import RunOptions
from specc.run import run

LM = """model lm {
    input 32 int
    embedding 40 16
    gru 48 sequences=true
    dense 40
}

data synthetic_corpus sentences=600 {
    tokenize chars vocab=40 length=32
    batch 32 shuffle
    validation 0.1
    test 0.1
}

train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=0.01
    epochs 3
    metrics perplexity accuracy
}
"""


def test_dense_on_a_sequence_applies_per_step() -> None:
    analysis = analyze(LM, "<lm>")
    assert analysis.ok, [d.message for d in analysis.errors]
    shapes = analysis.shapes["lm"]
    dense = shapes.layers[-1]
    assert dense.input == (32, 48) and dense.output == (32, 40) == shapes.output
    assert dense.params == 48 * 40 + 40  # one kernel for every step
    assert dense.flops == 2 * 32 * 48 * 40


def reference_ce(logits: np.ndarray, y: np.ndarray, ignore: int | None) -> float:
    flat, target = logits.reshape(-1, logits.shape[-1]).astype(np.float64), y.reshape(-1)
    logp = flat - np.log(np.exp(flat).sum(axis=1, keepdims=True))
    per = -logp[np.arange(len(target)), target]
    kept = target != ignore if ignore is not None else np.ones(len(target), bool)
    return float(per[kept].mean())


@pytest.mark.parametrize("ignore", [None, 0])
def test_per_token_loss_matches_numpy_on_both_backends(ignore: int | None) -> None:
    import tensorflow as tf
    import torch

    from specc.executors.tensorflow.losses import loss_function
    from specc.executors.torch.losses import LOSSES

    rng = np.random.default_rng(0)
    logits = rng.normal(size=(3, 4, 5)).astype(np.float32)
    y = rng.integers(0, 5, size=(3, 4)).astype(np.int64)
    y[0, :2] = 0  # padded positions
    node = Lo.SparseCategoricalCrossentropy(ignore=ignore)
    want = reference_ce(logits, y, ignore)
    got_torch = float(LOSSES[type(node)](node)(torch.from_numpy(logits), torch.from_numpy(y)))
    got_tf = float(loss_function(node)(tf.constant(logits), tf.constant(y)))
    assert got_torch == pytest.approx(want, abs=1e-5)
    assert got_tf == pytest.approx(want, abs=1e-5)
    if ignore is not None:  # ignoring really changes the number
        assert want != pytest.approx(reference_ce(logits, y, None), abs=1e-3)


def test_perplexity_of_a_uniform_guess_is_the_class_count() -> None:
    outputs = np.full((2, 3, 7), 1 / 7, dtype=np.float32)
    targets = np.array([[0, 1, 2], [3, 4, 5]], dtype=np.int64)
    scores = compute([T.Perplexity(), T.Accuracy()], outputs, targets, "val_")
    assert scores["val_perplexity"] == pytest.approx(7.0, rel=1e-6)
    sure = np.eye(4, dtype=np.float32)[[1, 2, 3]][None]  # (1, 3, 4): always right
    assert perplexity(*per_token(sure, np.array([[1, 2, 3]]))) == pytest.approx(1.0)


def test_ignored_targets_are_left_out_of_the_metrics() -> None:
    probs = np.array([[[0.5, 0.5], [0.9, 0.1], [0.2, 0.8]]], dtype=np.float32)
    targets = np.array([[0, 0, 1]], dtype=np.int64)
    # with ignore=0 only the last step counts: p = 0.8
    scores = compute([T.Perplexity(), T.Accuracy()], probs, targets, ignore=0)
    assert scores == {"perplexity": pytest.approx(1 / 0.8), "accuracy": 1.0}
    everything = compute([T.Perplexity()], probs, targets)
    assert everything["perplexity"] == pytest.approx(math.exp(-np.log([0.5, 0.9, 0.8]).mean()))


def test_char_lm_learns_the_same_on_both_backends(tmp_path: Path) -> None:
    spec = tmp_path / "lm.nn"
    spec.write_text(LM)
    results = {
        backend: run(spec, RunOptions(backend=backend, out=str(tmp_path / backend), quiet=True))
        for backend in ("torch", "tensorflow")
    }
    torch_run, tf_run = results["torch"], results["tensorflow"]
    vocab = len(json.loads((torch_run.run_dir / "vocab.json").read_text())["tokens"])
    for result in results.values():
        m = result.metrics
        # uniform over the model's 40 classes scores 40; the corpus has ~27 tokens
        assert m["test_perplexity"] < 6.0, m
        assert m["test_perplexity"] == pytest.approx(math.exp(m["test_loss"]), rel=1e-4)
        assert result.history[-1]["loss"] < 0.7 * result.history[0]["loss"]
    assert 20 < vocab <= 40
    for key, value in torch_run.metrics.items():
        assert tf_run.metrics[key] == pytest.approx(value, rel=2e-3, abs=2e-3), key


def test_predict_shows_the_token_after_the_input() -> None:
    from specc.predict import Predictions
    from specc.predict.report import rows

    outputs = np.zeros((1, 2, 3), dtype=np.float32)
    outputs[0, 0] = [0.1, 0.8, 0.1]  # an earlier step: not shown
    outputs[0, 1] = [0.2, 0.1, 0.7]  # the last step: the next token is "c"
    found = Predictions(
        names=["test#0"],
        outputs=outputs,
        task="classification",
        class_names=["a", "b", "c"],
        labels=np.array([[1, 2]]),
    )
    [row] = rows(found, top=2)
    assert row["class"] == "c" and row["probability"] == pytest.approx(0.7)
    assert (row["top2"], row["label"]) == ("a", "c")


def test_padded_per_token_targets_from_an_npz_with_ignore(tmp_path: Path) -> None:
    """(N, L) class targets from an .npz: each step's target is its own token (a copy
    task), pre-padded with id 0 in both arrays; `ignore=0` leaves the padding out. Both
    backends give the same numbers and learn the real tokens."""
    rng = np.random.default_rng(0)
    x = rng.integers(2, 12, size=(320, 10))
    for row in x:
        row[: rng.integers(0, 6)] = 0  # padding at the start
    np.savez(tmp_path / "copy.npz", x=x.astype(np.int64), y=x.astype(np.int64))
    spec = tmp_path / "copy.nn"
    spec.write_text(
        "model copy {\n    input 10 int\n    embedding 12 8 pad=0\n    gru 16 sequences=true\n"
        "    dense 12\n}\n"
        'data npz "copy.npz" {\n    batch 32 shuffle\n    test 0.25\n}\n'
        "train {\n    loss sparse_categorical_crossentropy ignore=0\n"
        "    optimizer adam lr=0.02\n    epochs 4\n    metrics perplexity accuracy\n}\n"
    )
    results = [
        run(spec, RunOptions(backend=b, out=str(tmp_path / b), quiet=True))
        for b in ("torch", "tensorflow")
    ]
    for result in results:
        assert result.metrics["test_accuracy"] > 0.9, result.metrics  # of the real tokens
        assert result.metrics["test_perplexity"] < 2.0, result.metrics  # uniform: 10 ids
    for key, value in results[0].metrics.items():
        assert results[1].metrics[key] == pytest.approx(value, rel=2e-3, abs=2e-3), key


def test_per_step_class_targets_are_kept_and_checked() -> None:
    from specc.data import DataError
    from specc.data.targets import encode

    y = np.array([[0, 3, 2], [1, 1, 0]])
    kept = encode("classification", y, None, lambda i: f"y.npz row {i}", outputs=4, steps=3)
    assert kept.y_train.tolist() == y.tolist() and kept.y_train.dtype == np.int64
    with pytest.raises(DataError, match=r"y.npz row 1: class 5, but the model has 4 outputs"):
        encode(
            "classification",
            np.array([[0, 1, 2], [5, 0, 0]]),
            None,
            lambda i: f"y.npz row {i}",
            outputs=4,
            steps=3,
        )
    with pytest.raises(DataError, match=r"row 0: step 1 holds class id 0.5"):
        encode("classification", np.array([[0, 0.5, 2]]), None, lambda i: f"row {i}", steps=3)
    # without a per-step model, (N, L) class targets stay an error
    with pytest.raises(DataError, match="one label per example"):
        encode("classification", y, None, lambda i: "y.npz")


def test_ignore_drops_class_targets_of_flat_outputs_too() -> None:
    probs = np.array([[0.9, 0.1], [0.3, 0.7], [0.6, 0.4]], dtype=np.float32)
    targets = np.array([0, 1, 1], dtype=np.int64)
    assert compute([T.Accuracy()], probs, targets, ignore=0) == {"accuracy": 0.5}
    assert compute([T.Accuracy()], probs, targets) == {"accuracy": pytest.approx(2 / 3)}


def test_a_per_step_dense_passes_the_padding_mask_on(tmp_path: Path) -> None:
    """`dense` on a sequence keeps the positions: the attention after it gets the mask, and
    both backends agree step by step on padded batches."""
    from specc.ir.sequence import mask_reaches
    from specc.parity import parity
    from tests.parity.test_parity import assert_agrees

    text = (
        "model m {\n    input 40 int\n    embedding 200 16 pad=0\n    dense 16 relu\n"
        "    attention heads=2\n    global_avgpool\n    dense 2\n}\n"
        "data synthetic_text samples=400 length=40 vocab=200 {\n    batch 32 shuffle\n}\n"
        "train {\n    loss sparse_categorical_crossentropy\n    optimizer adam lr=0.01\n}\n"
    )
    analysis = analyze(text, "<mask>")
    layers = [info.layer for info in analysis.shapes["m"].layers]
    assert mask_reaches(layers) == [False, False, True, True, False]
    spec = tmp_path / "mask.nn"
    spec.write_text(text)
    assert_agrees(parity(spec, steps=8))
