"""specc diagnostics as LSP diagnostics: same code, range, message and related places as
`specc check --format json`. A code's long explanation is shown by hovering the
diagnostic (and by `specc explain CODE`); there is no web page to link to, so the
diagnostics carry no `codeDescription` link."""

from __future__ import annotations

from lsprotocol import types

from specc.codes import CODES
from specc.diagnostics import Diagnostic, Severity
from specc.lsp.positions import LineIndex

_SEVERITY = {
    Severity.ERROR: types.DiagnosticSeverity.Error,
    Severity.WARNING: types.DiagnosticSeverity.Warning,
    Severity.INFO: types.DiagnosticSeverity.Information,
}


def message_text(diag: Diagnostic) -> str:
    """The message as editors show it: the CLI's message, then its help line."""
    return diag.message + (f"\nhelp: {diag.help}" if diag.help else "")


def to_lsp(diag: Diagnostic, index: LineIndex, uri: str) -> types.Diagnostic:
    related = [
        types.DiagnosticRelatedInformation(
            location=types.Location(uri=uri, range=index.range(rel.span)), message=rel.message
        )
        for rel in diag.related
    ]
    data: dict[str, object] = {"help": diag.help}
    if diag.code in CODES:
        data["explain"] = f"specc explain {diag.code}"
    if diag.fix is not None:
        data["fix"] = diag.fix
    return types.Diagnostic(
        range=index.range(diag.span),
        severity=_SEVERITY[diag.severity],
        code=diag.code,
        source="specc",
        message=message_text(diag),
        related_information=related or None,
        data=data,
    )


def explanation(code: str) -> str | None:
    """Markdown for a code's long explanation (`specc explain CODE`), shown in hovers."""
    found = CODES.get(code)
    if found is None:
        return None
    return f"**{found.code}**: {found.title}\n\n{found.explanation.strip()}\n\n(`specc explain {found.code}`)"
