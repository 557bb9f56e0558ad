"""Where named data sets are looked for on this machine: one search path for every set.

In order: `$SPECC_DATA_DIR/<name>/`, specc's user cache, Keras' cache (`$KERAS_HOME/datasets`
then `~/.keras/datasets`) and torchvision's roots (`./data`, `~/data`, `$TORCHVISION_ROOT`).
Each set says what it looks for inside each of them (mnist.py, cifar.py); docs/data.md
lists the result per set.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import platformdirs


@dataclass(frozen=True)
class Place:
    """One place searched: a folder or a file, absolute."""

    path: Path
    what: str  # who keeps data there, for the "searched" list


def cache_dir() -> Path:
    """specc's own download folder (`platformdirs.user_cache_dir("specc")/datasets`)."""
    return Path(platformdirs.user_cache_dir("specc")) / "datasets"


def search_path(
    name: str,
    *,
    own: Sequence[str] = ("",),
    keras: Sequence[str] = (),
    torchvision: Sequence[str] = (),
) -> list[Place]:
    """Every place `name` is looked for, in search order, without duplicates.

    `own`: entries looked for under `$SPECC_DATA_DIR/<name>/` and specc's cache
    (`""`: that folder itself); `keras`: under Keras' `datasets` folders; `torchvision`:
    under torchvision's roots.
    """
    found: list[Place] = []
    data_dir = os.environ.get("SPECC_DATA_DIR")
    roots = [(Path(data_dir).expanduser() / name, "$SPECC_DATA_DIR")] if data_dir else []
    roots.append((cache_dir() / name, "specc's cache"))
    found += [Place(root / entry, what) for root, what in roots for entry in own]
    for home in filter(None, [os.environ.get("KERAS_HOME"), "~/.keras"]):
        datasets = Path(home).expanduser() / "datasets"
        found += [Place(datasets / entry, "Keras") for entry in keras]
    for root in filter(None, ["data", "~/data", os.environ.get("TORCHVISION_ROOT")]):
        found += [Place(Path(root).expanduser() / entry, "torchvision") for entry in torchvision]
    unique: dict[Path, Place] = {}
    for place in found:  # absolute: the source description goes into run records
        unique.setdefault(place.path.absolute(), Place(place.path.absolute(), place.what))
    return list(unique.values())
