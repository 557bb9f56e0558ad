"""The one error base: every mistake a user can make ends in a `SpeccError`.

An error is data first: `message` (what went wrong, naming the file or flag), `hint` (what
to do), `exit_code` (2 for usage mistakes such as a device that is not there or a bad flag
value, 1 for a job that failed: divergence, corrupt data, an unreadable checkpoint) and
`diagnostics` (located problems in a spec, rendered like `specc check`, with `source`
naming the spec they point into). The CLI has one path that prints any of them
(specc/cli/errors.py); the data layer (`specc.data.DataError`), emit (`EmitError`,
`UnknownTarget`) and runs (`RunError` and its kinds) all derive from it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


class SpeccError(Exception):
    """A user-facing problem: `message` says what, `hint` what to try."""

    exit_code: int = 1

    def __init__(
        self,
        message: str,
        hint: str | None = None,
        diagnostics: Sequence[Any] = (),
        source: tuple[str, str] | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.diagnostics = list(diagnostics)
        self.source = source
        """(path, text) of the spec the diagnostics point into, when there are any."""
        if code is None:  # the errors' code when they all share one (warnings have none)
            codes = {
                getattr(d, "code", None)
                for d in self.diagnostics
                if getattr(getattr(d, "severity", None), "value", "error") == "error"
            }
            code = codes.pop() if len(codes) == 1 else None
        self.code = code
        """A diagnostic code (`E400`) when the problem has one: `error[E400]: ...`."""

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class RunError(SpeccError):
    """A run could not start or finish; `message` says why, `hint` what to try."""


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

    def __init__(
        self,
        message: str,
        diagnostics: Sequence[Any],
        hint: str | None = None,
        source: tuple[str, str] | None = None,
    ) -> None:
        super().__init__(message, hint, diagnostics, source)


DIVERGED = "the loss became NaN or infinite"  # how a DivergenceError's message begins


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
