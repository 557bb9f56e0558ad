"""CIFAR-10: finding it on disk, downloading it, extracting the archive safely.

Looked for along specc.data.search's path, the first complete copy winning: in
`$SPECC_DATA_DIR/cifar10/` and specc's cache (the batch files themselves, either version's
folder, or the archive), in Keras' cache (`datasets/cifar-10-batches-py`, Keras 3's
`cifar-10-batches-py-target/cifar-10-batches-py`) and in torchvision's roots
(`<root>/cifar-10-batches-py`, and the `cifar-10-python.tar.gz` it downloads there). An
archive is read where it lies, nothing extracted. Nothing found and downloading allowed:
the official archive (the URL and md5 torchvision's `CIFAR10` uses) is fetched once into
specc's cache, verified, and its batches extracted next to it. The batch formats:
specc/data/cifar_batches.py.
"""

from __future__ import annotations

import os
import shutil
import tarfile
import tempfile
import zlib
from pathlib import Path

from specc.data import cifar_batches as batches
from specc.data import search
from specc.data.download import fetch_for_set
from specc.data.errors import DataError

NAME = "cifar10"
ARCHIVE = "cifar-10-python.tar.gz"
# torchvision/datasets/cifar.py's `url` and `tgz_md5`; module-level so that tests and
# air-gapped sites can replace them (or set `SPECC_CIFAR10_MIRRORS`).
MIRRORS = ["https://www.cs.toronto.edu/~kriz/"]
MIRRORS_ENV = "SPECC_CIFAR10_MIRRORS"
CHECKSUM = "md5:c58f30108f718f92721af3b95e74349a"

# What each kind of place may hold, in the order tried there ("": the folder itself).
OWN = ("", "cifar-10-batches-py", "cifar-10-batches-bin", ARCHIVE)
KERAS = ("cifar-10-batches-py", "cifar-10-batches-py-target/cifar-10-batches-py")
TORCHVISION = ("cifar-10-batches-py", ARCHIVE)


def places() -> list[search.Place]:
    """Every place CIFAR-10 is looked for, in search order."""
    return search.search_path(NAME, own=OWN, keras=KERAS, torchvision=TORCHVISION)


def holds_set(path: Path) -> bool:
    """`path` is a complete folder of batches (either version) or a file (an archive)."""
    if path.is_dir():
        return batches.version_of(path) is not None and not batches.missing(path)
    return path.is_file()


def read(path: Path, source: str) -> batches.Batches:
    """A folder of batches (either version) or the python version's .tar.gz."""
    return (
        batches.read_folder(path, source) if path.is_dir() else batches.read_archive(path, source)
    )


def locate(*, download: bool = True, progress: bool = True) -> batches.Batches:
    """Find CIFAR-10 on disk, else download it, else a DataError listing every place."""
    searched = places()
    for place in searched:
        if holds_set(place.path):
            return read(place.path, f"{NAME} from {place.path}")
    listing = "\n".join(f"  - {p.path} ({p.what}): {_why_not(p.path)}" for p in searched)
    target = search.cache_dir() / NAME
    if not download:
        raise DataError(
            f"{NAME} is not on this machine. Searched:\n{listing}",
            f"allow downloading (no --no-download), or put {ARCHIVE} or its "
            "cifar-10-batches-py folder in one of these places",
        )
    archive = fetch_for_set(
        NAME,
        ARCHIVE,
        CHECKSUM,
        target,
        mirrors_env=MIRRORS_ENV,
        default_mirrors=MIRRORS,
        searched=listing,
        offline_hint=f"copy {ARCHIVE} (or the folder it holds) into {target}",
        progress=progress,
    )
    folder = extract(archive, target)
    archive.unlink()
    return batches.read_folder(folder, f"{NAME} from {folder} (downloaded)")


def extract(archive: Path, into: Path) -> Path:
    """Extract the python version's batches into `into/cifar-10-batches-py`; that folder.

    Only the batch and meta files are written, under their own names (never a member's
    path: see `archive_members`), into a temporary folder renamed into place once complete,
    so a failed extraction leaves nothing that a later search would trust.
    """
    final = into / batches.PYTHON.folder
    into.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{batches.PYTHON.folder}.", dir=into))
    try:
        with batches.open_archive(archive) as tar:
            members = batches.archive_members(tar, archive, batches.PYTHON)
            absent = [n for n in batches.PYTHON.batches() if n not in members]
            if absent:
                raise DataError(f"{archive}: lacks {', '.join(absent)}", "download it again")
            for name, member in members.items():
                source = tar.extractfile(member)
                assert source is not None  # a regular file (archive_members)
                with source, open(staging / name, "wb") as out:
                    shutil.copyfileobj(source, out)
        if final.exists():
            shutil.rmtree(final)  # incomplete: a complete copy would have been found first
        os.replace(staging, final)
    except (OSError, tarfile.TarError, EOFError, zlib.error) as err:
        why = err.strerror if isinstance(err, OSError) else None
        raise DataError(f"cannot extract {archive} into {into}: {why or err}") from err
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final


def _why_not(path: Path) -> str:
    """Why a place searched holds no set (a file there is read as an archive, so none)."""
    return "missing " + ", ".join(batches.missing(path)) if path.is_dir() else "does not exist"
