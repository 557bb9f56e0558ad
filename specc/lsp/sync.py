"""Keeping the server's copy of each document equal to the editor's, cheaply.

Two problems, two small pieces:

- `VersionGate`: incremental edits only make sense applied in the order the editor made
  them, and some editors (Helix 25.01 while typing fast) send version 3 before version 2.
  The gate holds an edit whose version skips ahead until the missing one arrives (or a
  short wait passes: versions need not be consecutive, Neovim's skip), then releases them
  in version order. An edit older than one already applied cannot be placed any more:
  the gate reports it, and the server stops trusting its copy until the editor sends the
  whole text again (on save, or by reopening the file).
- `Debouncer`: every keystroke is a new version, but only the last one of a burst is
  worth analysing. Each change restarts a short timer per document; the analysis runs
  when it fires, or at once when a request needs the current text (`flush`). The wait
  depends on how long the last analysis took, so a big file is not re-analysed between
  keystrokes it could not keep up with.
"""

from __future__ import annotations

import asyncio
import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

HOLD_SECONDS = 0.05  # how long an edit that skips a version waits for the missing one
# Debounce: the wait after a change is half the document's last analysis time, between
# these bounds (seconds). A quick analysis runs almost at once (it is over before the
# next key); a slow one waits for a pause longer than a keystroke gap when typing fast
# (80 ms), so a burst costs one analysis instead of falling behind.
MIN_DELAY = 0.01
MAX_DELAY = 0.12
DELAY_PER_ANALYSIS = 0.5


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


class Debouncer:
    """One pending call per key (a document URI), run after a delay unless flushed."""

    def __init__(self, run: Callable[[str], object]) -> None:
        self.run = run
        self.pending: dict[str, asyncio.TimerHandle] = {}
        self.last_duration: dict[str, float] = {}

    def delay(self, key: str) -> float:
        took = self.last_duration.get(key, 0.0)
        return min(MAX_DELAY, max(MIN_DELAY, took * DELAY_PER_ANALYSIS))

    def schedule(self, key: str) -> None:
        self.cancel(key)
        loop = asyncio.get_running_loop()
        self.pending[key] = loop.call_later(self.delay(key), self._fire, key)

    def _fire(self, key: str) -> None:
        self.pending.pop(key, None)
        start = asyncio.get_running_loop().time()
        self.run(key)
        self.last_duration[key] = asyncio.get_running_loop().time() - start

    def flush(self, key: str) -> bool:
        """Run the pending call now, if there is one (a request needs fresh results)."""
        if key not in self.pending:
            return False
        self.pending.pop(key).cancel()
        self._fire(key)
        return True

    def cancel(self, key: str) -> None:
        handle = self.pending.pop(key, None)
        if handle is not None:
            handle.cancel()

    def forget(self, key: str) -> None:
        self.cancel(key)
        self.last_duration.pop(key, None)


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
