"""Semantic tokens and shape hints, asked of a real `specc lsp` over stdio: what Neovim
colours a spec with, and the hints that must survive a model with an error."""

from __future__ import annotations

from pathlib import Path

from lsp_client import FIXTURES, Session
from lsprotocol import types

ROOT = Path(__file__).resolve().parents[2]
CNN = (ROOT / "specs" / "cnn.nn").read_text()


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def _legend(session: Session) -> types.SemanticTokensLegend:
    provider = session.capabilities.semantic_tokens_provider
    assert provider is not None and provider.full and provider.range
    return provider.legend


def _decode(session: Session, text: str, data: list[int]) -> list[tuple[str, str, set[str]]]:
    """(token text, type, modifiers) from the relative wire form."""
    legend = _legend(session)
    lines = text.split("\n")
    out = []
    line = column = 0
    for i in range(0, len(data), 5):
        delta_line, delta_column, length, kind, bits = data[i : i + 5]
        line += delta_line
        column = delta_column if delta_line else column + delta_column
        mods = {m for j, m in enumerate(legend.token_modifiers) if bits & (1 << j)}
        out.append((lines[line][column : column + length], legend.token_types[kind], mods))
    return out


def _tokens(session: Session, uri: str, text: str) -> list[tuple[str, str, set[str]]]:
    session.open(uri, text)
    params = types.SemanticTokensParams(text_document=_doc(uri))
    result = session.call(session.client.text_document_semantic_tokens_full_async, params)
    return _decode(session, text, result.data)


def test_semantic_tokens_tell_every_kind_of_word_apart(push: Session, uri: str) -> None:
    text = (
        "# tiny\nmodel m {\n    input 1x8x8\n    conv2d 4 3 relu padding=same name=c1\n"
        "    flatten\n    dense choice(8, 16)\n}\ndata mnist_sample {\n    scale 1/255\n"
        '    path "data"\n}\ntrain {\n    model m\n    loss mse\n    optimizer adam lr=1e-3\n}\n'
    )
    found = _tokens(push, uri, text)
    assert found == [
        ("# tiny", "comment", set()),
        ("model", "keyword", set()),
        ("m", "class", {"declaration"}),
        ("input", "property", set()),
        ("1x8x8", "number", {"shape"}),
        ("conv2d", "function", set()),
        ("4", "number", set()),
        ("3", "number", set()),
        ("relu", "enumMember", set()),
        ("padding", "parameter", set()),
        ("same", "enumMember", set()),
        ("name", "parameter", set()),
        ("c1", "variable", {"declaration"}),
        ("flatten", "function", set()),
        ("dense", "function", set()),
        ("choice", "macro", set()),
        ("8", "number", set()),
        ("16", "number", set()),
        ("data", "keyword", set()),
        ("mnist_sample", "type", set()),
        ("scale", "property", set()),
        ("1/255", "number", set()),
        ("path", "property", set()),
        ('"data"', "string", set()),
        ("train", "keyword", set()),
        ("model", "keyword", set()),
        ("m", "class", set()),
        ("loss", "property", set()),
        ("mse", "type", set()),
        ("optimizer", "property", set()),
        ("adam", "type", set()),
        ("lr", "parameter", set()),
        ("1e-3", "number", set()),
    ]


def test_unknown_words_get_no_token_and_lengths_count_utf16(push: Session, uri: str) -> None:
    text = "model m {  # ünï 😀 x\n    input 8\n    bogus 3\n    dense 4\n}\n"
    push.open(uri, text)
    params = types.SemanticTokensParams(text_document=_doc(uri))
    data = push.call(push.client.text_document_semantic_tokens_full_async, params).data
    types_ = _legend(push).token_types
    rows = [(*data[i : i + 3], types_[data[i + 3]]) for i in range(0, len(data), 5)]
    assert rows == [
        (0, 0, 5, "keyword"),
        (0, 6, 1, "class"),
        (0, 5, 10, "comment"),  # `# ünï 😀 x`: 9 code points, the emoji is 2 UTF-16 units
        (1, 4, 5, "property"),
        (0, 6, 1, "number"),
        (1, 10, 1, "number"),  # `bogus` gets nothing, its `3` is still a number
        (1, 4, 5, "function"),
        (0, 6, 1, "number"),
    ]


def test_range_request_returns_the_tokens_of_those_lines_only(push: Session, uri: str) -> None:
    push.open(uri, CNN)
    params = types.SemanticTokensRangeParams(
        text_document=_doc(uri),
        range=types.Range(
            start=types.Position(line=18, character=0), end=types.Position(line=20, character=0)
        ),
    )
    result = push.call(push.client.text_document_semantic_tokens_range_async, params)
    assert result.data[0] == 18  # relative to the start of the document
    lines = CNN.split("\n")
    words = _decode(push, CNN, result.data)
    assert [(w, k) for w, k, _ in words] == [
        ("train", "keyword"),
        ("loss", "property"),
        ("sparse_categorical_crossentropy", "type"),
    ]
    assert lines[18].startswith("train")


def _hints(session: Session, uri: str) -> list[tuple[int, int, str]]:
    params = types.InlayHintParams(
        text_document=_doc(uri),
        range=types.Range(
            start=types.Position(line=0, character=0), end=types.Position(line=999, character=0)
        ),
    )
    hints = session.call(session.client.text_document_inlay_hint_async, params) or []
    return [(h.position.line, h.position.character, h.label) for h in hints]


def test_a_shape_error_keeps_the_hints_of_the_layers_before_it(push: Session, uri: str) -> None:
    push.open(uri, (FIXTURES / "missing_flatten.nn").read_text())
    assert [d.code for d in push.diagnostics(uri)] == ["E402"]
    # Opened with the error (no earlier good analysis): conv2d and maxpool2d still get
    # their shapes, the dense layer that cannot take 16x13x13 gets none.
    assert _hints(push, uri) == [(3, 20, "→ 16x26x26"), (4, 15, "→ 16x13x13")]


def test_an_unbuildable_layer_keeps_the_hints_before_it(push: Session, uri: str) -> None:
    text = CNN.replace("conv2d 64 3 relu", "conv2d sixty 3 relu")
    push.open(uri, text)
    assert [d.code for d in push.diagnostics(uri)] == ["E300"]  # not a whole number
    assert _hints(push, uri) == [(3, 20, "→ 32x26x26"), (4, 15, "→ 32x13x13")]


def test_a_half_typed_line_keeps_its_hint_on_that_line(push: Session, uri: str) -> None:
    push.open(uri, CNN)
    push.change(uri, (9, 20), (9, 20), " init=")  # `    dense 10 softmax init=`
    assert [d.code for d in push.diagnostics(uri)] == ["E100"]
    assert (9, 26, "→ 10") in _hints(push, uri)
    assert not [h for h in _hints(push, uri) if h[0] == 10]
