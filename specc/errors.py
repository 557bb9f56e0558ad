"""User-facing run errors: what went wrong and what to do, never a traceback.

The data layer has its own `specc.data.DataError`; these cover the rest of a run. The CLI
catches `RunError` (and `DataError`), prints `message` then `hint`, and exits with
`exit_code`: 2 for usage mistakes (a device that is not there, a bad flag value), 1 for a
job that failed (divergence, an unreadable checkpoint).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class RunError(Exception):
    """A run could not start or finish; `message` says why, `hint` what to try."""

    exit_code: int = 1

    def __init__(self, message: str, hint: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.code = code  # a diagnostic code (`E400`) when the problem has one

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class UsageError(RunError):
    """The command asked for something impossible (bad `--model`, `--resume` of a non-run)."""

    exit_code = 2


class DeviceError(UsageError):
    """The requested device does not exist here (`--device cuda` on a machine without CUDA)."""


class BackendError(UsageError):
    """The backend is unknown or its framework is not installed."""


class PlanError(RunError):
    """The spec cannot be run as written (errors, search spaces, unsupported features).

    `diagnostics` holds the located problems so the CLI can render them like `specc check`.
    """

    def __init__(self, message: str, diagnostics: Sequence[Any], hint: str | None = None) -> None:
        super().__init__(message, hint)
        self.diagnostics = list(diagnostics)
        codes = {getattr(d, "code", None) for d in self.diagnostics}
        self.code = codes.pop() if len(codes) == 1 else None


class DivergenceError(RunError):
    """The loss became NaN or infinite; the last good checkpoint is kept."""

    def __init__(self, message: str, hint: str | None, run_dir: str | None = None) -> None:
        super().__init__(message, hint)
        self.run_dir = run_dir


class InterruptedRun(RunError):
    """Ctrl-C (SIGINT) during training: the run is marked `interrupted`; `hint` says how
    to continue it, with its real path."""

    exit_code = 130


class WeightsError(RunError):
    """`init from` or `--resume` weights are missing or do not fit the model."""
