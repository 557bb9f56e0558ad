"""Diagnostics: errors are data (code, span, message, help) first, rendered text second."""

from __future__ import annotations

import difflib
import functools
from collections.abc import Iterable
from enum import StrEnum

from pydantic import BaseModel, ConfigDict

from specc.span import Span


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


class Related(BaseModel):
    """A second place that explains a diagnostic (the other end of a shape mismatch)."""

    model_config = ConfigDict(frozen=True)

    span: Span
    message: str


class Diagnostic(BaseModel):
    model_config = ConfigDict(frozen=True)

    code: str
    severity: Severity = Severity.ERROR
    message: str
    span: Span
    help: str | None = None
    related: tuple[Related, ...] = ()
    # A safe, mechanical fix: replace `span` with this text (used by `specc lsp` quick fixes).
    fix: str | None = None
    fix_span: Span | None = None

    def to_json(self, path: str | None = None) -> dict[str, object]:
        """The `specc check --format json` shape; editors rely on it, keep it stable."""
        out: dict[str, object] = {
            "code": self.code,
            "severity": self.severity.value,
            "message": self.message,
            "help": self.help,
            "range": _range(self.span),
            "related": [{"range": _range(r.span), "message": r.message} for r in self.related],
        }
        if path is not None:
            out["file"] = path
        if self.fix is not None:
            out["fix"] = {"range": _range(self.fix_span or self.span), "text": self.fix}
        return out


def _range(span: Span) -> dict[str, dict[str, int]]:
    return {
        "start": {"line": span.line, "column": span.column, "offset": span.start},
        "end": {"line": span.end_line, "column": span.end_column, "offset": span.end},
    }


class SpecError(ValueError):
    """A located user error raised inside IR validators and shape rules.

    It subclasses ValueError so pydantic wraps it in a ValidationError; the builder then
    unwraps it (`ctx["error"]`) and keeps its code and span.
    """

    def __init__(
        self,
        code: str,
        message: str,
        span: Span | None = None,
        help: str | None = None,
        related: Iterable[Related] = (),
        fix: str | None = None,
        missing: bool = False,
    ) -> None:
        super().__init__(message)
        self.missing = missing
        """It says a value is missing: the builder drops it when that value was written
        but failed to build (already reported), as it drops pydantic's `missing`."""
        self.code = code
        self.message = message
        self.span = span
        self.help = help
        self.related = tuple(related)
        self.fix = fix

    def diagnostic(self, fallback: Span, severity: Severity = Severity.ERROR) -> Diagnostic:
        return Diagnostic(
            code=self.code,
            severity=severity,
            message=self.message,
            span=self.span or fallback,
            help=self.help,
            related=self.related,
            fix=self.fix,
        )


def did_you_mean(word: str, choices: Iterable[str]) -> str | None:
    """A help line naming the closest known word, or None when nothing is close."""
    return _closest(word, tuple(sorted(set(choices))))


@functools.lru_cache(maxsize=512)
def _closest(word: str, options: tuple[str, ...]) -> str | None:
    """Cached: a file with thousands of the same typo asks the same question each time."""
    close = difflib.get_close_matches(word, options, n=1, cutoff=0.6)
    if not close:
        lowered = {c.lower(): c for c in options}
        if word.lower() in lowered:
            close = [lowered[word.lower()]]
    return close[0] if close else None


def render(diag: Diagnostic, text: str, path: str) -> str:
    """rustc-style text: header, location, the source line with the span underlined, help."""
    lines = _lines(text)
    # Every gutter in one diagnostic has the width of its largest line number.
    width = len(str(max([diag.span.line] + [r.span.line for r in diag.related])))
    arrow = " " * (width + 1)
    out = [f"{diag.severity.value}[{diag.code}]: {diag.message}"]
    out.append(f"{arrow}--> {path}:{diag.span.line}:{diag.span.column}")
    out.extend(_excerpt(lines, diag.span, "", width))
    for rel in diag.related:
        out.append(f"{arrow}::: {path}:{rel.span.line}:{rel.span.column}")
        out.extend(_excerpt(lines, rel.span, rel.message, width))
    if diag.help:
        out.append(f"{arrow} = help: {diag.help}")
    return "\n".join(out)


@functools.lru_cache(maxsize=4)
def _lines(text: str) -> list[str]:
    """Split once per text, not once per diagnostic (a str caches its own hash)."""
    return text.splitlines()


def _excerpt(lines: list[str], span: Span, label: str, gutter_width: int) -> list[str]:
    if not 1 <= span.line <= len(lines):
        return []
    src = lines[span.line - 1]
    # Long or binary lines are cut so a 10 MB one-liner can't flood the terminal.
    shown = src[:200].replace("\t", " ")
    shown = "".join(ch if ch.isprintable() else "?" for ch in shown)
    start = min(span.column - 1, len(shown))
    end_col = span.end_column - 1 if span.end_line == span.line else len(src)
    carets = max(1, min(end_col, len(shown)) - start)
    gutter = str(span.line).rjust(gutter_width)
    pad = " " * gutter_width
    marker = " " * start + "^" * carets + (f" {label}" if label else "")
    return [f" {pad} |", f" {gutter} | {shown}", f" {pad} | {marker}"]
