"""Small CIFAR-10 sets written at test time in the exact upstream formats.

The python version's batches are pickled as Python 2's cPickle wrote them (protocol 2,
Python 2 `str` as BINSTRING, so that `pickle.load(f, encoding="bytes")` gives bytes keys;
NumPy arrays rebuilt by `numpy.core.multiarray._reconstruct`), the binary version as
records of a label byte and 3072 pixel bytes, the archive as `cifar-10-batches-py/...`
inside a .tar.gz. Pixels are random but each image's first pixel is its index in the set,
and labels are 0..9 in turn, so a test can tell every image apart.
"""

from __future__ import annotations

import io
import pickle
import struct
import tarfile
from pathlib import Path
from typing import Any

import numpy as np

TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


class _Python2Pickler(pickle._Pickler):  # type: ignore[name-defined]
    """Pickles `str` and `bytes` as Python 2 pickled its `str`: SHORT_BINSTRING/BINSTRING."""

    def save_python2_str(self, obj: str | bytes) -> None:
        data = obj.encode("latin-1") if isinstance(obj, str) else obj
        if len(data) < 256:
            self.write(pickle.SHORT_BINSTRING + bytes([len(data)]) + data)
        else:
            self.write(pickle.BINSTRING + struct.pack("<i", len(data)) + data)
        self.memoize(obj)

    dispatch = dict(pickle._Pickler.dispatch)  # type: ignore[attr-defined]
    dispatch[bytes] = save_python2_str
    dispatch[str] = save_python2_str


def python2_pickle(obj: Any) -> bytes:
    out = io.BytesIO()
    _Python2Pickler(out, protocol=2).dump(obj)
    # NumPy 1 (which wrote the files) names its array builder numpy.core.multiarray.
    return out.getvalue().replace(b"cnumpy._core.multiarray\n", b"cnumpy.core.multiarray\n")


def images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(images uint8 (n, 3, 32, 32), labels int64 (n,)), told apart by their first pixel."""
    x = np.random.default_rng(seed).integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    x[:, 0, 0, 0] = np.arange(n) % 256
    return x, (np.arange(n) + seed) % 10


def python_batch(x: np.ndarray, y: np.ndarray, label: str) -> bytes:
    return python2_pickle(
        {
            b"batch_label": label.encode(),
            b"labels": [int(v) for v in y],
            b"data": x.reshape(len(x), -1),
            b"filenames": [f"img_{i}.png".encode() for i in range(len(x))],
        }
    )


def binary_batch(x: np.ndarray, y: np.ndarray) -> bytes:
    records = np.concatenate([y.astype(np.uint8)[:, None], x.reshape(len(x), -1)], axis=1)
    return records.tobytes()


def learnable_images(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Images a small network tells apart in a few steps: each class has its own colour
    (a mean per channel) under noise; labels 0..9 in turn."""
    rng = np.random.default_rng(seed)
    labels = (np.arange(n) + seed) % 10
    colours = np.random.default_rng(99).integers(40, 216, (10, 3))
    noise = rng.normal(0, 30, (n, 3, 32, 32))
    x = np.clip(colours[labels][:, :, None, None] + noise, 0, 255).astype(np.uint8)
    return x, labels


def cifar_arrays(
    per_batch: int = 4, n_test: int = 6, learnable: bool = False
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Each batch's (images, labels): five training batches and the test batch."""
    make = learnable_images if learnable else images
    arrays = {name: make(per_batch, seed) for seed, name in enumerate(TRAIN)}
    arrays["test_batch"] = make(n_test, 7)
    return arrays


def expected(arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test) as a reader must return them."""
    x_train = np.concatenate([arrays[name][0] for name in TRAIN])
    y_train = np.concatenate([arrays[name][1] for name in TRAIN])
    return x_train, y_train, *arrays["test_batch"]


def python_files(arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, bytes]:
    files = {name: python_batch(x, y, name) for name, (x, y) in arrays.items()}
    files["batches.meta"] = python2_pickle(
        {
            b"label_names": [n.encode() for n in NAMES],
            b"num_vis": 3072,
            b"num_cases_per_batch": 10000,
        }
    )
    return files


def binary_files(arrays: dict[str, tuple[np.ndarray, np.ndarray]]) -> dict[str, bytes]:
    files = {f"{name}.bin": binary_batch(x, y) for name, (x, y) in arrays.items()}
    files["batches.meta.txt"] = ("\n".join(NAMES) + "\n\n").encode()
    return files


def write_folder(folder: Path, files: dict[str, bytes]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


def write_python(folder: Path, **sizes: Any) -> tuple[np.ndarray, ...]:
    """A python-version folder (`folder` is the cifar-10-batches-py itself), of
    `cifar_arrays(**sizes)`; (x_train, y_train, x_test, y_test) as written."""
    arrays = cifar_arrays(**sizes)
    write_folder(folder, python_files(arrays))
    return expected(arrays)


def write_binary(folder: Path, **sizes: Any) -> tuple[np.ndarray, ...]:
    """The same for the binary version (`folder` is the cifar-10-batches-bin)."""
    arrays = cifar_arrays(**sizes)
    write_folder(folder, binary_files(arrays))
    return expected(arrays)


def write_archive(
    path: Path, files: dict[str, bytes], extra: dict[str, bytes] | None = None
) -> Path:
    """A .tar.gz holding `files` under cifar-10-batches-py/, and `extra` at the names given."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with tarfile.open(path, "w:gz") as tar:
        entries = {f"cifar-10-batches-py/{name}": data for name, data in files.items()}
        for name, data in {**entries, **(extra or {})}.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return path
