"""Targets in the form each task needs, checked: the contract every backend relies on.

classification: int64 class indices (N,) in 0..C-1 (CSV label names are mapped to indices
in sorted order and kept as `class_names`); binary: float32 (N, 1) of 0 and 1;
regression: float32 (N, k). Train and test targets are encoded together so both use the
same label mapping.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from specc.data.errors import DataError

Where = Callable[[int], str]  # row index -> "file:line" for messages


@dataclass(frozen=True)
class Targets:
    y_train: np.ndarray
    y_test: np.ndarray | None
    classes: int | None
    class_names: tuple[str, ...] | None = None


def encode(
    task: str,
    y_train: np.ndarray,
    y_test: np.ndarray | None,
    where: Where,
    *,
    classes: int | None = None,
    outputs: int | None = None,
    steps: int | None = None,
) -> Targets:
    """Targets for `task`; `classes` fixes the class count (MNIST: 10) instead of inferring it.

    `outputs`: the model's outputs when its loss takes class indices; a label past them is
    reported here, where the file and line of the example are still known.
    `steps`: L when the model predicts a class at each of L steps: class targets (N, L)
    are then kept as they are, one class id per step (docs/semantics.md#per-token).
    """
    joined = y_train if y_test is None else np.concatenate([y_train, y_test])
    per_step = steps is not None and task == "classification" and joined.ndim == 2
    count: int | None
    if per_step and joined.shape[1] == steps:
        encoded, count, names = _per_step(joined, where, classes)
    else:
        encoded, count, names = ENCODERS[task](joined, where, classes)
    n = len(y_train)
    if task == "classification" and outputs is not None and encoded.size:
        _fits(encoded, outputs, n, where, names)
    return Targets(encoded[:n], None if y_test is None else encoded[n:], count, names)


def _fits(
    labels: np.ndarray, outputs: int, n_train: int, where: Where, names: tuple[str, ...] | None
) -> None:
    per_row = labels.reshape(len(labels), -1).max(axis=1)  # per-step targets: (N, L)
    i = int(np.argmax(per_row))
    top = int(per_row[i])
    if top < outputs:
        return
    at = where(i) if i < n_train else f"{where(-1)} (test targets, row {i - n_train})"
    shown = f"label {names[top]!r} (class {top} of the sorted labels)" if names else f"class {top}"
    raise DataError(
        f"{at}: {shown}, but the model has {outputs} output{'s' if outputs != 1 else ''} "
        f"(classes 0..{outputs - 1})",
        f"make the last layer `dense {top + 1}` (one output per class)",
    )


def _numbers(y: np.ndarray, where: Where, what: str) -> np.ndarray:
    """Float64 values of `y`; strings (from CSV) must all be numbers."""
    if y.dtype.kind not in "US":
        return y.astype(np.float64)
    out = np.empty(y.shape, dtype=np.float64)
    for i, text in enumerate(y.ravel()):
        try:
            out.flat[i] = float(text)
        except ValueError:
            raise DataError(f"{where(i)}: target {str(text)!r} is not {what}") from None
    if not np.isfinite(out).all():
        raise DataError(
            f"{where(int(np.flatnonzero(~np.isfinite(out.ravel()))[0]))}: target is not finite"
        )
    return out


def _is_label_names(y: np.ndarray) -> bool:
    """CSV targets that are words ("cat", "dog"), not numbers."""
    if y.dtype.kind not in "US":
        return False
    try:
        y.astype(np.float64)
    except ValueError:
        return True
    return False


def _flat(y: np.ndarray, where: Where) -> np.ndarray:
    if y.ndim == 2 and y.shape[1] == 1:
        return y[:, 0]
    if y.ndim != 1:
        raise DataError(
            f"{where(-1)}: class targets must be one label per example, got shape {y.shape}",
            "store class indices (N,) and add `one_hot` to the data block if the loss needs it",
        )
    return y


def _per_step(
    y: np.ndarray, where: Where, classes: int | None
) -> tuple[np.ndarray, int, tuple[str, ...] | None]:
    """Class ids per step (N, L): whole numbers 0.. (an `.npz`'s per-token targets)."""
    values = _numbers(y, where, "a class id")
    bad = np.argwhere((values != np.round(values)) | (values < 0))
    if bad.size:
        row, step = (int(i) for i in bad[0])
        raise DataError(
            f"{where(row)}: step {step} holds class id {values[row, step]:g}, not an "
            "integer 0, 1, 2, ...",
            "per-token targets are class ids (N, L), e.g. the next token's id",
        )
    labels = values.astype(np.int64)
    top = int(labels.max()) + 1 if labels.size else 0
    return labels, classes if classes is not None else top, None


def _classification(
    y: np.ndarray, where: Where, classes: int | None
) -> tuple[np.ndarray, int, tuple[str, ...] | None]:
    y = _flat(y, where)
    if _is_label_names(y):
        names, indices = np.unique(y, return_inverse=True)
        return indices.astype(np.int64), len(names), tuple(str(n) for n in names)
    values = _numbers(y, where, "a class label")
    bad = np.flatnonzero((values != np.round(values)) | (values < 0))
    if bad.size:
        raise DataError(
            f"{where(int(bad[0]))}: class label {values[bad[0]]:g} is not an integer 0, 1, 2, ...",
            "class targets must be 0..C-1; for real-valued targets use `task=regression`",
        )
    labels = values.astype(np.int64)
    top = int(labels.max()) + 1 if labels.size else 0
    if classes is not None and top > classes:
        raise DataError(
            f"{where(int(np.argmax(labels)))}: label {top - 1} but the set has {classes} classes (0..{classes - 1})"
        )
    return labels, classes if classes is not None else top, None


def _binary(
    y: np.ndarray, where: Where, classes: int | None
) -> tuple[np.ndarray, int, tuple[str, ...] | None]:
    y = _flat(y, where)
    if _is_label_names(y):
        names, indices = np.unique(y, return_inverse=True)
        if len(names) > 2:
            raise DataError(
                f"{where(-1)}: a binary target has {len(names)} different values: {', '.join(map(str, names[:5]))}"
            )
        return indices.astype(np.float32).reshape(-1, 1), 2, tuple(str(n) for n in names)
    values = _numbers(y, where, "0 or 1")
    bad = np.flatnonzero((values != 0) & (values != 1))
    if bad.size:
        raise DataError(
            f"{where(int(bad[0]))}: binary target {values[bad[0]]:g} is not 0 or 1",
            "use `task=classification` for more than two classes",
        )
    return values.astype(np.float32).reshape(-1, 1), 2, None


def _regression(y: np.ndarray, where: Where, classes: int | None) -> tuple[np.ndarray, None, None]:
    values = _numbers(y, where, "a number").astype(np.float32)
    return values.reshape(len(values), -1), None, None


ENCODERS = {"classification": _classification, "binary": _binary, "regression": _regression}
