"""`Dataset`, the loaded arrays every backend trains on, and the split rules.

Splits are part of a spec's meaning, so they never depend on the training seed: `test F`
holds out the LAST F of a source without its own test split, then `validation F` holds out
the LAST F of what remains, both with Keras' `validation_split` arithmetic
(`split_at = floor(n * (1 - F))`), before any shuffling.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

from specc.data.errors import DataError

Task = Literal["classification", "binary", "regression"]


@dataclass(frozen=True, eq=False)
class Inputs:
    """The inputs of a model with several: one array per input name, in the model's order,
    each with one row per example (docs/data.md#several-inputs).

    It takes rows like an array (`len(x)`, `x[:n]`, `x[order]`), so limits, splits,
    shuffling and distributed slicing treat it as they treat a single input's array;
    a model with one input never sees one.
    """

    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def __getitem__(self, rows: Any) -> Inputs:
        return Inputs({name: array[rows] for name, array in self.arrays.items()})

    @property
    def shapes(self) -> dict[str, tuple[int, ...]]:
        """Each input's shape of one example."""
        return {name: tuple(int(d) for d in a.shape[1:]) for name, a in self.arrays.items()}


X = np.ndarray | Inputs
"""A split's inputs: one array (a model with one input) or `Inputs` (several)."""


@dataclass(frozen=True, eq=False)
class Outputs:
    """The targets of a model with several outputs: one array per output name, in the
    model's order, each encoded for that output's loss (docs/data.md#several-outputs).
    It takes rows like an array, as `Inputs` does; a model with one output never sees one."""

    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(next(iter(self.arrays.values())))

    def __getitem__(self, rows: Any) -> Outputs:
        return Outputs({name: array[rows] for name, array in self.arrays.items()})


Y = np.ndarray | Outputs
"""A split's targets: one array (one output) or `Outputs` (several named outputs)."""


@dataclass(frozen=True, eq=False)  # eq on arrays is ambiguous; compare fingerprints instead
class Dataset:
    """Training, validation and test arrays, ready for a model.

    Inputs are float32 (N, *sample_shape), images channels-first; for a model with several
    inputs, `Inputs` holding one such array per input (`sample_shape` is then the first
    input's; `Inputs.shapes` has them all). A model with several outputs: `Outputs`, one
    target array per output, each as below for its own loss. Targets: int64 (N,) class indices; float32 (N, C) with `one_hot`; float32 (N, 1) for binary; float32 (N, k) for
    regression. Validation and test arrays may have 0 rows.
    """

    x_train: X
    y_train: Y
    x_val: X
    y_val: Y
    x_test: X
    y_test: Y
    classes: int | None
    task: Task
    sample_shape: tuple[int, ...]
    source: str
    fingerprint: str
    class_names: tuple[str, ...] | None = None
    """Original labels when a CSV's string labels were mapped to indices (sorted)."""
    vocabulary: dict[str, Any] | None = None
    """A tokenized text source's vocabulary (what a run saves as vocab.json)."""

    def sizes(self) -> dict[str, int]:
        """Examples per split, for summaries and run records."""
        return {"train": len(self.x_train), "val": len(self.x_val), "test": len(self.x_test)}


def split_at(n: int, fraction: float) -> int:
    """Index where the held-out tail starts: Keras' `validation_split` convention."""
    if fraction <= 0:
        return n
    return math.floor(n * (1.0 - fraction))


YS = TypeVar("YS", np.ndarray, Outputs)


def hold_out(x: X, y: YS, fraction: float) -> tuple[X, YS, X, YS]:
    """(x_kept, y_kept, x_tail, y_tail): the last `fraction` of the rows become the tail."""
    at = split_at(len(x), fraction)
    return x[:at], y[:at], x[at:], y[at:]


def split(
    x: X,
    y: YS,
    x_test: X | None,
    y_test: YS | None,
    *,
    limit: int | None,
    test: float,
    validation: float,
    source: str,
) -> tuple[tuple[X, YS], tuple[X, YS], tuple[X, YS]]:
    """(train, validation, test) pairs, in the module docstring's order: the first `limit`
    rows of the training split (and of the source's own test split), then the `test` tail
    (only for a source without its own test split), then the `validation` tail; a
    DataError when no training example is left."""
    x_train, y_train = x[:limit], y[:limit]
    if x_test is not None and y_test is not None:
        x_held, y_held = x_test[:limit], y_test[:limit]
    else:
        x_train, y_train, x_held, y_held = hold_out(x_train, y_train, test)
    x_train, y_train, x_val, y_val = hold_out(x_train, y_train, validation)
    if len(x_train) == 0:
        raise DataError(
            f"{source}: no training examples left after the test and validation splits",
            "lower `test`/`validation`, or raise `--limit`",
        )
    return (x_train, y_train), (x_val, y_val), (x_held, y_held)


def fingerprint(arrays: list[X | Y]) -> str:
    """sha256 over dtype, shape and bytes of each array, in order (for the run record);
    `Inputs` and `Outputs` count as their arrays in the model's order."""
    digest = hashlib.sha256()
    flat = [
        a for x in arrays for a in (x.arrays.values() if isinstance(x, Inputs | Outputs) else [x])
    ]
    for array in flat:
        contiguous = np.ascontiguousarray(array)
        digest.update(f"{contiguous.dtype.str}{contiguous.shape};".encode())
        digest.update(contiguous.reshape(-1).view(np.uint8).data)
    return digest.hexdigest()
