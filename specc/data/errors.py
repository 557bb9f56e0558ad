"""The one error type of the data layer: what went wrong, where, and what to do about it.

Every failure a user can cause (a missing or corrupt file, a bad column, no network) ends
here, never as a numpy or zlib traceback. The CLI prints `message` then `hint`.
"""

from __future__ import annotations


class DataError(Exception):
    """A user-facing data problem: `message` names the file or place, `hint` the fix."""

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"
