"""Text to concrete syntax tree (CST): statements, blocks and literals with spans.

The parser is Lark LALR, built once per process (its tables kept on disk between
processes, specc.parser_cache). It recovers from errors (one
diagnostic per bad line, missing `}` closed at end of file) so `specc check` and the
language server can report several problems at once and still hand a partial tree to
the later stages. Comments are kept beside the tree for the formatter.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Iterator

from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedInput, UnexpectedToken

from specc import resources
from specc.cst import (
    Bad,
    Call,
    Comment,
    Document,
    List,
    Statement,
    Value,
    _ToCST,
)
from specc.diagnostics import Diagnostic
from specc.parser_cache import cached_lark
from specc.span import Span

MAX_BYTES = 1_000_000
# Parsing costs per token (~30 us), not per byte: a megabyte of one-word lines would take
# half a minute. 40,000 tokens (a 10,000-layer model written out line by line) keeps any
# file's check within a few seconds.
MAX_TOKENS = 40_000
_TOKEN_ESTIMATE = re.compile(r"\"[^\"\n]*\"|'[^'\n]*'|#[^\n]*|[\w.]+|[^\w\s]|\n")
MAX_DEPTH = 64
# Each recovery copies the parser state (~1 ms), so a megabyte of junk would take many
# minutes; past this many bad tokens the parser stops and reports where it gave up.
MAX_RECOVERIES = 500
# Python refuses `int()` of more than 4,300 digits and a float ends near 1.8e308, so a
# longer whole number (in a number, a fraction or a shape) is E301, never converted.

# ---- the parser ------------------------------------------------------------------------


class _BracketNewlines:
    """Post-lexer: newlines inside () and [] are layout, not statement ends."""

    always_accept = ("_NL",)

    def process(self, stream: Iterator[Token]) -> Iterator[Token]:
        depth = 0
        for tok in stream:
            if tok.type in ("LBRACE", "RBRACE"):
                depth = 0  # a brace never sits inside brackets: the bracket was left open
            elif tok.type in ("LPAR", "LSQB"):
                depth += 1
            elif tok.type in ("RPAR", "RSQB"):
                depth = max(0, depth - 1)
            elif tok.type == "_NL" and depth:
                continue
            yield tok


# Comments are %ignore'd by the grammar; the lexer hands each one to `_keep_comment`
# while parsing, so collecting them costs no second lexing pass. `parse` sets the list.
_comment_sink = threading.local()


def _keep_comment(tok: Token) -> Token:
    sink: list[Token] | None = getattr(_comment_sink, "tokens", None)
    if sink is not None:
        sink.append(tok)
    return tok


@functools.cache
def _parser() -> Lark:
    return cached_lark(
        resources.grammar_text(),
        parser="lalr",
        lexer="basic",
        maybe_placeholders=False,
        postlex=_BracketNewlines(),
        lexer_callbacks={"COMMENT": _keep_comment},
    )


_TOKEN_NAMES = {
    "NAME": "a name",
    "NUMBER": "a number",
    "FRACTION": "a fraction",
    "SHAPE": "a shape",
    "STRING": "a string",
    "LBRACE": "`{`",
    "RBRACE": "`}`",
    "_NL": "a new line",
    "SEMICOLON": "`;`",
    "EQUAL": "`=`",
    "LPAR": "`(`",
    "RPAR": "`)`",
    "LSQB": "`[`",
    "RSQB": "`]`",
    "COMMA": "`,`",
    "$END": "the end of the file",
}


def _describe(tok: Token) -> str:
    if tok.type == "$END":
        return "end of the file"
    if tok.type == "_NL":
        return "end of the line"
    if tok.type == "BAD":
        return f"character {tok.value!r}"
    return f"`{tok.value}`"


def _expected(names: set[str]) -> str:
    shown = sorted({_TOKEN_NAMES.get(n, n) for n in names if n not in ("BAD", "COMMENT")})
    if len(shown) > 5:
        return "a statement or value"
    return ", ".join(shown[:-1]) + (" or " if len(shown) > 1 else "") + shown[-1] if shown else "?"


def _help_for(tok: Token, after: str = "") -> str | None:
    """`after`: the text from the token on (`//` is a C-style comment, not ours)."""
    if tok.type == "BAD" and after.startswith("//"):
        return "comments start with `#` and run to the end of the line: `# ...`"
    if tok.type == "BAD" and tok.value in "\"'":
        return 'strings open and close on the same line: `"..."`'
    if tok.type == "BAD":
        return "names are letters, digits and `_`; write paths and other text in double quotes"
    if tok.type == "$END":
        return "close every block with `}`"
    if tok.type == "LBRACE":
        return "a block opens at the end of its header line: `model name {`"
    return None


def parse(text: str) -> Document:
    """Parse spec text; never raises for bad input, returns diagnostics instead."""
    too_big = _reject_early(text)
    if too_big is not None:
        return Document((), (), [too_big])
    comments: list[Comment] = []
    diagnostics: list[Diagnostic] = []
    error_lines: set[int] = set()
    recoveries = [0]

    def on_error(err: UnexpectedInput) -> bool:
        if not isinstance(err, UnexpectedToken):
            return False
        recoveries[0] += 1
        if recoveries[0] > MAX_RECOVERIES:
            return False
        tok = err.token
        ip = err.interactive_parser
        if tok.type == "$END":
            # Close what is still open (an unfinished statement, unclosed blocks) so the
            # tree survives; Lark gives up if `$END` fails twice, so close it all at once.
            for _ in range(2 * MAX_DEPTH + 4):
                accepts = ip.accepts()
                if "$END" in accepts:
                    return True
                fix = next((k for k in ("RBRACE", "_NL", "BAD") if k in accepts), None)
                if fix is None:
                    return False
                if fix == "RBRACE":
                    _report_eof(text, diagnostics)
                elif fix == "BAD" and Span.point(text, len(text)).line not in error_lines:
                    # The file ends where a value was due (`features=`): say so, as a
                    # new line there would (the empty placeholder is not a value).
                    end = Span.point(text, len(text))
                    error_lines.add(end.line)
                    diagnostics.append(
                        Diagnostic(
                            code="E100",
                            message="unexpected end of the file; expected a value",
                            span=end,
                            help="finish the value, or remove the unfinished argument",
                        )
                    )
                ip.feed_token(_synthetic(fix, text))
            return False
        line = tok.line or 0
        if line not in error_lines:
            error_lines.add(line)
            code = "E102" if tok.type == "BAD" else "E100"
            diagnostics.append(
                Diagnostic(
                    code=code,
                    message=f"unexpected {_describe(tok)}; expected {_expected(err.expected)}",
                    span=Span.of_token(tok) if tok.end_pos is not None else Span.point(text, 0),
                    help=_help_for(tok, text[tok.start_pos or 0 :][:2]),
                )
            )
        # Try closing what the line left open (`)`, `]`, end of statement) so the
        # current token fits; otherwise drop it. This keeps cascades down.
        # A line that ends where a value was due (`init=` mid-typing) gets an empty
        # placeholder value, so the statement still ends at this line.
        candidates: tuple[tuple[str, ...], ...] = _INSERTIONS
        if tok.type in ("_NL", "RBRACE"):
            candidates = (("BAD",), *_INSERTIONS)
        for fixes in candidates:
            # A shallow copy: the trial only pushes and pops, and deep-copying the tree
            # built so far made each recovery cost as much as the file before it.
            trial = ip.copy(deepcopy_values=False)
            if _feed_all(trial, fixes, tok) and tok.type in trial.accepts():
                _feed_all(ip, fixes, tok)
                ip.feed_token(tok)
                return True
        return True

    comment_tokens: list[Token] = []
    _comment_sink.tokens = comment_tokens
    try:
        tree = _parser().parse(text, on_error=on_error)
    except UnexpectedInput as err:  # recovery gave up: report and return no tree
        diagnostics.append(
            Diagnostic(
                code="E100",
                message="the file could not be parsed past this point",
                span=Span.point(text, getattr(err, "pos_in_stream", 0) or 0),
            )
        )
        return Document((), (), diagnostics)
    finally:
        _comment_sink.tokens = None
    comments.extend(Comment(str(tok), Span.of_token(tok)) for tok in comment_tokens)
    to_cst = _ToCST()
    statements = to_cst.transform(tree) if isinstance(tree, Tree) else ()
    for diag in to_cst.diagnostics:
        if diag.span.line not in error_lines:
            error_lines.add(diag.span.line)
            diagnostics.append(diag)
    for bad in _bad_values(statements):
        if bad.text and bad.span.line not in error_lines:
            error_lines.add(bad.span.line)
            diagnostics.append(
                Diagnostic(
                    code="E102",
                    message=f"unexpected character {bad.text!r}",
                    span=bad.span,
                    help=_help_for(Token("BAD", bad.text), text[bad.span.start :][:2]),
                )
            )
    return Document(tuple(statements), tuple(comments), sorted(diagnostics, key=_order))


_INSERTIONS = (
    ("_NL",),
    ("RPAR",),
    ("RSQB",),
    ("RPAR", "_NL"),
    ("RSQB", "_NL"),
    ("RPAR", "RPAR", "_NL"),
)


def _feed_all(ip: object, kinds: tuple[str, ...], at: Token) -> bool:
    for kind in kinds:
        if kind not in ip.accepts():  # type: ignore[attr-defined]
            return False
        ip.feed_token(Token.new_borrow_pos(kind, "", at))  # type: ignore[attr-defined]
    return True


def _bad_values(statements: tuple[Statement, ...]) -> Iterator[Bad]:
    for stmt in statements:
        for arg in stmt.args:
            yield from _bad_in(arg.value)
        if stmt.body:
            yield from _bad_values(stmt.body.statements)


def _bad_in(value: Value) -> Iterator[Bad]:
    if isinstance(value, Bad):
        yield value
    elif isinstance(value, List):
        for item in value.items:
            yield from _bad_in(item)
    elif isinstance(value, Call):
        for arg in value.args:
            yield from _bad_in(arg.value)


def _synthetic(kind: str, text: str) -> Token:
    """A token the recovery inserts at the end of the file (it needs a position)."""
    end = Span.point(text, len(text))
    return Token(
        kind,
        "",
        start_pos=end.start,
        line=end.line,
        column=end.column,
        end_line=end.line,
        end_column=end.column,
        end_pos=end.end,
    )


def _order(d: Diagnostic) -> tuple[int, int]:
    return (d.span.start, d.span.end)


def _report_eof(text: str, diagnostics: list[Diagnostic]) -> None:
    if any(d.code == "E101" for d in diagnostics):
        return
    diagnostics.append(
        Diagnostic(
            code="E101",
            message="unexpected end of the file; a block is still open",
            span=Span.point(text, len(text)),
            help="add the missing `}`",
        )
    )


def _reject_early(text: str) -> Diagnostic | None:
    """Inputs that could make the parser slow or deep: refuse them with one diagnostic."""
    if len(text) > MAX_BYTES:
        return Diagnostic(
            code="E103",
            message=f"the file is {len(text):,} characters long; specs are limited to {MAX_BYTES:,}",
            span=Span.point(text, 0),
            help="a spec declares a model; data belongs in a data file referenced by `path=`",
        )
    if "\x00" in text:
        offset = text.index("\x00")
        return Diagnostic(
            code="E104",
            message="the file holds NUL bytes: it looks binary, not a spec",
            span=Span.point(text, offset),
            help="check the file name; specs are UTF-8 text files ending in .nn",
        )
    tokens = len(_TOKEN_ESTIMATE.findall(text))
    if tokens > MAX_TOKENS:
        return Diagnostic(
            code="E103",
            message=f"the file holds about {tokens:,} words and symbols; specs are limited to {MAX_TOKENS:,}",
            span=Span.point(text, 0),
            help="`repeat N { ... }` stacks layers without writing each one out",
        )
    depth = 0
    brackets = 0  # ( and [ nest too; the tree transformer recurses once per level
    for offset, ch in enumerate(text):
        if ch in "([":
            brackets += 1
            if brackets > MAX_DEPTH:
                return Diagnostic(
                    code="E103",
                    message=f"brackets are nested more than {MAX_DEPTH} deep",
                    span=Span.point(text, offset),
                    help="a value is a number, a name, a shape, a list or a call: a few levels at most",
                )
        elif ch in ")]":
            brackets = max(0, brackets - 1)
        elif ch == "{":
            brackets = 0  # as in _BracketNewlines: a brace ends any bracket left open
            depth += 1
            if depth > MAX_DEPTH:
                return Diagnostic(
                    code="E103",
                    message=f"blocks are nested more than {MAX_DEPTH} deep",
                    span=Span.point(text, offset),
                    help="flatten the nesting; `repeat N { ... }` stacks layers without deeper nesting",
                )
        elif ch == "}":
            brackets = 0
            depth = max(0, depth - 1)
    return None


def decode(data: bytes) -> tuple[str, Diagnostic | None]:
    """Bytes to text; invalid UTF-8 is a diagnostic at the first bad byte."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as err:
        good = data[: err.start].decode("utf-8", errors="replace")
        return good, Diagnostic(
            code="E104",
            message=f"the file is not UTF-8 text (bad byte 0x{data[err.start]:02x} at offset {err.start})",
            span=Span.point(good, len(good)),
            help="specs are UTF-8 text files; check the file name or re-save it as UTF-8",
        )
