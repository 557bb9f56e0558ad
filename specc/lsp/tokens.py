"""Semantic tokens: what each word of a spec is, for editors that colour from the server
(Neovim, VS Code on top of its TextMate grammar).

Every token is classified from the concrete syntax tree and the IR registry (the class a
block builds says which words are settings, layer kinds or kinds picked by a first word),
so the colours follow the language without a word list of their own:

| token type   | what                                                         |
| ------------ | ------------------------------------------------------------ |
| `keyword`    | block keywords: `model`, `data`, `train`, `repeat`           |
| `property`   | setting statements: `input`, `epochs`, `loss`, `batch`, ...   |
| `function`   | layer kinds: `dense`, `conv2d`, ...                          |
| `type`       | kinds picked by a statement's first word: `adam`, `mse`, `mnist`, `cosine` |
| `parameter`  | argument names (`lr` in `lr=1e-3`)                           |
| `enumMember` | value words: `relu`, `same`, `he_normal`, `true`             |
| `number`     | numbers and fractions; shapes (`1x28x28`) carry the `shape` modifier |
| `string`     | strings                                                      |
| `macro`      | search-space calls: `choice(...)`, `uniform(...)`            |
| `class`      | model names (`declaration` where the model is defined)       |
| `variable`   | layer names given with `name=` (`declaration`)               |
| `comment`    | comments                                                     |

Words the language does not know (typos) get no token, so they stay uncoloured.
"""

from __future__ import annotations

from collections.abc import Iterator

from specc import cst
from specc.ir.base import Node
from specc.ir.layers import AnyLayer
from specc.ir.registry import collector_members, members
from specc.ir.spec import Spec
from specc.lsp.context import Frame, dispatches, is_layer_statement
from specc.lsp.legend import TOKEN_TYPES
from specc.lsp.positions import LineIndex
from specc.span import Span

_TYPE = {name: i for i, name in enumerate(TOKEN_TYPES)}
_DECLARATION, _SHAPE = 1, 2
BLOCK_KEYWORDS = frozenset({"model", "data", "train", "repeat"})

Token = tuple[int, int, int, int]  # start offset, end offset, type index, modifier bits


def _token(span: Span, kind: str, modifiers: int = 0) -> Token:
    return (span.start, span.end, _TYPE[kind], modifiers)


def _keyword_kind(parent: type[Node], keyword: str) -> str | None:
    if keyword in BLOCK_KEYWORDS:
        return "keyword"
    if keyword in parent.keywords:
        return "property"
    if is_layer_statement(parent, keyword):
        return "function" if keyword in members(AnyLayer) else None
    return "property" if keyword in collector_members(parent) else None


def _value_tokens(value: cst.Value, word_kind: str, modifiers: int = 0) -> Iterator[Token]:
    if isinstance(value, cst.Word):
        yield _token(value.span, word_kind, modifiers)
    elif isinstance(value, (cst.Number, cst.Fraction)):
        yield _token(value.span, "number")
    elif isinstance(value, cst.Shape):
        yield _token(value.span, "number", _SHAPE)
    elif isinstance(value, cst.String):
        yield _token(value.span, "string")
    elif isinstance(value, cst.Call):
        yield _token(value.name.span, "macro")
        for arg in value.args:
            yield from _arg_tokens(arg, "enumMember")
    elif isinstance(value, cst.List):
        for item in value.items:
            yield from _value_tokens(item, word_kind)


def _arg_tokens(arg: cst.Arg, word_kind: str, modifiers: int = 0) -> Iterator[Token]:
    if arg.key is not None:
        yield _token(arg.key.span, "parameter")
        if arg.key.name == "name":
            word_kind, modifiers = "variable", _DECLARATION
    yield from _value_tokens(arg.value, word_kind, modifiers)


def _statement_tokens(stmt: cst.Statement, parent: type[Node]) -> Iterator[Token]:
    keyword = stmt.keyword.name
    kind = _keyword_kind(parent, keyword)
    if kind is not None:
        yield _token(stmt.keyword.span, kind)
    picks = dispatches(parent, keyword)
    for i, arg in enumerate(stmt.args):
        word_kind, modifiers = "enumMember", 0
        if i == 0 and arg.key is None and keyword == "model":
            word_kind, modifiers = "class", _DECLARATION if parent is Spec else 0
        elif i == 0 and arg.key is None and isinstance(arg.value, cst.Word):
            word_kind = "type" if arg.value.name in picks else "enumMember"
        yield from _arg_tokens(arg, word_kind, modifiers)
    inner = Frame(stmt, parent).cls
    if stmt.body is not None and inner is not None:
        for child in stmt.body.statements:
            yield from _statement_tokens(child, inner)


def classify(document: cst.Document) -> list[Token]:
    """Every token of the document, in text order."""
    found = [_token(c.span, "comment") for c in document.comments]
    for stmt in document.statements:
        found.extend(_statement_tokens(stmt, Spec))
    return sorted(found)


def encode(
    tokens: list[Token], index: LineIndex, start: int = 0, end: int | None = None
) -> list[int]:
    """The LSP wire form (relative line/column, length in the client's units), for the
    tokens that start inside [start, end]; multi-line tokens are cut at their first line."""
    data: list[int] = []
    last_line = last_column = 0
    for begin, stop, kind, modifiers in tokens:
        if begin < start or (end is not None and begin > end):
            continue
        first = index.position(begin)
        line_end = index.text.find("\n", begin)
        close = index.position(min(stop, line_end) if line_end != -1 else stop)
        length = close.character - first.character
        if length <= 0:
            continue
        delta_line = first.line - last_line
        delta_column = first.character - (last_column if delta_line == 0 else 0)
        data += [delta_line, delta_column, length, kind, modifiers]
        last_line, last_column = first.line, first.character
    return data
