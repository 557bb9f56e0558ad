"""Reported metrics, computed in NumPy from model outputs so every backend reports the same.

Outputs are probabilities (the final softmax/sigmoid applied) or regression values; targets
are what `specc.data` gives: class indices (N,), one-hot rows (N, C), 0/1 floats (N, 1) or
real values (N, k). A model predicting every step of a sequence gives (N, L, C) against
class indices (N, L): each token is scored as one example, the loss's `ignore` id left out
(`per_token`). Meanings: docs/semantics.md#training and #per-token.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from specc.ir import training as T

MetricFn = Callable[[np.ndarray, np.ndarray], float]


def is_minimised(name: str) -> bool:
    """`*loss`, `*mse`, `*mae`, `*perplexity` go down when they improve; the rest goes up."""
    return name.endswith(("loss", "mse", "mae", "perplexity"))


def _binary(outputs: np.ndarray) -> bool:
    return outputs.ndim == 2 and outputs.shape[1] == 1


def predicted_classes(outputs: np.ndarray) -> np.ndarray:
    if _binary(outputs):
        return (outputs[:, 0] > 0.5).astype(np.int64)
    return outputs.reshape(len(outputs), -1).argmax(axis=1)


def true_classes(targets: np.ndarray) -> np.ndarray:
    if targets.ndim == 2 and targets.shape[1] == 1:
        return (targets[:, 0] > 0.5).astype(np.int64)
    if targets.ndim == 2:
        return targets.argmax(axis=1)
    return targets.astype(np.int64)


def accuracy(outputs: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(predicted_classes(outputs) == true_classes(targets)))


def top_k_accuracy(k: int) -> MetricFn:
    def metric(outputs: np.ndarray, targets: np.ndarray) -> float:
        flat = outputs.reshape(len(outputs), -1)
        top = np.argsort(-flat, axis=1, kind="stable")[:, :k]
        return float(np.mean((top == true_classes(targets)[:, None]).any(axis=1)))

    return metric


def _confusion(outputs: np.ndarray, targets: np.ndarray) -> tuple[np.ndarray, ...]:
    """(true positives, predicted positives, actual positives) per scored class.

    Binary outputs score class 1 only; multi-class scores every class that occurs in the
    targets or predictions (scikit-learn's macro average).
    """
    pred, true = predicted_classes(outputs), true_classes(targets)
    classes = np.array([1]) if _binary(outputs) else np.union1d(pred, true)
    tp = np.array([np.sum((pred == c) & (true == c)) for c in classes], dtype=np.float64)
    pp = np.array([np.sum(pred == c) for c in classes], dtype=np.float64)
    ap = np.array([np.sum(true == c) for c in classes], dtype=np.float64)
    return tp, pp, ap


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    return np.divide(num, den, out=np.zeros_like(num), where=den > 0)


def precision(outputs: np.ndarray, targets: np.ndarray) -> float:
    tp, pp, _ = _confusion(outputs, targets)
    return float(np.mean(_ratio(tp, pp)))


def recall(outputs: np.ndarray, targets: np.ndarray) -> float:
    tp, _, ap = _confusion(outputs, targets)
    return float(np.mean(_ratio(tp, ap)))


def f1(outputs: np.ndarray, targets: np.ndarray) -> float:
    tp, pp, ap = _confusion(outputs, targets)
    p, r = _ratio(tp, pp), _ratio(tp, ap)
    return float(np.mean(_ratio(2 * p * r, p + r)))


def _as_targets(outputs: np.ndarray, targets: np.ndarray) -> np.ndarray:
    return targets.reshape(outputs.shape).astype(np.float64)


def mse(outputs: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean((outputs.astype(np.float64) - _as_targets(outputs, targets)) ** 2))


def mae(outputs: np.ndarray, targets: np.ndarray) -> float:
    return float(np.mean(np.abs(outputs.astype(np.float64) - _as_targets(outputs, targets))))


TINY = float(np.finfo(np.float32).tiny)
"""The smallest probability `perplexity` takes a log of (a float32 softmax can give 0)."""


def perplexity(outputs: np.ndarray, targets: np.ndarray) -> float:
    """exp(mean(-log p[true class])) over class-index targets (N,)."""
    flat, true = outputs.reshape(len(outputs), -1).astype(np.float64), true_classes(targets)
    if _binary(outputs):  # one sigmoid: p(class 1)
        picked = np.where(true == 1, flat[:, 0], 1.0 - flat[:, 0])
    else:
        picked = flat[np.arange(len(flat)), true]
    return float(np.exp(np.mean(-np.log(np.maximum(picked, TINY)))))


def per_token(
    outputs: np.ndarray, targets: np.ndarray, ignore: int | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Per-step outputs (N, L, C) and targets (N, L) as N*L examples; class-index targets
    equal to `ignore` dropped (with their outputs); other outputs and targets unchanged."""
    if targets.dtype.kind not in "iu":
        return outputs, targets
    if outputs.ndim == 3 and targets.ndim == 2:
        outputs, targets = outputs.reshape(-1, outputs.shape[-1]), targets.reshape(-1)
    if ignore is None or targets.ndim != 1:
        return outputs, targets
    kept = targets != ignore
    return outputs[kept], targets[kept]


def metric_name(node: T.Metric) -> str:
    """The key a metric is reported under (`val_` / `test_` prefixes are added per split)."""
    if isinstance(node, T.TopKAccuracy):
        return f"top_{int(node.k)}_accuracy"
    return node.kind_name()


def loss_ignore(train: T.Train) -> int | None:
    """The target id the loss leaves out (`sparse_categorical_crossentropy ignore=0`)."""
    return getattr(train.loss, "ignore", None)


def metric_fn(node: T.Metric) -> MetricFn:
    if isinstance(node, T.TopKAccuracy):
        return top_k_accuracy(int(node.k))
    return METRICS[node.kind_name()]


METRICS: dict[str, MetricFn] = {
    "accuracy": accuracy,
    "precision": precision,
    "recall": recall,
    "f1": f1,
    "mse": mse,
    "mae": mae,
    "perplexity": perplexity,
}


def compute(
    nodes: list[T.Metric],
    outputs: np.ndarray,
    targets: np.ndarray,
    prefix: str = "",
    ignore: int | None = None,
) -> dict[str, float]:
    """All of a spec's metrics for one split, keyed `<prefix><name>`; `ignore`: the loss's
    ignored target id (`loss_ignore`)."""
    if len(outputs) == 0:
        return {}
    outputs, targets = per_token(outputs, targets, ignore)
    if len(outputs) == 0:
        return {}
    return {f"{prefix}{metric_name(n)}": metric_fn(n)(outputs, targets) for n in nodes}
