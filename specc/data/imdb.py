"""IMDB reviews as Keras stores them (`imdb.npz`): finding, downloading, reading, encoding.

The file holds x_train, y_train, x_test, y_test: reviews as object arrays of word-rank lists
(rank 1 = the most frequent word), labels 0/1. `data imdb vocab=V length=L` means exactly
Keras's `imdb.load_data(num_words=V)` followed by `pad_sequences(x, maxlen=L)`:

- each split is shuffled as load_data does (`np.random.RandomState(113)`, train then test);
- ids: 0 pads, 1 starts every review (`start_char`), 2 replaces words outside the vocabulary
  (`oov_char`), a word of rank r is id r + 3 (`index_from=3`) and kept when below V;
- padded and truncated at the start (pad_sequences' default `padding="pre"`,
  `truncating="pre"`): a long review keeps its last L ids.

A file whose x arrays are 2-D integers holds ids already encoded (load_data's output, padded,
saved): they are only re-padded to L and capped at V (ids >= V become 2), in stored order.

Looked for as `$SPECC_DATA_DIR/imdb/imdb.npz`, in specc's cache, and in Keras' cache
(`$KERAS_HOME/datasets/imdb.npz`, `~/.keras/datasets/imdb.npz`); else downloaded once into
specc's cache from Keras's URL with Keras's sha256 (keras/src/datasets/imdb.py).
The object arrays are unpickled with NumPy's array classes only, never arbitrary code.
"""

from __future__ import annotations

import io
import pickle
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

from specc.data import search
from specc.data.cifar_batches import PICKLE_GLOBALS as CIFAR_GLOBALS
from specc.data.download import fetch_for_set
from specc.data.errors import DataError

NAME = "imdb"
FILENAME = "imdb.npz"
MIRRORS = ["https://storage.googleapis.com/tensorflow/tf-keras-datasets/"]
MIRRORS_ENV = "SPECC_IMDB_MIRRORS"
CHECKSUM = "sha256:69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f"

PAD, START, OOV, INDEX_FROM = 0, 1, 2, 3
SHUFFLE_SEED = 113
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
# NumPy scalars may appear inside the lists of a re-saved file.
PICKLE_GLOBALS = CIFAR_GLOBALS | {
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "scalar"),
}


@dataclass(frozen=True)
class Reviews:
    """Encoded reviews: int64 ids (N, length) and int64 labels (N,), per split."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def places() -> list[search.Place]:
    """Every place imdb.npz is looked for, in search order (specc/data/search.py)."""
    return search.search_path(NAME, own=(FILENAME,), keras=(FILENAME,))


def locate(*, download: bool = True, progress: bool = True) -> Path:
    """The first imdb.npz along the search path, else a verified download, else DataError."""
    searched = places()
    for place in searched:
        if place.path.is_file():
            return place.path
    listing = "\n".join(f"  - {p.path} ({p.what}): does not exist" for p in searched)
    target = search.cache_dir() / NAME
    if not download:
        raise DataError(
            f"imdb is not on this machine. Searched:\n{listing}",
            f"allow downloading (no --no-download), or copy Keras's {FILENAME} into {target}",
        )
    return fetch_for_set(
        NAME,
        FILENAME,
        CHECKSUM,
        target,
        mirrors_env=MIRRORS_ENV,
        default_mirrors=MIRRORS,
        searched=listing,
        offline_hint=f"copy Keras's {FILENAME} (~/.keras/datasets/{FILENAME}) into {target}",
        progress=progress,
    )


def read(path: Path, vocab: int, length: int, source: str) -> Reviews:
    """Read and encode an imdb.npz (see the module docstring for the exact meaning)."""
    arrays = read_npz(path)
    rng = np.random.RandomState(SHUFFLE_SEED)
    encoded: list[np.ndarray] = []
    for x_name, y_name in (("x_train", "y_train"), ("x_test", "y_test")):
        x, y = arrays[x_name], arrays[y_name]
        if y.ndim != 1 or y.dtype.kind not in "iub" or len(y) != len(x):
            raise DataError(
                f"{path}: `{y_name}` must hold one integer label per review of `{x_name}` "
                f"({len(x)}), got {y.dtype} {y.shape}",
                _DAMAGED,
            )
        if x.dtype == object:
            order = np.arange(len(x))
            rng.shuffle(order)
            rows = [_keras_ids(path, x_name, int(i), x[i], vocab) for i in order]
            x_ids, y = pad_pre(rows, length), y[order]
        elif x.ndim == 2 and x.dtype.kind in "iu":
            x_ids = pad_pre([np.where(row < vocab, row, OOV) for row in x], length)
        else:
            raise DataError(
                f"{path}: `{x_name}` is {x.dtype} {x.shape}; expected Keras's object array of "
                "word-id lists or a 2-D integer array of ids",
                _DAMAGED,
            )
        encoded += [x_ids, y.astype(np.int64)]
    x_train, y_train, x_test, y_test = encoded
    return Reviews(x_train, y_train, x_test, y_test, source)


def pad_pre(rows: list[np.ndarray], length: int) -> np.ndarray:
    """Keras's `pad_sequences(rows, maxlen=length)`: zeros before, the last ids kept."""
    out = np.full((len(rows), length), PAD, dtype=np.int64)
    for i, row in enumerate(rows):
        kept = row[-length:]
        if len(kept):
            out[i, length - len(kept) :] = kept
    return out


def _keras_ids(path: Path, name: str, i: int, words: Any, vocab: int) -> np.ndarray:
    """One stored review (word ranks) -> ids: START, then rank + 3 or OOV when >= vocab."""
    try:
        ranks = np.asarray(words, dtype=np.int64).reshape(-1)
    except (TypeError, ValueError, OverflowError):
        raise DataError(
            f"{path}: `{name}` review #{i} is not a list of integers", _DAMAGED
        ) from None
    ids = np.concatenate([[START], ranks + INDEX_FROM])
    return np.where(ids < vocab, ids, OOV)


def read_npz(path: Path) -> dict[str, np.ndarray]:
    """The four arrays of an imdb.npz; object arrays through a NumPy-only unpickler."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = {n.removesuffix(".npy"): n for n in archive.namelist()}
            absent = [a for a in ARRAYS if a not in names]
            if absent:
                raise DataError(f"{path}: missing arrays {', '.join(absent)}", _DAMAGED)
            return {a: _read_member(archive, names[a], f"{path} `{a}`") for a in ARRAYS}
    except (zipfile.BadZipFile, OSError, EOFError) as err:
        raise DataError(f"{path}: not a readable .npz archive ({err})", _DAMAGED) from None


def _read_member(archive: zipfile.ZipFile, member: str, where: str) -> np.ndarray:
    with archive.open(member) as raw:
        handle = io.BytesIO(raw.read())
    try:
        version = np.lib.format.read_magic(handle)
        header = _HEADERS.get(version)
        if header is None:
            raise ValueError(f"unknown .npy version {version}")
        shape, _, dtype = header(handle, max_header_size=1 << 20)
        if not dtype.hasobject:
            handle.seek(0)
            return np.asarray(np.lib.format.read_array(handle, allow_pickle=False))
        found = _ArraysOnly(handle, encoding="latin1").load()
    except Exception as err:  # a damaged header or pickle: numpy and pickle raise many kinds
        raise DataError(f"{where}: unreadable ({err})", _DAMAGED) from None
    if not isinstance(found, np.ndarray) or found.shape != shape:
        raise DataError(f"{where}: does not hold an array of shape {shape}", _DAMAGED)
    return found


_HEADERS = {
    (1, 0): np.lib.format.read_array_header_1_0,
    (2, 0): np.lib.format.read_array_header_2_0,
}


class _ArraysOnly(pickle.Unpickler):
    def __init__(self, handle: IO[bytes], *, encoding: str) -> None:
        super().__init__(handle, encoding=encoding)

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it asks for `{module}.{name}`, which specc does not load")


_DAMAGED = (
    "the file is not Keras's imdb.npz or is damaged: delete it so it is found elsewhere or "
    "downloaded again"
)
