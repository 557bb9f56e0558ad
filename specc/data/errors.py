"""The one error type of the data layer: what went wrong, where, and what to do about it.

Every failure a user can cause (a missing or corrupt file, a bad column, no network) ends
here, never as a numpy or zlib traceback. The CLI prints `message` then `hint`.
"""

from __future__ import annotations

from specc.errors import SpeccError


class DataError(SpeccError):
    """A user-facing data problem: `message` names the file or place, `hint` the fix."""
