"""The semantic token legend (types and modifiers), apart from the classifier in
specc/lsp/tokens.py so the server can advertise it without importing the checker."""

from __future__ import annotations

from lsprotocol import types

TOKEN_TYPES = [
    "keyword",
    "property",
    "function",
    "type",
    "parameter",
    "enumMember",
    "number",
    "string",
    "macro",
    "class",
    "variable",
    "comment",
]
TOKEN_MODIFIERS = ["declaration", "shape"]
LEGEND = types.SemanticTokensLegend(token_types=TOKEN_TYPES, token_modifiers=TOKEN_MODIFIERS)
