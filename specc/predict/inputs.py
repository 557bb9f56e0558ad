"""What `specc predict` reads: image files, a folder of images, IDX, .npz, CSV and text files.

Each reader returns raw examples laid out like the data the model trained on (images as
(N, C, H, W) pixel values 0..255, tables as (N, features)), before any transform; the
spec's preprocessing is applied afterwards (`specc.predict.prepare`), by the same code the
run used. Every problem is a `DataError` naming the file and saying what would work.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specc.data.dataset import Inputs, X
from specc.data.errors import DataError
from specc.data.image_files import decode_image, image_layout

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp")
KINDS = "PNG/JPEG images, a folder of images, an IDX file, a .npz, .csv or .txt file"


@dataclass(frozen=True)
class Wanted:
    """What the model takes: its input shape and, for tables, the spec's column names."""

    input_shape: tuple[int, ...]
    features: list[str] | None = None
    target: str | None = None
    x_name: str = "x"
    y_name: str = "y"
    encode_text: Callable[[str], np.ndarray] | None = None
    """A run trained on tokenized text: one text -> its ids, with the run's vocab.json."""
    inputs: dict[str, tuple[int, ...]] | None = None
    """A model with several inputs: name -> one example's shape (each read from an .npz
    array of that name, docs/use.md)."""


@dataclass(frozen=True)
class Examples:
    """Raw examples from one input, a name per row, and the labels when the input has them."""

    x: X
    names: list[str]
    labels: np.ndarray | None = None


def read(path: Path, wanted: Wanted) -> Examples:
    """The examples of one INPUT argument (a file or a folder)."""
    if wanted.inputs is not None:
        return _several(path, wanted, wanted.inputs)
    if path.is_dir():
        return _folder(path, wanted)
    if not path.is_file():
        raise DataError(f"{path}: no such file or folder", f"give {KINDS}")
    suffix = path.suffix.lower()
    reader = READERS.get(suffix)
    if reader is None and _is_idx(path):
        reader = _idx
    if reader is None:
        raise DataError(f"{path}: cannot read a `{suffix or 'suffix-less'}` file", f"give {KINDS}")
    return reader(path, wanted)


# ---- images ----------------------------------------------------------------------------


def _layout(shape: tuple[int, ...]) -> tuple[int, int, int]:
    """(C, H, W) the model's input asks images to be; a DataError when it takes no image."""
    layout = image_layout(shape)
    if layout is None:
        size = "x".join(map(str, shape))
        raise DataError(
            f"the model's input is {size}, not an image (1xHxW, 3xHxW or HxW)",
            "give the examples as a .npz or .csv file instead",
        )
    return layout


def _image(path: Path, wanted: Wanted) -> Examples:
    layout = _layout(wanted.input_shape)
    pixels = decode_image(
        path,
        layout,
        lambda err: DataError(f"{path}: not a readable image ({err})", f"give {KINDS}"),
    )
    return Examples(pixels[None], [str(path)])


def _folder(path: Path, wanted: Wanted) -> Examples:
    files = sorted(p for p in path.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not files:
        raise DataError(
            f"{path}: a folder without images ({', '.join(IMAGE_SUFFIXES)})",
            "put the images to classify in it, or pass the files themselves",
        )
    parts = [_image(p, wanted) for p in files]
    return Examples(np.concatenate([p.x for p in parts]), [str(p) for p in files])


# ---- arrays ----------------------------------------------------------------------------


def _is_idx(path: Path) -> bool:
    try:
        with open(path, "rb") as handle:
            head = handle.read(4)
    except OSError:
        return False
    return len(head) == 4 and head[:2] in (b"\x00\x00", b"\x1f\x8b")


def _idx(path: Path, wanted: Wanted) -> Examples:
    from specc.data.idx import read_idx

    images = read_idx(path)
    if images.ndim < 2:
        raise DataError(
            f"{path}: holds {images.shape[0]} single numbers (a labels file?), not examples",
            "pass the images file (…-images-idx3-ubyte)",
        )
    x = images.astype(np.float32)
    x = x[:, None] if x.ndim == 3 else x  # MNIST-style (N, H, W) -> (N, 1, H, W)
    return Examples(x, [f"{path}#{i}" for i in range(len(x))])


def _npz(path: Path, wanted: Wanted) -> Examples:
    from specc.data.tabular import read_arrays

    arrays = read_arrays(path)
    name = wanted.x_name if wanted.x_name in arrays else None
    if name is None and len(arrays) == 1:
        name = next(iter(arrays))
    if name is None:
        raise DataError(
            f"{path}: no array `{wanted.x_name}`; the archive holds: {', '.join(arrays) or 'nothing'}",
            f"name the examples `{wanted.x_name}` (or store only one array)",
        )
    x = arrays[name]
    if x.ndim == 0 or x.dtype.kind not in "biuf":
        raise DataError(f"{path}: `{name}` must be a numeric array, got {x.dtype} {x.shape}")
    labels = arrays.get(wanted.y_name)
    if labels is not None and len(labels) != len(x):
        labels = None
    return Examples(x.astype(np.float32), [f"{path}#{i}" for i in range(len(x))], labels)


def _several(path: Path, wanted: Wanted, inputs: dict[str, tuple[int, ...]]) -> Examples:
    """A model with several inputs: an .npz with one array per input name (and the
    targets, when present, under the spec's `y`)."""
    from specc.data.tabular import read_arrays

    listed = ", ".join(inputs)
    if path.suffix.lower() != ".npz" or not path.is_file():
        what = "no such file" if not path.exists() else f"not a .npz (`{path.suffix}`)"
        raise DataError(
            f"{path}: {what}; a model with several inputs reads a .npz with an array per "
            f"input ({listed})",
            "save the examples with np.savez(path, " + ", ".join(f"{n}=..." for n in inputs) + ")",
        )
    arrays = read_arrays(path)
    read_in: dict[str, np.ndarray] = {}
    for name, shape in inputs.items():
        if name not in arrays:
            raise DataError(
                f"{path}: no array `{name}` for the model input `{name}`; the archive holds: "
                f"{', '.join(arrays) or 'nothing'}",
                f"store one array per model input ({listed})",
            )
        x = arrays[name]
        if x.ndim == 0 or x.dtype.kind not in "biuf":
            raise DataError(f"{path}: `{name}` must be a numeric array, got {x.dtype} {x.shape}")
        have, need = math.prod(x.shape[1:]), math.prod(shape)
        if have != need:
            got, size = "x".join(map(str, x.shape[1:])) or "1", "x".join(map(str, shape))
            raise DataError(
                f"{path}: `{name}` examples are {got} ({have} values) but the model's input "
                f"`{name}` is {size} ({need} values)",
                f"give `{name}` examples of the shape the model was trained on",
            )
        read_in[name] = x.astype(np.float32)
    rows = {name: len(x) for name, x in read_in.items()}
    if len(set(rows.values())) > 1:
        counts = ", ".join(f"`{n}` {r}" for n, r in rows.items())
        raise DataError(f"{path}: the inputs' arrays differ in rows: {counts}")
    n = next(iter(rows.values()))
    labels = arrays.get(wanted.y_name)
    if labels is not None and len(labels) != n:
        labels = None
    return Examples(Inputs(read_in), [f"{path}#{i}" for i in range(n)], labels)


def _csv(path: Path, wanted: Wanted) -> Examples:
    """A header, then one example per row: the spec's feature columns by name."""
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            rows = [row for row in csv.reader(handle) if row and any(c.strip() for c in row)]
    except (OSError, UnicodeDecodeError, csv.Error) as err:
        raise DataError(f"{path}: cannot read as CSV ({err})") from None
    if len(rows) < 2:
        raise DataError(f"{path}: expected a header row and at least one data row")
    header = [name.strip() for name in rows[0]]
    names = wanted.features or [n for n in header if n != wanted.target]
    missing = [n for n in names if n not in header]
    if missing:
        raise DataError(
            f"{path}: no column {', '.join(f'`{n}`' for n in missing)}; the columns are: "
            f"{', '.join(header)}",
            "the file needs the feature columns the model was trained on, by name",
        )
    columns = [header.index(n) for n in names]
    values = np.empty((len(rows) - 1, len(columns)), dtype=np.float32)
    for r, row in enumerate(rows[1:]):
        for c, index in enumerate(columns):
            text = row[index] if index < len(row) else ""
            try:
                number = float(text)
            except ValueError:
                number = math.nan
            if not math.isfinite(number):
                raise DataError(
                    f"{path}:{r + 2}: column `{names[c]}` has {text.strip()!r}, not a finite number"
                )
            values[r, c] = number
    labels = None
    if wanted.target in header:
        at = header.index(wanted.target or "")
        labels = np.asarray([row[at].strip() if at < len(row) else "" for row in rows[1:]])
    return Examples(values, [f"{path}:{r + 2}" for r in range(len(values))], labels)


def _text(path: Path, wanted: Wanted) -> Examples:
    """One text file: its ids, tokenized with the run's saved vocabulary (vocab.json)."""
    if wanted.encode_text is None:
        raise DataError(
            f"{path}: the model was not trained on tokenized text (its run has no vocab.json)",
            f"give {KINDS}",
        )
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise DataError(f"{path}: not UTF-8 text ({err.reason} at byte {err.start})") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read ({err.strerror or err})") from None
    return Examples(wanted.encode_text(text)[None], [str(path)])


READERS: dict[str, Callable[[Path, Wanted], Examples]] = {
    **{suffix: _image for suffix in IMAGE_SUFFIXES},
    ".npz": _npz,
    ".csv": _csv,
    ".txt": _text,
    ".gz": _idx,
    ".idx": _idx,
}
