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


def _span(meta: object) -> Span:
    """Lark's tree metadata has the same position fields as its tokens."""
    return Span.of_token(meta)


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
    """Lark tree to CST: one method per grammar rule, called as `rule(meta, children)`.

    A plain recursive walk rather than lark's Transformer, whose per-node wrapper objects
    cost a third of the conversion time; the language server converts on every edit.
    """

    def __init__(self) -> None:
        self.diagnostics: list[Diagnostic] = []

    def transform(self, tree: Tree[Token]) -> tuple[Statement, ...]:
        return self._walk(tree)  # type: ignore[return-value]

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
            return getattr(self, node.data)(node.meta, [self._walk(c) for c in node.children])
        return node

    def start(self, meta: object, children: list[Statement]) -> tuple[Statement, ...]:
        return tuple(children)

    def statement(self, meta: object, children: list[object]) -> Statement:
        name = children[0]
        assert isinstance(name, Token)
        rest = children[1:]
        body = rest[-1] if rest and isinstance(rest[-1], Block) else None
        args = tuple(_as_arg(c) for c in (rest[:-1] if body else rest))
        return Statement(Word(str(name), Span.of_token(name)), args, body, _span(meta))

    def body(self, meta: object, children: list[object]) -> Block:
        stmts = tuple(c for c in children if isinstance(c, Statement))
        closed = any(isinstance(c, Token) and c.type == "RBRACE" and c.value for c in children)
        return Block(stmts, _span(meta), closed)

    def kwarg(self, meta: object, children: list[object]) -> Arg:
        key, value = children
        assert isinstance(key, Token)
        return Arg(Word(str(key), Span.of_token(key)), value, _span(meta))  # type: ignore[arg-type]

    def number(self, meta: object, children: list[Token]) -> Number | Bad:
        text = str(children[0])
        is_int = not any(c in text for c in ".eE")
        if is_int and len(_digits(text)) > MAX_DIGITS:
            return self._unrepresentable(text, _span(meta))
        return Number(int(text) if is_int else float(text), text, _span(meta))

    def fraction(self, meta: object, children: list[Token]) -> Fraction | Bad:
        text = str(children[0])
        num, den = text.split("/")
        if max(len(_digits(num)), len(_digits(den))) > MAX_DIGITS:
            return self._unrepresentable(text, _span(meta))
        return Fraction(int(num), int(den), text, _span(meta))

    def shape(self, meta: object, children: list[Token]) -> Shape | Bad:
        text = str(children[0])
        dims = text.split("x")
        if any(len(_digits(d)) > MAX_DIGITS for d in dims):
            return self._unrepresentable(text, _span(meta))
        return Shape(tuple(int(d) for d in dims), text, _span(meta))

    def string(self, meta: object, children: list[Token]) -> String:
        text = str(children[0])
        return String(_unescape(text), text, _span(meta))

    def word(self, meta: object, children: list[Token]) -> Word:
        return Word(str(children[0]), _span(meta))

    def bad(self, meta: object, children: list[Token]) -> Bad:
        return Bad(str(children[0]), _span(meta))

    def call(self, meta: object, children: list[object]) -> Call:
        name = children[0]
        assert isinstance(name, Token)
        args = tuple(_as_arg(c) for c in children[1:] if c is not None)
        return Call(Word(str(name), Span.of_token(name)), args, _span(meta))

    # Defined last: inside the class body `list` names this method, not the builtin.
    def list(self, meta: object, children: list[object]) -> List:
        return List(tuple(c for c in children if c is not None), _span(meta))  # type: ignore[misc]


def _digits(text: str) -> str:
    """The significant digits of a whole number's text: `-0042` -> `42`."""
    return text.lstrip("+-").lstrip("0")


def _as_arg(node: object) -> Arg:
    if isinstance(node, Arg):
        return node
    return Arg(None, node, node.span)  # type: ignore[arg-type, attr-defined]
