"""What a run shows while it trains: a rich bar on a terminal, one line per epoch otherwise.

Everything goes to stderr, so stdout carries only the final result (or, with `--json`,
only the JSON object). `silent` shows nothing at all (`--json`, `--quiet`).
"""

from __future__ import annotations

import sys
from typing import Any, Literal, TextIO

Mode = Literal["bar", "lines", "silent"]
BAR_EVERY = 10  # steps between bar refreshes (each one reads the loss from the device)


def choose_mode(quiet: bool, json_output: bool, stream: TextIO | None = None) -> Mode:
    if quiet or json_output:
        return "silent"
    stream = stream or sys.stderr
    return "bar" if stream.isatty() else "lines"


def format_metrics(record: dict[str, Any]) -> str:
    parts = []
    for key, value in record.items():
        if key in ("epoch", "seconds", "lr", "steps") or not isinstance(value, float):
            continue
        parts.append(f"{key} {value:.4f}")
    return "  ".join(parts)


class Progress:
    """Per-epoch display; `step_callback()` is non-None only when a bar wants step updates."""

    def __init__(self, mode: Mode, epochs: int, stream: TextIO | None = None) -> None:
        self.mode = mode
        self.epochs = epochs
        self.stream = stream or sys.stderr
        self._bar: Any = None
        self._task: Any = None

    def info(self, text: str) -> None:
        if self.mode != "silent":
            print(text, file=self.stream, flush=True)

    def start_epoch(self, epoch: int, steps: int) -> None:
        if self.mode != "bar":
            return
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            TextColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        self._bar = RichProgress(
            TextColumn(f"epoch {epoch + 1}/{self.epochs}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]} steps/s"),
            TimeRemainingColumn(),
            TextColumn("loss {task.fields[loss]}"),
            console=Console(file=self.stream),
            transient=True,
        )
        self._task = self._bar.add_task("train", total=steps, loss="-", rate="-")
        self._bar.start()

    def step_callback(self) -> Any:
        if self.mode != "bar":
            return None

        def update(done: int, loss: float, rate: float) -> None:
            if self._bar is not None:
                self._bar.update(self._task, completed=done, loss=f"{loss:.4f}", rate=f"{rate:.0f}")

        return update

    def end_epoch(self, record: dict[str, Any]) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
        if self.mode == "silent":
            return
        line = f"epoch {record['epoch']}/{self.epochs}  {format_metrics(record)}"
        line += f"  ({record['seconds']:.1f}s)"
        print(line, file=self.stream, flush=True)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.stop()
            self._bar = None
