"""The emit targets. Each module here defines one `TARGET` (a `specc.emit.target.Target`).

`NAMES` is the list the CLI offers; a target whose module is not written yet is reported
as unavailable instead of crashing.
"""

from __future__ import annotations

import importlib

from specc.emit.target import Target
from specc.errors import UsageError

NAMES: tuple[str, ...] = ("pytorch", "keras", "tensorflow", "mindspore")


class UnknownTarget(UsageError):
    """`--target` names no target (or one whose module is missing)."""


class TargetUnavailable(UnknownTarget):
    """A known target whose module is not part of this installation."""


def get_target(name: str) -> Target:
    if name not in NAMES:
        raise UnknownTarget(f"unknown target {name!r}; choose one of: {', '.join(NAMES)}")
    try:
        module = importlib.import_module(f"specc.emit.targets.{name}")
    except ModuleNotFoundError as err:
        if err.name != f"specc.emit.targets.{name}":
            raise
        raise TargetUnavailable(f"the {name} target is not available in this version") from err
    target: Target = module.TARGET
    return target


def available() -> list[Target]:
    """Every target whose module exists, in `NAMES` order."""
    out = []
    for name in NAMES:
        try:
            out.append(get_target(name))
        except UnknownTarget:
            continue
    return out
