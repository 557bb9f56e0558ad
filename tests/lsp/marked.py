"""Test texts with a `|` marking the cursor."""

from __future__ import annotations

from lsprotocol import types


def cursor(marked: str) -> tuple[str, types.Position]:
    """The text without its `|` marker, and the marker's LSP position (ASCII text)."""
    offset = marked.index("|")
    text = marked[:offset] + marked[offset + 1 :]
    line = text.count("\n", 0, offset)
    character = offset - (text.rfind("\n", 0, offset) + 1)
    return text, types.Position(line=line, character=character)
