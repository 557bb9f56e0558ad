"""Keeping the server's copy of each document equal to the editor's.

Incremental edits only make sense applied in the order the editor made them, and some
editors (Helix 25.01 while typing fast) send version 3 before version 2. `VersionGate`
holds an edit whose version skips ahead until the missing one arrives (or a short wait
passes: versions need not be consecutive, Neovim's skip), then releases them in version
order. An edit older than one already applied cannot be placed any more: the gate
reports it, and the server stops trusting its copy until the editor sends the whole text
again (on save, or by reopening the file).

(Analysing only the latest version of a burst is specc/lsp/worker.py's job.)
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

HOLD_SECONDS = 0.05  # how long an edit that skips a version waits for the missing one


class OutOfOrder(Exception):
    """An edit arrived for a version older than the text it would have to apply to."""

    def __init__(self, version: int, current: int) -> None:
        super().__init__(f"version {version} arrived after version {current}")
        self.version = version
        self.current = current


@dataclass
class VersionGate:
    """Releases one document's edits in version order."""

    version: int | None
    held: dict[int, Any] = field(default_factory=dict)

    def offer(self, version: int | None, changes: Any) -> list[tuple[int | None, Any]]:
        """The edits ready to apply now, in order; `changes` may be held back instead.
        Raises OutOfOrder for an edit that comes after a newer one was applied."""
        if version is None or self.version is None:
            self.version = version
            return [(version, changes)]
        if version <= self.version:
            raise OutOfOrder(version, self.version)
        self.held[version] = changes
        if version == self.version + 1 or min(self.held) == self.version + 1:
            return self._release(consecutive=True)
        return []

    def release_all(self) -> list[tuple[int | None, Any]]:
        """Everything held, in version order (the missing versions never came: the editor
        numbers its versions with gaps)."""
        return self._release(consecutive=False)

    def _release(self, consecutive: bool) -> list[tuple[int | None, Any]]:
        out: list[tuple[int | None, Any]] = []
        for version in sorted(self.held):
            if consecutive and self.version is not None and version != self.version + 1:
                break
            out.append((version, self.held.pop(version)))
            self.version = version
        return out


@contextmanager
def gc_paused() -> Iterator[None]:
    """No cyclic garbage collection while analysing: a 3,000-line spec allocates enough
    objects to trigger full collections over the whole heap mid-parse (about a third of
    the analysis time). The collector runs again afterwards, at the next allocation."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
