"""Reading CIFAR-10's batch files, in both official versions, from a folder or the archive.

- The python version (`cifar-10-batches-py/`): `data_batch_1`..`data_batch_5` and
  `test_batch`, each a dict pickled by Python 2, read as Keras and torchvision read it
  (`encoding="bytes"`: its keys are bytes). `b"data"` is uint8 (N, 3072): per image 1024
  red, 1024 green, then 1024 blue values, each channel 32x32 row by row; `b"labels"` is N
  integers 0..9. `batches.meta` names the classes (`b"label_names"`).
- The binary version (`cifar-10-batches-bin/`): `data_batch_1.bin`..`data_batch_5.bin` and
  `test_batch.bin`, records of 1 label byte then the same 3072 pixel bytes;
  `batches.meta.txt` names the classes, one a line.

Pickles go through an unpickler that builds NumPy arrays and nothing else (Keras does the
same): a tampered batch cannot run code. Anything that does not add up is a `DataError`
naming the file, as for IDX files (specc/data/idx.py).
"""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specc.data.errors import DataError

CLASSES = 10
IMAGE = (3, 32, 32)  # channels first, as the files store it
PIXELS = 3 * 32 * 32
RECORD = 1 + PIXELS  # the binary version: a label byte, then the pixels


@dataclass(frozen=True)
class Version:
    """One of the two official versions: its folder name and the names of its files."""

    folder: str
    suffix: str
    meta: str
    parse: Callable[[bytes, str], tuple[np.ndarray, np.ndarray]]
    names: Callable[[bytes, str], tuple[str, ...]]

    def batches(self) -> tuple[str, ...]:
        """The five training batches, then the test batch."""
        stems = (*(f"data_batch_{i}" for i in range(1, 6)), "test_batch")
        return tuple(stem + self.suffix for stem in stems)


@dataclass(frozen=True)
class Batches:
    """CIFAR-10 as stored: uint8 images (N, 3, 32, 32), integer labels (N,), class names."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    class_names: tuple[str, ...] | None


# ---- the python version ---------------------------------------------------------------

# What a CIFAR batch's pickle may build: NumPy arrays (both spellings of numpy's module,
# before and after NumPy 2), and the bytes a Python 3 writer spells with `_codecs.encode`.
PICKLE_GLOBALS = frozenset(
    {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }
)
# What a damaged or foreign pickle raises while being read.
_UNREADABLE = (
    pickle.UnpicklingError,
    EOFError,
    ValueError,
    TypeError,
    IndexError,
    KeyError,
    AttributeError,
    OverflowError,
    MemoryError,
)
_REPLACE = "the file is damaged: delete it and download CIFAR-10 again, or point `--data` elsewhere"


class _ArraysOnly(pickle.Unpickler):
    def find_class(self, module: str, name: str) -> Any:
        if (module, name) in PICKLE_GLOBALS:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"it asks for `{module}.{name}`, which specc does not load")


def unpickle(raw: bytes, where: str) -> dict[str, Any]:
    """A pickled dict, its bytes keys decoded (`b"data"` -> `"data"`)."""
    try:
        found = _ArraysOnly(io.BytesIO(raw), encoding="bytes").load()
    except _UNREADABLE as err:
        cut = isinstance(err, EOFError) or "truncated" in str(err)
        why = "the file ends inside it: truncated" if cut else err
        raise DataError(f"{where}: not a CIFAR-10 python batch ({why})", _REPLACE) from None
    if not isinstance(found, dict):
        raise DataError(f"{where}: holds a {type(found).__name__}, not a CIFAR-10 batch", _REPLACE)
    return {(k.decode("latin-1") if isinstance(k, bytes) else str(k)): v for k, v in found.items()}


def parse_pickle(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch of the python version: (images (N, 3, 32, 32), labels (N,))."""
    batch = unpickle(raw, where)
    missing = [key for key in ("data", "labels") if key not in batch]
    if missing:
        keys = ", ".join(sorted(batch)) or "nothing"
        raise DataError(
            f"{where}: no {' or '.join(missing)} in this batch (it holds {keys})", _REPLACE
        )
    data = batch["data"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2:
        found = (
            f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        )
        raise DataError(
            f"{where}: `data` must be uint8 rows of {PIXELS} pixels, not {found}", _REPLACE
        )
    if data.shape[1] != PIXELS:
        raise DataError(
            f"{where}: images of {data.shape[1]} values, not {PIXELS} (3x32x32): "
            "not CIFAR-10 (CIFAR-100 and downsampled sets differ)",
            _REPLACE,
        )
    try:
        labels = np.asarray(batch["labels"])
    except ValueError as err:
        raise DataError(f"{where}: `labels` is not a list of numbers ({err})", _REPLACE) from None
    if labels.ndim != 1 or labels.dtype.kind not in "iu" or len(labels) != len(data):
        raise DataError(
            f"{where}: {len(data)} images but `labels` is {labels.dtype} {labels.shape}",
            "a batch holds one integer label per image: " + _REPLACE,
        )
    return data.reshape(-1, *IMAGE), labels.astype(np.int64)


def pickle_names(raw: bytes, where: str) -> tuple[str, ...]:
    """The class names in `batches.meta`."""
    names = unpickle(raw, where).get("label_names")
    if not isinstance(names, list) or not all(isinstance(n, bytes | str) for n in names):
        raise DataError(f"{where}: no list of `label_names`", _REPLACE)
    return tuple(n.decode("utf-8", "replace") if isinstance(n, bytes) else n for n in names)


# ---- the binary version ----------------------------------------------------------------


def parse_records(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch of the binary version: (images (N, 3, 32, 32), labels (N,))."""
    if not raw or len(raw) % RECORD:
        whole, rest = divmod(len(raw), RECORD)
        raise DataError(
            f"{where}: {len(raw)} bytes is {whole} records of {RECORD} bytes and {rest} more: "
            f"each image is 1 label byte and {PIXELS} pixel bytes (truncated or not CIFAR-10)",
            _REPLACE,
        )
    records = np.frombuffer(raw, dtype=np.uint8).reshape(-1, RECORD)
    return records[:, 1:].reshape(-1, *IMAGE), records[:, 0].astype(np.int64)


def text_names(raw: bytes, where: str) -> tuple[str, ...]:
    """The class names in `batches.meta.txt`, one a line."""
    return tuple(
        line.strip() for line in raw.decode("utf-8", "replace").splitlines() if line.strip()
    )


PYTHON = Version("cifar-10-batches-py", "", "batches.meta", parse_pickle, pickle_names)
BINARY = Version("cifar-10-batches-bin", ".bin", "batches.meta.txt", parse_records, text_names)
VERSIONS = (PYTHON, BINARY)


# ---- reading a folder or the archive -----------------------------------------------------


def version_of(folder: Path) -> Version | None:
    """The version of the batch files in `folder` (some may be missing), or None."""
    found = (v for v in VERSIONS if any((folder / n).is_file() for n in v.batches()))
    return next(found, None)


def missing(folder: Path) -> list[str]:
    """The batch files `folder` lacks (of the version it holds; the python one if neither)."""
    version = version_of(folder) or PYTHON
    return [name for name in version.batches() if not (folder / name).is_file()]


def read_folder(folder: Path, source: str) -> Batches:
    """Every batch of a folder of either version."""
    version = version_of(folder) or PYTHON
    absent = missing(folder)
    if absent:
        raise DataError(
            f"{folder}: not a CIFAR-10 folder; missing " + ", ".join(absent),
            "it needs data_batch_1 .. data_batch_5 and test_batch (the python version), or "
            "the same names ending in .bin (the binary version)",
        )

    def read(name: str) -> bytes | None:
        path = folder / name
        if not path.is_file():
            return None
        try:
            return path.read_bytes()
        except OSError as err:
            raise DataError(f"{path}: cannot read ({err.strerror or err})") from err

    return _assemble(version, read, str(folder), source)


def read_archive(path: Path, source: str) -> Batches:
    """Every batch of `cifar-10-python.tar.gz`, read inside the archive (nothing written)."""
    with open_archive(path) as archive:
        members = archive_members(archive, path, PYTHON)

        def read(name: str) -> bytes | None:
            member = members.get(name)
            handle = archive.extractfile(member) if member is not None else None
            return _archive_read(path, handle) if handle is not None else None

        absent = [name for name in PYTHON.batches() if name not in members]
        if absent:
            raise DataError(
                f"{path}: not the CIFAR-10 python archive; it lacks "
                + ", ".join(f"{PYTHON.folder}/{name}" for name in absent),
                "download cifar-10-python.tar.gz again (md5 c58f30108f718f92721af3b95e74349a)",
            )
        return _assemble(PYTHON, read, f"{path}:{PYTHON.folder}", source)


def open_archive(path: Path) -> tarfile.TarFile:
    try:
        return tarfile.open(path, "r:gz")
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise DataError(f"{path}: not a readable .tar.gz archive ({err})", _REPLACE) from None


def archive_members(
    archive: tarfile.TarFile, path: Path, version: Version
) -> dict[str, tarfile.TarInfo]:
    """The archive's regular files `<version folder>/<batch or meta>`, by file name.

    Only these names are ever read or extracted, so a member named `../x` or an absolute
    path, a link or a device is never followed: no path traversal.
    """
    wanted = {f"{version.folder}/{name}": name for name in (*version.batches(), version.meta)}
    try:
        infos = archive.getmembers()
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise DataError(f"{path}: damaged archive ({err})", _REPLACE) from None
    return {wanted[i.name]: i for i in infos if i.name in wanted and i.isfile()}


def _archive_read(path: Path, handle: Any) -> bytes:
    try:
        return bytes(handle.read())
    except (tarfile.TarError, EOFError, zlib.error, OSError) as err:
        raise DataError(f"{path}: damaged archive ({err})", _REPLACE) from None


def _assemble(
    version: Version, read: Callable[[str], bytes | None], where: str, source: str
) -> Batches:
    parts = []
    for name in version.batches():
        raw = read(name)
        assert raw is not None  # the callers checked every batch is there
        parts.append(version.parse(raw, f"{where}/{name}"))
    meta = read(version.meta)
    names = version.names(meta, f"{where}/{version.meta}") if meta is not None else None
    if names is not None and len(names) != CLASSES:
        raise DataError(
            f"{where}/{version.meta}: {len(names)} class names, not {CLASSES}", _REPLACE
        )
    train, (x_test, y_test) = parts[:-1], parts[-1]
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return Batches(x_train, y_train, x_test, y_test, source, names)
