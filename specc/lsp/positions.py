"""Converting between specc spans (1-based lines and code-point columns, character
offsets) and LSP positions (0-based lines, UTF-16 code-unit columns by default).

Lark works on Python strings, so every span counts code points; LSP clients count UTF-16
code units unless both sides agreed on another encoding at initialisation. A line holding
`é` (one unit) is the same either way, `😀` (two units) is not, so every conversion goes
through the line's text.
"""

from __future__ import annotations

import bisect

from lsprotocol import types

from specc.span import Span


def _units(text: str, encoding: str) -> int:
    """Length of `text` in the client's code units."""
    if encoding == types.PositionEncodingKind.Utf32:
        return len(text)
    if encoding == types.PositionEncodingKind.Utf8:
        return len(text.encode("utf-8"))
    return len(text) + sum(1 for ch in text if ord(ch) > 0xFFFF)


class LineIndex:
    """Line starts of one text, for fast offset <-> position conversion."""

    def __init__(self, text: str, encoding: str = types.PositionEncodingKind.Utf16) -> None:
        self.text = text
        self.encoding = encoding
        self.starts = [0]
        found = text.find("\n")
        while found != -1:
            self.starts.append(found + 1)
            found = text.find("\n", found + 1)

    def line_text(self, line: int) -> str:
        """0-based line `line` without its line break."""
        if not 0 <= line < len(self.starts):
            return ""
        end = self.starts[line + 1] - 1 if line + 1 < len(self.starts) else len(self.text)
        return self.text[self.starts[line] : end].rstrip("\r")

    def position(self, offset: int) -> types.Position:
        """LSP position of a character offset."""
        offset = max(0, min(offset, len(self.text)))
        line = bisect.bisect_right(self.starts, offset) - 1
        column = offset - self.starts[line]
        prefix = self.text[self.starts[line] : offset]
        if prefix.isascii():
            return types.Position(line=line, character=column)
        return types.Position(line=line, character=_units(prefix, self.encoding))

    def offset(self, position: types.Position) -> int:
        """Character offset of an LSP position (clamped to the text)."""
        if position.line >= len(self.starts):
            return len(self.text)
        start = self.starts[position.line]
        line = self.line_text(position.line)
        if line.isascii():
            return start + min(position.character, len(line))
        units = 0
        for i, ch in enumerate(line):
            if units >= position.character:
                return start + i
            units += _units(ch, self.encoding)
        return start + len(line)

    def range(self, span: Span) -> types.Range:
        """The LSP range of a span (its offsets are the source of truth)."""
        return types.Range(start=self.position(span.start), end=self.position(span.end))
