"""CSV and .npz files: a user's own table of numbers, read strictly.

Each function returns raw arrays (features float32, or int64 when .npz holds integers; targets as read) plus what it learned
about the labels; turning targets into what the task needs is `targets.py`'s job. Every
flaw is reported with the file, and for CSV the line and column, because a quietly
misparsed table trains a model on nonsense.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specc.data.errors import DataError


@dataclass(frozen=True)
class Table:
    """Features (N, ...) and raw targets (N, ...) from one file, optional own test split."""

    x: np.ndarray
    y: np.ndarray
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None
    lines: list[int] | None = None
    """For CSV: the line of each training row, so target errors can say where."""


def read_csv(path: Path, target: str, features: list[str] | None) -> Table:
    """A header row, then one example per row: numeric features, and the target column.

    The target is kept as strings (N,) so `targets.py` can decide: integers, 0/1, reals or
    label names.
    """
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if not header or header == [""]:
                raise DataError(f"{path}: empty file; expected a header row then data rows")
            columns = _columns(path, header, target, features)
            rows: list[list[float]] = []
            labels: list[str] = []
            lines: list[int] = []
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue  # blank lines, e.g. at the end
                if len(row) != len(header):
                    raise DataError(
                        f"{path}:{reader.line_num}: {len(row)} values but the header has "
                        f"{len(header)} columns",
                        "every row needs one value per column (quote values that contain commas)",
                    )
                rows.append([_number(path, reader.line_num, header[i], row[i]) for i in columns])
                labels.append(_target(path, reader.line_num, header, target, row))
                lines.append(reader.line_num)
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except csv.Error as err:
        raise DataError(f"{path}: not valid CSV ({err})") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    if not rows:
        raise DataError(f"{path}: a header but no data rows")
    x = np.asarray(rows, dtype=np.float32).reshape(len(rows), len(columns))
    return Table(x, np.asarray(labels, dtype=str), lines=lines)


def read_csv_text(path: Path, text: str, target: str) -> Table:
    """A header row, then one example per row: the `text` column kept as written (an object
    array of str, tokenized after the splits) and the target as strings."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle)
            header = [name.strip() for name in next(reader, [])]
            if not header or header == [""]:
                raise DataError(f"{path}: empty file; expected a header row then data rows")
            column = _columns(path, header, target, [text])[0]
            texts: list[str] = []
            labels: list[str] = []
            lines: list[int] = []
            for row in reader:
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    raise DataError(
                        f"{path}:{reader.line_num}: {len(row)} values but the header has "
                        f"{len(header)} columns",
                        "every row needs one value per column (quote texts that contain commas)",
                    )
                texts.append(row[column])
                labels.append(_target(path, reader.line_num, header, target, row))
                lines.append(reader.line_num)
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from err
    except csv.Error as err:
        raise DataError(f"{path}: not valid CSV ({err})") from err
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    if not texts:
        raise DataError(f"{path}: a header but no data rows")
    x = np.empty(len(texts), dtype=object)
    x[:] = texts
    return Table(x, np.asarray(labels, dtype=str), lines=lines)


def _columns(path: Path, header: list[str], target: str, features: list[str] | None) -> list[int]:
    """Indices of the feature columns, checking every named column exists."""
    duplicates = sorted({name for name in header if header.count(name) > 1})
    if duplicates:
        raise DataError(f"{path}: column names appear twice: {', '.join(duplicates)}")
    available = ", ".join(header)
    wanted = [target, *(features or [])]
    for name in wanted:
        if name not in header:
            what = "target column" if name == target else "feature column"
            raise DataError(
                f"{path}: no {what} `{name}`; the columns are: {available}",
                "set `target=` / `features=` in the data block to columns that exist",
            )
    if features is not None and target in features:
        raise DataError(f"{path}: `{target}` is the target; it cannot also be a feature")
    names = features if features is not None else [n for n in header if n != target]
    if not names and features is None:  # several inputs may all be image files: []
        raise DataError(f"{path}: no feature columns besides the target `{target}`")
    return [header.index(name) for name in names]


def _target(path: Path, line: int, header: list[str], target: str, row: list[str]) -> str:
    """The target as text; an empty one is an error (read as a label `''` it would shift
    every class number by one)."""
    index = header.index(target)
    value = row[index].strip()
    if not value:
        raise DataError(
            f"{path}:{line}: the target column `{target}` (column {index + 1}) is empty",
            "give every row a target, or delete the rows without one",
        )
    return value


def _number(path: Path, line: int, column: str, text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        shown = repr(text.strip()) if text.strip() else "an empty value"
        raise DataError(
            f"{path}:{line}: column `{column}` has {shown}, not a number",
            "feature columns must be numeric; list the numeric ones with `features=[...]`",
        ) from None
    if not math.isfinite(value):
        raise DataError(f"{path}:{line}: column `{column}` has {text.strip()}, not a finite number")
    return value


def read_arrays(path: Path) -> dict[str, np.ndarray]:
    """Every array of a .npz archive, refusing pickled objects (they could run code)."""
    try:
        with open(path, "rb") as handle:
            magic = handle.read(4)
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from err
    if magic != b"PK\x03\x04":
        raise DataError(f"{path}: not a readable .npz archive (a .npz is a zip of .npy files)")
    try:
        with np.load(path, allow_pickle=False) as archive:
            return {name: archive[name] for name in archive.files}
    except ValueError as err:
        raise DataError(
            f"{path}: holds pickled objects, which specc does not load ({err})"
        ) from err
    except Exception as err:  # zipfile.BadZipFile, EOFError, OSError, ...
        raise DataError(f"{path}: not a readable .npz archive ({err})") from err


def read_npz(path: Path, x_name: str, y_name: str) -> Table:
    """Arrays `x` and `y` (or the names given), plus `<x>_test`/`<y>_test` when present."""
    arrays = read_arrays(path)
    for name in (x_name, y_name):
        if name not in arrays:
            raise DataError(
                f"{path}: no array `{name}`; the archive holds: {', '.join(arrays) or 'nothing'}",
                "name the arrays with `x=` and `y=` in the data block",
            )
    x, y = _pair(path, arrays, x_name, y_name)
    test = (f"{x_name}_test", f"{y_name}_test")
    if all(name in arrays for name in test):
        x_test, y_test = _pair(path, arrays, *test)
        if x_test.shape[1:] != x.shape[1:]:
            raise DataError(
                f"{path}: `{test[0]}` rows are {x_test.shape[1:]}, `{x_name}` rows {x.shape[1:]}"
            )
        return Table(x, y, x_test, y_test)
    return Table(x, y)


def _pair(
    path: Path, arrays: dict[str, np.ndarray], x_name: str, y_name: str
) -> tuple[np.ndarray, np.ndarray]:
    x, y = arrays[x_name], arrays[y_name]
    for name, array in ((x_name, x), (y_name, y)):
        if array.ndim == 0 or array.dtype.kind not in "biuf":
            raise DataError(
                f"{path}: `{name}` must be a numeric array with one row per example, got {array.dtype} {array.shape}"
            )
    if len(x) != len(y):
        raise DataError(f"{path}: `{x_name}` has {len(x)} rows but `{y_name}` has {len(y)}")
    if len(x) == 0:
        raise DataError(f"{path}: `{x_name}` has no rows")
    # integers stay integers (token ids, docs/semantics.md#sequences); the loader makes
    # them float32 for a float input
    x = x.astype(np.int64 if x.dtype.kind in "iu" else np.float32)
    if not np.isfinite(x).all():
        raise DataError(f"{path}: `{x_name}` contains NaN or infinite values")
    return x, y
