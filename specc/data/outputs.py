"""Targets for a model with several named outputs (docs/data.md#several-outputs).

Each output has its own target, encoded for its own loss (class indices, 0/1, reals):

- `.npz`: an array `y_<output>` per output (and `y_<output>_test` for all of them, or
  none, beside the inputs' `x_test`/`<input>_test`);
- `synthetic`: one latent class label per example (the Gaussian clusters of
  `data synthetic`) from which every output's target is derived: the label itself for a
  classification output, its one-hot row for a one-hot one,
  `label >= classes / 2` for a binary one, the label scaled to [0, 1] for a regression one. So an offline example learns every output from one input.

The .npz's inputs are read as for one output (`sources.npz_table`); the loader
(specc/data/loader.py) splits, limits and transforms `Outputs` like one array.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specc.data.dataset import Dataset, Inputs, Outputs, Task, X, fingerprint, split
from specc.data.errors import DataError
from specc.data.sources import given_path, npz_table
from specc.data.synthetic import generate
from specc.data.tabular import read_arrays
from specc.data.targets import encode
from specc.data.transforms import apply, apply_inputs
from specc.ir import data as ir
from specc.ir.losses import Target


@dataclass(frozen=True)
class OutputTarget:
    """What one output's target must be: what its loss expects (`Loss.target`: class
    indices, one-hot rows, 0/1 or reals) and the output's width."""

    name: str
    target: Target
    units: int

    @property
    def task(self) -> Task:
        """How the target is encoded (one-hot rows are real-valued rows)."""
        return TASKS[self.target]


TASKS: dict[str, Task] = {
    "class": "classification",
    "onehot": "regression",
    "binary": "binary",
    "real": "regression",
}


@dataclass(frozen=True)
class RawOutputs:
    """Encoded targets per output, with the test split when the source has one."""

    y_train: Outputs
    y_test: Outputs | None
    classes: int | None
    """The first classification output's class count (the run record's `classes`)."""


def encode_all(
    wanted: list[OutputTarget],
    train: dict[str, np.ndarray],
    test: dict[str, np.ndarray] | None,
    source: str,
) -> RawOutputs:
    """Each output's raw target encoded for its task, labels checked against its units."""
    encoded, encoded_test, classes = {}, {}, None
    for out in wanted:
        where = _where(source, out.name)
        targets = encode(
            out.task,
            train[out.name],
            None if test is None else test[out.name],
            where,
            outputs=out.units if out.task == "classification" else None,
        )
        encoded[out.name] = targets.y_train
        if targets.y_test is not None:
            encoded_test[out.name] = targets.y_test
        if out.task == "classification" and classes is None:
            classes = targets.classes
    return RawOutputs(Outputs(encoded), Outputs(encoded_test) if test else None, classes)


def _where(source: str, name: str) -> Callable[[int], str]:
    return lambda i: f"{source} `y_{name}` row {i}" if i >= 0 else source


# ---- synthetic ---------------------------------------------------------------------------


def synthetic_targets(
    node: ir.Synthetic, wanted: list[OutputTarget]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Inputs (the clusters of `data synthetic`) and each output's raw target, all derived
    from one latent class label per example (see the module docstring)."""
    classes = node.model_copy(update={"task": "classification"})
    table = generate(classes)
    label = table.y.astype(np.int64)
    k = int(node.classes)
    derived: dict[str, Callable[[OutputTarget], np.ndarray]] = {
        "class": lambda out: label,
        "onehot": lambda out: np.eye(k, dtype=np.float32)[label],
        "binary": lambda out: (label >= k / 2).astype(np.int64),
        "real": lambda out: np.repeat(
            (label / (k - 1)).astype(np.float32)[:, None], out.units, axis=1
        ),
    }
    return table.x, {out.name: derived[out.target](out) for out in wanted}


# ---- .npz ----------------------------------------------------------------------------------


def npz_targets(
    path: Path, wanted: list[OutputTarget], rows: int, test_rows: int | None
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """`y_<name>` per output (and `y_<name>_test` when the inputs have a test split)."""
    arrays = read_arrays(path)
    held = ", ".join(arrays) or "nothing"
    train: dict[str, np.ndarray] = {}
    test: dict[str, np.ndarray] = {}
    for out in wanted:
        for key, n, into in (
            (f"y_{out.name}", rows, train),
            (f"y_{out.name}_test", test_rows, test),
        ):
            if n is None:
                continue
            if key not in arrays:
                raise DataError(
                    f"{path}: no array `{key}` for the targets of output `{out.name}`; "
                    f"the archive holds: {held}",
                    "a model with several outputs reads one target array per output, "
                    "named `y_<output>`" + (" (and `y_<output>_test`)" if into is test else ""),
                )
            array = arrays[key]
            if len(array) != n:
                raise DataError(
                    f"{path}: `{key}` has {len(array)} rows but the inputs have {n}",
                    "every target array needs one row per example",
                )
            into[out.name] = array
    return train, (test if test_rows is not None else None)


def rows(x: np.ndarray | Inputs | None) -> int | None:
    return None if x is None else len(x)


# ---- the pipeline ----------------------------------------------------------------------------


def load_outputs(
    data: ir.Data,
    wanted: list[OutputTarget],
    *,
    override: str | None,
    spec_dir: Path,
    limit: int | None,
    inputs: list[str] | None,
) -> Dataset:
    """`specc.data.load` for a model with several outputs: the same pipeline (read, encode
    each output's target, limit, test tail, validation tail, input transforms)."""
    if any(isinstance(node, ir.OneHot) for node in data.transforms):
        raise DataError(
            "`one_hot` does not say which output's targets it encodes",
            "remove it: each output's loss decides its targets (use "
            "`sparse_categorical_crossentropy` for class numbers)",
        )
    source, x, x_test, raw, raw_test = _read(data, wanted, override, spec_dir, inputs)
    enc = encode_all(wanted, raw, raw_test, source)
    (x_train, y_train), (x_val, y_val), (x_held, y_held) = split(
        x,
        enc.y_train,
        x_test,
        enc.y_test,
        limit=limit,
        test=data.test,
        validation=data.validation,
        source=source,
    )
    splits = [_transform(data, part) for part in (x_train, x_val, x_held)]
    first = wanted[0]
    return Dataset(
        splits[0],
        y_train,
        splits[1],
        y_val,
        splits[2],
        y_held,
        classes=enc.classes,
        task=first.task,
        sample_shape=next(iter(splits[0].shapes.values()))
        if isinstance(splits[0], Inputs)
        else tuple(int(d) for d in splits[0].shape[1:]),
        source=source,
        fingerprint=fingerprint([splits[0], y_train, splits[1], y_val, splits[2], y_held]),
    )


def _transform(data: ir.Data, x: X) -> X:
    dummy = np.zeros((len(x),), np.int64)  # input transforms never read the targets
    if isinstance(x, Inputs):
        return apply_inputs(list(data.transforms), x, dummy, None)[0]
    return apply(list(data.transforms), x, dummy, None)[0]


def _read(
    data: ir.Data,
    wanted: list[OutputTarget],
    override: str | None,
    spec_dir: Path,
    inputs: list[str] | None,
) -> tuple[str, X, X | None, dict[str, np.ndarray], dict[str, np.ndarray] | None]:
    """(source, x, x_test, raw targets per output, raw test targets or None)."""
    if override is None and isinstance(data, ir.Synthetic):
        x, targets = synthetic_targets(data, wanted)
        source = (
            f"synthetic outputs ({data.samples} samples, {data.features} features, "
            f"{data.classes} latent classes, seed {data.data_seed})"
        )
        return source, x, None, targets, None
    path = given_path(data, override or None, spec_dir)
    if not (isinstance(data, ir.NPZ) or (override and path.suffix.lower() == ".npz")):
        raise DataError(
            f"`data {data.kind_name()}` has one target per example, but the model has "
            f"{len(wanted)} outputs ({', '.join(o.name for o in wanted)})",
            "give each output its targets in an .npz (`y_<output>` arrays), or use "
            "`data synthetic` (docs/data.md#several-outputs)",
        )
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    table = npz_table(path, data, inputs, f"y_{wanted[0].name}")
    train, test = npz_targets(path, wanted, len(table.x), rows(table.x_test))
    return f"npz {path}", table.x, table.x_test, train, test
