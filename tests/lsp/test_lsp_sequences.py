"""The editor on a text model: inlay hints and hover show `200x128`-style shapes of token
sequences (time first), and a token-id mistake is a located diagnostic as you type."""

from __future__ import annotations

from pathlib import Path

from lsp_client import Session
from lsprotocol import types
from marked import cursor

ROOT = Path(__file__).resolve().parents[2]
BILSTM = (ROOT / "specs" / "imdb_bilstm.nn").read_text()


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def test_inlay_hints_show_sequence_shapes(push: Session, uri: str) -> None:
    push.open(uri, BILSTM)
    lines = BILSTM.count("\n")
    params = types.InlayHintParams(
        text_document=_doc(uri),
        range=types.Range(start=types.Position(0, 0), end=types.Position(lines + 1, 0)),
    )
    hints = push.call(push.client.text_document_inlay_hint_async, params) or []
    assert [h.label for h in hints] == ["→ 200x128", "→ 200x128", "→ 128", "→ 1"]


def test_hover_on_an_lstm_shows_its_shapes_and_pytorchs_count(push: Session, uri: str) -> None:
    text, position = cursor(
        BILSTM.replace("    lstm 64 bidirectional", "    ls|tm 64 bidirectional")
    )
    push.open(uri, text)
    params = types.HoverParams(text_document=_doc(uri), position=position)
    result = push.call(push.client.text_document_hover_async, params)
    assert result is not None
    # 2 directions x (4H(D+H) + 8H) with D = 128, H = 64 (PyTorch's two biases)
    assert "`lstm_2`: 200x128 → 128 · 99,328 parameters" in result.contents.value


def test_token_ids_into_dense_is_a_located_diagnostic(push: Session, uri: str) -> None:
    text = BILSTM.replace("    embedding 20000 128 pad=0\n", "    dense 8\n")
    push.open(uri, text)
    diagnostics = push.diagnostics(uri)
    assert [(d.code, d.range.start.line) for d in diagnostics] == [("E410", 8)]
    assert "`dense` needs numbers, but its input is token ids (`int`)" in diagnostics[0].message
