"""MNIST-format image sets: finding them on disk, downloading them, reading them.

`mnist` and `fashion_mnist` are looked for along specc.data.search's path: in
`$SPECC_DATA_DIR/<name>/` and specc's user cache, as Keras' cached file or folder, and in
torchvision's layout (`<root>/MNIST/raw`). Nothing found and downloading allowed: the four
files are fetched once into specc's user cache from the mirrors below, checksums verified. The mirrors and checksums are the ones torchvision
uses (torchvision/datasets/mnist.py); both tables are module-level so tests and
air-gapped sites can replace them (or set `SPECC_MNIST_MIRRORS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specc.data import search
from specc.data.download import fetch_for_set
from specc.data.errors import DataError
from specc.data.idx import read_idx
from specc.data.tabular import read_arrays
from specc.resources import bundled_dataset

# The four files of an MNIST-format set, in the order (x_train, y_train, x_test, y_test).
FILES = (
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
)

MIRRORS: dict[str, list[str]] = {
    "mnist": [
        "https://ossci-datasets.s3.amazonaws.com/mnist/",
        "http://yann.lecun.com/exdb/mnist/",
    ],
    "fashion_mnist": ["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
}
MIRRORS_ENV = {"mnist": "SPECC_MNIST_MIRRORS", "fashion_mnist": "SPECC_FASHION_MNIST_MIRRORS"}

CHECKSUMS: dict[str, dict[str, str]] = {
    "mnist": {
        "train-images-idx3-ubyte.gz": "md5:f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "md5:d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "md5:9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "md5:ec29112dd5afa0611ce80d1b7f02629c",
    },
    "fashion_mnist": {
        "train-images-idx3-ubyte.gz": "md5:8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "md5:25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "md5:bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "md5:bb300cfdad3c16e7a12a480ee83cd310",
    },
}

# Where other tools keep each set: torchvision's class folder, Keras' cached file or folder.
TORCHVISION_FOLDER = {"mnist": "MNIST", "fashion_mnist": "FashionMNIST"}
KERAS_ENTRY = {"mnist": "mnist.npz", "fashion_mnist": "fashion-mnist"}


@dataclass(frozen=True)
class Images:
    """An MNIST-format set as stored: uint8 images (N, H, W) and integer labels (N,)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str


def places(name: str) -> list[search.Place]:
    """Every place `name` is looked for, in search order (specc/data/search.py)."""
    return search.search_path(
        name, keras=[KERAS_ENTRY[name]], torchvision=[f"{TORCHVISION_FOLDER[name]}/raw"]
    )


def load_bundled() -> Images:
    """The 10,000-digit sample shipped inside specc."""
    folder = bundled_dataset("mnist_sample")
    return read_folder(folder, "mnist_sample (bundled)")


def locate(name: str, *, download: bool = True, progress: bool = True) -> Images:
    """Find `name` (mnist, fashion_mnist) on disk, else download it, else a DataError."""
    searched = places(name)
    for place in searched:
        if place.path.suffix == ".npz" and place.path.is_file():
            return read_keras_npz(place.path, f"{name} from {place.path}")
        if place.path.is_dir() and not missing_files(place.path):
            return read_folder(place.path, f"{name} from {place.path}")
    listing = "\n".join(f"  - {p.path} ({p.what}): {_why_not(p.path)}" for p in searched)
    if not download:
        raise DataError(
            f"{name} is not on this machine. Searched:\n{listing}",
            "allow downloading (no --no-download), put the files in one of these places, "
            "or use `data mnist_sample`",
        )
    target = search.cache_dir() / name
    _download(name, target, listing, progress)
    return read_folder(target, f"{name} from {target} (downloaded)")


def _download(name: str, target: Path, listing: str, progress: bool) -> None:
    for filename, checksum in CHECKSUMS[name].items():
        if (target / filename).is_file():
            continue  # an earlier, interrupted run already verified this one
        fetch_for_set(
            name,
            filename,
            checksum,
            target,
            mirrors_env=MIRRORS_ENV[name],
            default_mirrors=MIRRORS[name],
            searched=listing,
            offline_hint="use the bundled sample (`data mnist_sample`, or `--data mnist_sample`), "
            f"or copy the four {name} files into {target}",
            progress=progress,
        )


def _why_not(path: Path) -> str:
    if not path.exists():
        return "does not exist"
    if path.is_dir():
        return "missing " + ", ".join(missing_files(path))
    return "not a folder"


def find_file(folder: Path, stem: str) -> Path | None:
    """`stem`, plain or gzipped, also in the `train-images.idx3-ubyte` spelling."""
    dotted = stem.replace("-idx", ".idx")
    for name in (stem, f"{stem}.gz", dotted, f"{dotted}.gz"):
        if (folder / name).is_file():
            return folder / name
    return None


def missing_files(folder: Path) -> list[str]:
    return [stem for stem in FILES if find_file(folder, stem) is None]


def read_folder(folder: Path, source: str) -> Images:
    """Read and cross-check the four IDX files of an MNIST-format folder."""
    absent = missing_files(folder)
    if absent:
        raise DataError(
            f"{folder}: not an MNIST-format folder; missing " + ", ".join(absent),
            "it needs train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-images-idx3-ubyte "
            "and t10k-labels-idx1-ubyte (each may end in .gz)",
        )
    paths = [find_file(folder, stem) for stem in FILES]
    arrays = [read_idx(p) for p in paths if p is not None]
    for images, labels in ((0, 1), (2, 3)):
        _check_pair(arrays[images], arrays[labels], paths[images], paths[labels])
    if arrays[0].shape[1:] != arrays[2].shape[1:]:
        raise DataError(
            f"{folder}: training images are {arrays[0].shape[1:]} but test images are "
            f"{arrays[2].shape[1:]}"
        )
    return Images(arrays[0], arrays[1], arrays[2], arrays[3], source)


def _check_pair(images: np.ndarray, labels: np.ndarray, ipath: object, lpath: object) -> None:
    if images.ndim != 3:
        raise DataError(
            f"{ipath}: expected images (count x height x width), got shape {images.shape}"
        )
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise DataError(
            f"{lpath}: expected one integer label per image, got {labels.dtype} {labels.shape}"
        )
    if len(images) != len(labels):
        raise DataError(
            f"{ipath} holds {len(images)} images but {lpath} holds {len(labels)} labels",
            "the two files come from different sets: replace them with a matching pair",
        )


def read_keras_npz(path: Path, source: str) -> Images:
    """Keras' cached `mnist.npz`: arrays x_train, y_train, x_test, y_test."""
    stored = read_arrays(path)
    absent = [k for k in ("x_train", "y_train", "x_test", "y_test") if k not in stored]
    if absent:
        raise DataError(f"{path}: missing arrays {', '.join(absent)}", _DELETE)
    arrays = [stored[k] for k in ("x_train", "y_train", "x_test", "y_test")]
    _check_pair(arrays[0], arrays[1], f"{path} x_train", f"{path} y_train")
    _check_pair(arrays[2], arrays[3], f"{path} x_test", f"{path} y_test")
    return Images(arrays[0], arrays[1], arrays[2], arrays[3], source)


_DELETE = "the cached file is damaged: delete it so it is found elsewhere or downloaded again"
