"""The concrete syntax tree (CST): statements, blocks and literals with their spans, and
the transform from Lark's parse tree to it. specc/syntax.py parses text into it; the
builder (specc/build.py) and the formatter read it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TypeAlias

from lark import Token, Tree

from specc.diagnostics import Diagnostic
from specc.span import Span

MAX_DIGITS = 300
"""Whole numbers longer than this are refused (E301) before Python converts them."""


# ---- CST nodes ---------------------------------------------------------------------


@dataclass(frozen=True)
class Number:
    value: int | float
    text: str
    span: Span


@dataclass(frozen=True)
class Fraction:
    numerator: int
    denominator: int
    text: str
    span: Span

    @property
    def value(self) -> float:
        return self.numerator / self.denominator if self.denominator else float("inf")


@dataclass(frozen=True)
class Shape:
    dims: tuple[int, ...]
    text: str
    span: Span


@dataclass(frozen=True)
class String:
    value: str
    text: str
    span: Span


@dataclass(frozen=True)
class Word:
    name: str
    span: Span


@dataclass(frozen=True)
class List:
    items: tuple[Value, ...]
    span: Span


@dataclass(frozen=True)
class Call:
    name: Word
    args: tuple[Arg, ...]
    span: Span


@dataclass(frozen=True)
class Bad:
    """A character no token starts with; kept so the tree survives, reported as E102."""

    text: str
    span: Span


Value: TypeAlias = Number | Fraction | Shape | String | Word | List | Call | Bad


@dataclass(frozen=True)
class Arg:
    """A positional (`key is None`) or keyword (`key=value`) argument."""

    key: Word | None
    value: Value
    span: Span


@dataclass(frozen=True)
class Statement:
    keyword: Word
    args: tuple[Arg, ...]
    body: Block | None
    span: Span


@dataclass(frozen=True)
class Block:
    statements: tuple[Statement, ...]
    span: Span
    closed: bool = True


@dataclass(frozen=True)
class Comment:
    text: str
    span: Span


@dataclass
class Document:
    statements: tuple[Statement, ...]
    comments: tuple[Comment, ...]
    diagnostics: list[Diagnostic] = field(default_factory=list)


# ---- Lark tree to CST ----------------------------------------------------------------


def _covering(children: list[object]) -> Span:
    """A rule's span: from its first child's start to its last child's end.

    Every rule begins and ends with a token or a node that has a span (brackets are
    named terminals so they stay among the children), so this is what Lark's
    `propagate_positions` would give, without its cost on every reduction.
    """
    first = children[0]
    last = children[-1]
    if first is last and isinstance(first, Token):
        return Span.of_token(first)
    if isinstance(first, Token):
        line, column, start = first.line, first.column, first.start_pos
    else:
        begin: Span = first.span  # type: ignore[attr-defined]
        line, column, start = begin.line, begin.column, begin.start
    if isinstance(last, Token):
        end_line, end_column, end = last.end_line, last.end_column, last.end_pos
    else:
        finish: Span = last.span  # type: ignore[attr-defined]
        end_line, end_column, end = finish.end_line, finish.end_column, finish.end
    return Span(
        line=line,
        column=column,
        end_line=end_line,
        end_column=end_column,
        start=start,
        end=end,
    )


def _unescape(text: str) -> str:
    body = text[1:-1]
    out: list[str] = []
    chars = iter(body)
    for ch in chars:
        if ch == "\\":
            nxt = next(chars, "")
            out.append({"n": "\n", "t": "\t"}.get(nxt, nxt))
        else:
            out.append(ch)
    return "".join(out)


class _ToCST:
    """Lark tree to CST: one method per grammar rule, called as `rule(span, children)`.

    A plain recursive walk rather than lark's Transformer, whose per-node wrapper objects
    cost a third of the conversion time; the language server converts on every edit.
    """

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def transform(self, tree: Tree[Token]) -> tuple[Statement, ...]:
        """The statements of the `start` rule (the file's own span is never asked)."""
        return tuple(self._walk(c) for c in tree.children)  # type: ignore[misc]

    def _unrepresentable(self, text: str, span: Span) -> Bad:
        """A number too long to hold: reported here, left out of the tree (an empty Bad)."""
        longest = max(len(_digits(part)) for part in text.replace("/", "x").split("x"))
        shown = text if len(text) <= 24 else text[:12] + "..." + text[-6:]
        self.diagnostics.append(
            Diagnostic(
                code="E301",
                message=f"`{shown}` has a number of {longest:,} digits; at most {MAX_DIGITS} fit",
                span=span,
                help="no setting needs a number this large; check the value",
            )
        )
        return Bad("", span)

    def _walk(self, node: object) -> object:
        if isinstance(node, Tree):
            children = [self._walk(c) for c in node.children]
            return getattr(self, node.data)(_covering(children), children)
        return node

    def statement(self, span: Span, children: list[object]) -> Statement:
        name = children[0]
        assert isinstance(name, Token)
        rest = children[1:]
        body = rest[-1] if rest and isinstance(rest[-1], Block) else None
        args = tuple(_as_arg(c) for c in (rest[:-1] if body else rest))
        return Statement(Word(str(name), Span.of_token(name)), args, body, span)

    def body(self, span: Span, children: list[object]) -> Block:
        stmts = tuple(c for c in children if isinstance(c, Statement))
        closed = any(isinstance(c, Token) and c.type == "RBRACE" and c.value for c in children)
        return Block(stmts, span, closed)

    def kwarg(self, span: Span, children: list[object]) -> Arg:
        key, value = children
        assert isinstance(key, Token)
        return Arg(Word(str(key), Span.of_token(key)), value, span)  # type: ignore[arg-type]

    def number(self, span: Span, children: list[Token]) -> Number | Bad:
        text = str(children[0])
        is_int = not any(c in text for c in ".eE")
        if is_int and len(_digits(text)) > MAX_DIGITS:
            return self._unrepresentable(text, span)
        return Number(int(text) if is_int else float(text), text, span)

    def fraction(self, span: Span, children: list[Token]) -> Fraction | Bad:
        text = str(children[0])
        num, den = text.split("/")
        if max(len(_digits(num)), len(_digits(den))) > MAX_DIGITS:
            return self._unrepresentable(text, span)
        return Fraction(int(num), int(den), text, span)

    def shape(self, span: Span, children: list[Token]) -> Shape | Bad:
        text = str(children[0])
        dims = text.split("x")
        if any(len(_digits(d)) > MAX_DIGITS for d in dims):
            return self._unrepresentable(text, span)
        return Shape(tuple(int(d) for d in dims), text, span)

    def string(self, span: Span, children: list[Token]) -> String:
        text = str(children[0])
        return String(_unescape(text), text, span)

    def word(self, span: Span, children: list[Token]) -> Word:
        return Word(str(children[0]), span)

    def bad(self, span: Span, children: list[Token]) -> Bad:
        return Bad(str(children[0]), span)

    def call(self, span: Span, children: list[object]) -> Call:
        name = children[0]
        assert isinstance(name, Token)
        args = tuple(_as_arg(c) for c in children[2:-1])  # between `(` and `)`
        return Call(Word(str(name), Span.of_token(name)), args, span)

    # Defined last: inside the class body `list` names this method, not the builtin.
    def list(self, span: Span, children: list[object]) -> List:
        return List(tuple(children[1:-1]), span)  # type: ignore[arg-type]  # between `[` and `]`


def _digits(text: str) -> str:
    """The significant digits of a whole number's text: `-0042` -> `42`."""
    return text.lstrip("+-").lstrip("0")


def _as_arg(node: object) -> Arg:
    if isinstance(node, Arg):
        return node
    return Arg(None, node, node.span)  # type: ignore[arg-type, attr-defined]
