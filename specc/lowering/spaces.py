"""The one walk that finds search spaces left in a spec.

`specc run` and `specc emit` refuse them (E601: a training needs numbers); `specc sweep`
turns each into an Optuna parameter, addressed by its path in the IR.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from specc.ir.spaces import is_space

PathPart = str | int


@dataclass(frozen=True)
class Found:
    """One search space: where it stands in the IR and the node that holds it."""

    path: tuple[PathPart, ...]
    owner: Any
    """The IR node whose field holds the space."""
    field: str
    space: Any


def find(root: Any) -> list[Found]:
    """Every search space under `root` (an IR node), in file order."""
    found: list[Found] = []

    def walk(value: Any, path: tuple[PathPart, ...], owner: Any, field: str) -> None:
        if is_space(value):
            found.append(Found(path, owner, field, value))
        elif isinstance(value, BaseModel):
            for name in type(value).model_fields:
                if name not in ("span", "field_spans"):
                    walk(getattr(value, name), (*path, name), value, name)
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value):
                walk(item, (*path, i), owner, field)

    walk(root, (), None, "")
    return sorted(found, key=lambda f: f.space.span.start if f.space.span else 0)
