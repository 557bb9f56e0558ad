"""One function from text to everything the tools need: `analyze`.

`specc check`, `specc summary`, `specc run`, `specc emit` and the language server all call
it, so there is exactly one checker. It never imports a deep-learning framework.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from specc import cst, syntax
from specc.build import build
from specc.checks import check_spec
from specc.diagnostics import Diagnostic, Severity
from specc.ir.spec import Spec
from specc.lints import lint
from specc.shapes import ModelShapes, infer

# A file with thousands of problems has one or two real ones repeated: the first of them
# are shown, and the rest are counted (`hidden`) so the output says how many were left out.
MAX_DIAGNOSTICS = 100


@dataclass
class Analysis:
    text: str
    path: str
    document: cst.Document
    spec: Spec
    shapes: dict[str, ModelShapes] = field(default_factory=dict)
    diagnostics: list[Diagnostic] = field(default_factory=list)
    # Past MAX_DIAGNOSTICS: how many errors and warnings were found but not kept.
    hidden_errors: int = 0
    hidden_warnings: int = 0

    @property
    def errors(self) -> list[Diagnostic]:
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def ok(self) -> bool:
        return not self.errors and not self.hidden_errors

    @property
    def error_count(self) -> int:
        return len(self.errors) + self.hidden_errors

    @property
    def warning_count(self) -> int:
        return len(self.diagnostics) - len(self.errors) + self.hidden_warnings


def analyze(text: str, path: str = "<spec>") -> Analysis:
    """Parse, build the IR, infer shapes, check and lint. Never raises on user input."""
    document = syntax.parse(text)
    diagnostics = list(document.diagnostics)
    if any(d.code in ("E103", "E104") for d in diagnostics):
        return Analysis(text, path, document, Spec(), {}, diagnostics)
    spec, build_diags, incomplete = build(document, text)
    # A line with a syntax error was already reported; what the builder says about the
    # remains of that line (a missing value, an extra one) is only a cascade.
    broken = {d.span.line for d in document.diagnostics}
    diagnostics.extend(d for d in build_diags if d.span.line not in broken)
    shapes: dict[str, ModelShapes] = {}
    for model in spec.models:
        if id(model) in incomplete:
            continue  # a layer was left out: shapes past it would be wrong
        result, shape_diags = infer(model)
        diagnostics.extend(shape_diags)
        if result is not None:
            shapes[model.name] = result
    if not document.diagnostics:
        written = {stmt.keyword.name for stmt in document.statements}
        diagnostics.extend(check_spec(spec, shapes, text, written))
        if not any(d.severity is Severity.ERROR for d in diagnostics):
            diagnostics.extend(lint(spec, shapes))
    diagnostics.sort(key=lambda d: (d.span.start, d.code))
    hidden = diagnostics[MAX_DIAGNOSTICS:]
    hidden_errors = sum(1 for d in hidden if d.severity is Severity.ERROR)
    return Analysis(
        text,
        path,
        document,
        spec,
        shapes,
        diagnostics[:MAX_DIAGNOSTICS],
        hidden_errors=hidden_errors,
        hidden_warnings=len(hidden) - hidden_errors,
    )


def analyze_file(path: str | Path) -> Analysis:
    """Read a spec file (`-` for stdin) and analyze it; unreadable files are diagnostics."""
    import sys

    name = str(path)
    if name == "-":
        data = sys.stdin.buffer.read(syntax.MAX_BYTES * 4 + 1)
    else:
        with open(path, "rb") as handle:  # OSError is the caller's (a usage error)
            data = handle.read(syntax.MAX_BYTES * 4 + 1)
    text, bad = syntax.decode(data)
    if bad is not None:
        return Analysis(text, name, cst.Document((), ()), Spec(), {}, [bad])
    return analyze(text, name)
