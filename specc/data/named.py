"""Data for a model with several inputs: one array per input, found by the input's name.

- `.npz`: an array named after each input (`image`, `meta`) and the targets `y` (or the
  spec's `y=`); `image_test`, `meta_test` and `y_test`, all present, are the test split.
- CSV: `columns NAME [col, ...]` in the data block gives each input its columns, in order.

Both return `Inputs` (specc/data/dataset.py) with raw targets, like `tabular.Table` does
for one input. docs/data.md#several-inputs is the user's side of this.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specc.data.dataset import Inputs
from specc.data.errors import DataError
from specc.data.image_files import read_image_column
from specc.data.tabular import _pair, read_arrays, read_csv
from specc.ir import data as ir


@dataclass(frozen=True)
class NamedTable:
    """Inputs and raw targets from one file, with its own test split when it has one."""

    x: Inputs
    y: np.ndarray
    x_test: Inputs | None = None
    y_test: np.ndarray | None = None
    lines: list[int] | None = None
    """For CSV: the line of each row, so target errors can say where."""


def read_npz(path: Path, names: list[str], y_name: str) -> NamedTable:
    """One array per input name and `y_name`; `<name>_test` for all of them, or none."""
    arrays = read_arrays(path)
    held = ", ".join(arrays) or "nothing"
    for name in (*names, y_name):
        if name not in arrays:
            what = "targets" if name == y_name else f"model input `{name}`"
            raise DataError(
                f"{path}: no array `{name}` for the {what}; the archive holds: {held}",
                "a model with several inputs reads one array per input, named after it "
                f"({', '.join(names)}), and the targets `{y_name}`",
            )
    x, y = _inputs(path, arrays, names, y_name)
    test = [f"{name}_test" for name in (*names, y_name)]
    present = [name for name in test if name in arrays]
    if not present:
        return NamedTable(x, y)
    missing = [name for name in test if name not in arrays]
    if missing:
        raise DataError(
            f"{path}: has {', '.join(present)} but not {', '.join(missing)}",
            "a test split needs `<name>_test` for every input and for the targets",
        )
    x_test, y_test = _inputs(path, arrays, [f"{n}_test" for n in names], f"{y_name}_test")
    x_test = Inputs(dict(zip(names, x_test.arrays.values(), strict=True)))
    for name in names:
        train_shape, test_shape = x.shapes[name], x_test.shapes[name]
        if train_shape != test_shape:
            raise DataError(
                f"{path}: `{name}_test` rows are {test_shape}, `{name}` rows {train_shape}"
            )
    return NamedTable(x, y, x_test, y_test)


def _inputs(
    path: Path, arrays: dict[str, np.ndarray], names: list[str], y_name: str
) -> tuple[Inputs, np.ndarray]:
    """Each named array checked as `x` is for one input (numeric, finite, as many rows as
    the targets), as float32."""
    read = {}
    y = arrays[y_name]
    for name in names:
        read[name], y = _pair(path, arrays, name, y_name)
    return Inputs(read), y


def read_csv_groups(
    path: Path, data: ir.CSV, names: list[str], shapes: dict[str, tuple[int, ...]] | None = None
) -> NamedTable:
    """The CSV's columns grouped by `columns NAME [...]`, one group per input name. An
    image-shaped input (`shapes`) with a one-column group reads the image files that
    column names (specc/data/image_files.py)."""
    found = {group.input: group for group in data.columns}
    groups = {name: list(group.names) for name, group in found.items()}
    for name in names:
        if name not in groups:  # `specc check` says so first, at the data block
            raise DataError(
                f"{path}: no columns for model input `{name}`",
                f"add `columns {name} [...]` to the data block",
            )
    files = {
        name: column
        for name in names
        if shapes is not None and (column := found[name].file_column(shapes[name]))
    }
    every = [column for name in names if name not in files for column in groups[name]]
    table = read_csv(path, data.target, every)  # [] when every input reads image files
    arrays, start = {}, 0
    for name in names:
        if name in files:
            arrays[name] = read_image_column(path, files[name], shapes[name], table.lines or [])  # type: ignore[index]
            continue
        width = len(groups[name])
        arrays[name] = table.x[:, start : start + width]
        start += width
    return NamedTable(Inputs(arrays), table.y, lines=table.lines)
