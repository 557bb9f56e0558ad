"""`specc fmt`: one canonical layout for spec text, computed from the CST so comments survive.

The layout: 4-space indents, one statement per line, `{` at the end of the header line and
`}` on its own line, values written with their original text (`1e-3` stays `1e-3`), at most
one blank line between statements and exactly one between top-level blocks.

Comments are not in the tree, so each one is attached to a place in it first (`_attach`):
after a statement on the same line (trailing), before the statement that follows it
(leading), or before the `}` or the end of the file that follows it. A comment inside a
statement that spans lines (a list broken over lines) moves above that statement, since the
statement is joined onto one line.

Before returning, the output is parsed again and compared with the input (statements,
values and comments, without positions): a layout bug raises RuntimeError instead of
silently rewriting what a spec means.

`unparse.to_text` prints IR-derived CST through `layout` as well, so both agree on layout.
"""

from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass, field

from specc import cst, syntax
from specc.diagnostics import Diagnostic

INDENT = "    "
COMMENT_GAP = "  "  # between code and a trailing comment, as in Python's style


class FormatError(Exception):
    """The text has syntax errors: formatting it would guess at its meaning, so we refuse."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = list(diagnostics)
        first = self.diagnostics[0].message if self.diagnostics else "syntax error"
        super().__init__(f"cannot format a spec with syntax errors: {first}")


# A comment line to print, and whether a blank line preceded it in the source.
Line = tuple[str, bool]


@dataclass
class Notes:
    """Where the comments and blank lines of the source go, keyed by `id(statement)`."""

    leading: dict[int, list[Line]] = field(default_factory=dict)
    trailing: dict[int, str] = field(default_factory=dict)  # after the statement or its `{`
    closing: dict[int, str] = field(default_factory=dict)  # after its `}`
    block_end: dict[int, list[Line]] = field(default_factory=dict)  # before its `}`
    file_end: list[Line] = field(default_factory=list)
    blank: set[int] = field(default_factory=set)  # statements preceded by a blank line


# ---- public API --------------------------------------------------------------------------


def format_text(text: str) -> str:
    """The canonical layout of `text`.

    Raises FormatError (with the parser's diagnostics) when `text` has syntax errors, and
    RuntimeError if the self-check finds that the output would read differently (a bug).
    """
    document = syntax.parse(text)
    if document.diagnostics:
        raise FormatError(document.diagnostics)
    out = layout(document.statements, _attach(document, text))
    _verify(document, out)
    return out


def layout(statements: Sequence[cst.Statement], notes: Notes | None = None) -> str:
    """Print statements in the canonical layout (with `notes`' comments, if any)."""
    notes = notes or Notes()
    lines: list[str] = []
    _block(statements, notes, 0, lines)
    for text, blank in notes.file_end:
        _emit(lines, text, blank, 0)
    return "\n".join(lines) + "\n" if lines else ""


def value_text(value: cst.Value) -> str:
    """A value as written canonically: literals keep their source text."""
    return _VALUE_TEXT[type(value)](value)


def statement_head(stmt: cst.Statement) -> str:
    """`keyword arg arg key=value` (without the `{` of a body)."""
    return " ".join([stmt.keyword.name, *(_arg_text(a) for a in stmt.args)])


# ---- printing ----------------------------------------------------------------------------


def _arg_text(arg: cst.Arg) -> str:
    text = value_text(arg.value)
    return f"{arg.key.name}={text}" if arg.key is not None else text


def _list_text(value: cst.List) -> str:
    return "[" + ", ".join(value_text(v) for v in value.items) + "]"


def _call_text(value: cst.Call) -> str:
    return value.name.name + "(" + ", ".join(_arg_text(a) for a in value.args) + ")"


_VALUE_TEXT = {
    cst.Number: lambda v: v.text,
    cst.Fraction: lambda v: v.text,
    cst.Shape: lambda v: v.text,
    cst.String: lambda v: v.text,
    cst.Word: lambda v: v.name,
    cst.List: _list_text,
    cst.Call: _call_text,
    cst.Bad: lambda v: v.text,
}


def _emit(lines: list[str], text: str, blank: bool, top: int) -> None:
    """Append a line, after one blank line if asked, except first in its block (at `top`)."""
    if blank and len(lines) > top and lines[-1]:
        lines.append("")
    lines.append(text)


def _with_comment(code: str, comment: str | None) -> str:
    return f"{code}{COMMENT_GAP}{comment}" if comment else code


def _block(statements: Sequence[cst.Statement], notes: Notes, depth: int, lines: list[str]) -> None:
    indent = INDENT * depth
    top = len(lines)
    for index, stmt in enumerate(statements):
        key = id(stmt)
        # Top-level blocks are always separated by one blank line.
        forced = depth == 0 and index > 0
        for text, blank in notes.leading.get(key, []):
            _emit(lines, indent + text, blank or forced, top)
            forced = False
        head = statement_head(stmt)
        blank = forced or key in notes.blank
        if stmt.body is None:
            _emit(lines, indent + _with_comment(head, notes.trailing.get(key)), blank, top)
            continue
        _emit(lines, indent + _with_comment(head + " {", notes.trailing.get(key)), blank, top)
        inside = len(lines)
        _block(stmt.body.statements, notes, depth + 1, lines)
        for text, gap in notes.block_end.get(key, []):
            _emit(lines, indent + INDENT + text, gap, inside)
        lines.append(indent + _with_comment("}", notes.closing.get(key)))


# ---- attaching comments ------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    """A printed piece of a statement: the whole of a simple one, a header, or a `}`."""

    start: int
    end: int
    end_line: int
    kind: str  # "line", "open" or "close"
    stmt: cst.Statement


def _events(statements: Sequence[cst.Statement], out: list[_Event]) -> list[_Event]:
    for stmt in statements:
        span = stmt.span
        if stmt.body is None:
            out.append(_Event(span.start, span.end, span.end_line, "line", stmt))
            continue
        body = stmt.body.span
        out.append(_Event(span.start, body.start + 1, body.line, "open", stmt))
        _events(stmt.body.statements, out)
        out.append(_Event(body.end - 1, body.end, body.end_line, "close", stmt))
    return out


def _attach(document: cst.Document, text: str) -> Notes:
    notes = Notes()
    events = _events(document.statements, [])
    starts = [e.start for e in events]
    inner: dict[int, list[Line]] = {}
    for comment in document.comments:
        line = comment.text.rstrip()
        at = bisect.bisect_left(starts, comment.span.start)
        before = events[at - 1] if at > 0 else None
        if before is not None and comment.span.start < before.end:
            inner.setdefault(id(before.stmt), []).append((line, False))
        elif before is not None and before.end_line == comment.span.line:
            table = notes.closing if before.kind == "close" else notes.trailing
            table[id(before.stmt)] = line  # a comment runs to the end of its line: one each
        else:
            own = (line, _blank_before(text, comment.span.start))
            after = events[at] if at < len(events) else None
            if after is None:
                notes.file_end.append(own)
            elif after.kind == "close":
                notes.block_end.setdefault(id(after.stmt), []).append(own)
            else:
                notes.leading.setdefault(id(after.stmt), []).append(own)
    for event in events:
        if event.kind == "close":
            continue
        key = id(event.stmt)
        blank = _blank_before(text, event.start)
        moved = inner.get(key)
        if moved:
            # Comments from inside a joined statement go just above it; the blank line
            # that preceded the statement now precedes them.
            moved[0] = (moved[0][0], blank)
            notes.leading.setdefault(key, []).extend(moved)
        elif blank:
            notes.blank.add(key)
    return notes


_LAYOUT_ONLY = " \t\f\r;"


def _blank_before(text: str, offset: int) -> bool:
    """Whether the thing at `offset` starts its line and follows an empty line."""
    line_start = text.rfind("\n", 0, offset) + 1
    if text[line_start:offset].strip(_LAYOUT_ONLY):
        return False  # something precedes it on its own line
    if line_start == 0:
        return False
    prev_start = text.rfind("\n", 0, line_start - 1) + 1
    return not text[prev_start : line_start - 1].strip(_LAYOUT_ONLY)


# ---- self-check --------------------------------------------------------------------------


def _signature(statements: Sequence[cst.Statement]) -> tuple[object, ...]:
    return tuple(
        (
            s.keyword.name,
            tuple(_arg_text(a) for a in s.args),
            _signature(s.body.statements) if s.body is not None else None,
        )
        for s in statements
    )


def _verify(before: cst.Document, out: str) -> None:
    """Refuse to return text that reads differently: a formatter bug must not eat a spec."""
    after = syntax.parse(out)
    same = (
        not after.diagnostics
        and _signature(after.statements) == _signature(before.statements)
        and [c.text.rstrip() for c in after.comments] == [c.text.rstrip() for c in before.comments]
    )
    if not same:
        raise RuntimeError("internal error in specc fmt: the output does not match the input")
