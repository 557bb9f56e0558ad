"""Span <-> LSP position conversion, in every encoding a client may pick."""

from __future__ import annotations

import pytest
from lsprotocol import types

from specc.lsp.positions import LineIndex

TEXT = 'ab\n# é😀 "x" z\nlast'


@pytest.mark.parametrize(
    ("encoding", "character"),
    [
        (types.PositionEncodingKind.Utf16, 10),  # 😀 is two UTF-16 units
        (types.PositionEncodingKind.Utf8, 13),  # é is 2 bytes, 😀 is 4
        (types.PositionEncodingKind.Utf32, 9),
    ],
)
def test_round_trip_after_non_ascii(encoding: str, character: int) -> None:
    index = LineIndex(TEXT, encoding)
    offset = TEXT.index("z")
    position = index.position(offset)
    assert position == types.Position(line=1, character=character)
    assert index.offset(position) == offset


def test_ends_and_clamping() -> None:
    index = LineIndex(TEXT)
    assert index.position(len(TEXT)) == types.Position(line=2, character=4)
    assert index.offset(types.Position(line=9, character=0)) == len(TEXT)
    assert index.offset(types.Position(line=0, character=99)) == 2  # end of `ab`
    assert index.line_text(1) == '# é😀 "x" z'
