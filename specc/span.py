"""Source positions. Every CST and IR node carries one, so every diagnostic can point."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class Span(BaseModel):
    """A half-open range of source text: 1-based lines and columns, 0-based offsets.

    `end_column` is exclusive, like Lark's `meta.end_column`, so a one-character
    token at column 5 has `column=5, end_column=6`.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    line: int
    column: int
    end_line: int
    end_column: int
    start: int
    end: int

    @classmethod
    def of_token(cls, tok: object) -> Span:
        """From a Lark token (or a tree's `meta`: it has the same position fields)."""
        return cls(
            line=tok.line,  # type: ignore[attr-defined]
            column=tok.column,  # type: ignore[attr-defined]
            end_line=tok.end_line,  # type: ignore[attr-defined]
            end_column=tok.end_column,  # type: ignore[attr-defined]
            start=tok.start_pos,  # type: ignore[attr-defined]
            end=tok.end_pos,  # type: ignore[attr-defined]
        )

    def cover(self, other: Span) -> Span:
        """The smallest span holding both `self` and `other`."""
        first, last = (self, other) if self.start <= other.start else (other, self)
        end = last if last.end >= first.end else first
        return Span(
            line=first.line,
            column=first.column,
            end_line=end.end_line,
            end_column=end.end_column,
            start=first.start,
            end=end.end,
        )

    @classmethod
    def point(cls, text: str, offset: int) -> Span:
        """A zero-width span at `offset` in `text` (for end-of-file errors)."""
        offset = max(0, min(offset, len(text)))
        line = text.count("\n", 0, offset) + 1
        column = offset - (text.rfind("\n", 0, offset) + 1) + 1
        return cls(
            line=line, column=column, end_line=line, end_column=column, start=offset, end=offset
        )
