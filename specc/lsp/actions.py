"""Quick fixes for diagnostics, and `source.fixAll` (every safe fix at once): the "did you mean" replacements the checker already
computed (`Diagnostic.fix`), `flatten` before a dense layer that follows a convolution, and
the last layer's units set to the data's class count.

A fix is marked safe (`isPreferred`, and `data.safe`) when it cannot change the meaning of
anything that was already valid: replacing an unknown word, or inserting the `flatten`
the shape error asks for. Fixes that change a valid value (the output units, the input
shape) are offered but not preferred, so editors never apply them automatically.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from lsprotocol import types

from specc.diagnostics import Diagnostic
from specc.lsp.context import statement_at
from specc.lsp.convert import to_lsp
from specc.lsp.documents import DocState
from specc.lsp.positions import LineIndex
from specc.span import Span

# Codes whose `fix` replaces a word the checker could not understand at all.
UNKNOWN_WORD_CODES = frozenset({"E200", "E201", "E202", "E305"})

_TITLES: dict[str, Callable[[str, str], str]] = {
    "W502": lambda old, new: f"Set the last layer's units to {new} (the number of classes)",
    "E400": lambda old, new: f"Change the input to `{new}` to fit the data",
}


def _edit(uri: str, index: LineIndex, span: Span, text: str) -> types.WorkspaceEdit:
    edit = types.TextEdit(range=index.range(span), new_text=text)
    return types.WorkspaceEdit(changes={uri: [edit]})


def _action(
    title: str, diag: Diagnostic, state: DocState, uri: str, edit: types.WorkspaceEdit, safe: bool
) -> types.CodeAction:
    return types.CodeAction(
        title=title,
        kind=types.CodeActionKind.QuickFix,
        diagnostics=[to_lsp(diag, state.index, uri)],
        edit=edit,
        is_preferred=safe,
        data={"safe": safe, "code": diag.code},
    )


def replacement(state: DocState, diag: Diagnostic, uri: str) -> types.CodeAction | None:
    if diag.fix is None:
        return None
    span = diag.fix_span or diag.span
    old = state.analysis.text[span.start : span.end]
    title = _TITLES.get(diag.code, lambda o, n: f"Replace `{o}` with `{n}`")(old, diag.fix)
    safe = diag.code in UNKNOWN_WORD_CODES
    return _action(title, diag, state, uri, _edit(uri, state.index, span, diag.fix), safe)


def add_flatten(state: DocState, diag: Diagnostic, uri: str) -> types.CodeAction | None:
    """E402 on a dense layer whose input is an image: insert `flatten` on the line above."""
    if diag.code != "E402" or "flatten" not in (diag.help or ""):
        return None
    frames = statement_at(state.analysis.document.statements, diag.span.start)
    if not frames or frames[-1].stmt.span.start != diag.span.start:
        return None
    stmt = frames[-1].stmt
    text = state.analysis.text
    line_start = text.rfind("\n", 0, stmt.span.start) + 1
    prefix = text[line_start : stmt.span.start]
    if prefix.strip():  # `...; dense 10` on a shared line: insert inline
        at, insert = stmt.span.start, "flatten; "
    else:
        at, insert = line_start, f"{prefix}flatten\n"
    where = Span.point(text, at)
    title = f"Add `flatten` before `{stmt.keyword.name}`"
    return _action(title, diag, state, uri, _edit(uri, state.index, where, insert), True)


FIXES: tuple[Callable[[DocState, Diagnostic, str], types.CodeAction | None], ...] = (
    replacement,
    add_flatten,
)


def code_actions(state: DocState, uri: str, window: types.Range) -> list[types.CodeAction]:
    start, end = state.index.offset(window.start), state.index.offset(window.end)
    out: list[types.CodeAction] = []
    for diag in state.analysis.diagnostics:
        if diag.span.start > end or diag.span.end < start:
            continue
        out.extend(a for fix in FIXES if (a := fix(state, diag, uri)) is not None)
    return out


FIX_ALL = types.CodeActionKind.SourceFixAll


def fix_all(state: DocState, uri: str) -> types.CodeAction | None:
    """One action applying every safe fix of the document (`source.fixAll`), never two
    edits to the same text."""
    edits: list[types.TextEdit] = []
    taken: list[tuple[int, int]] = []
    for diag in state.analysis.diagnostics:
        for fix in FIXES:
            action = fix(state, diag, uri)
            if action is None or not action.is_preferred or action.edit is None:
                continue
            for edit in (action.edit.changes or {}).get(uri, []):
                span = (state.index.offset(edit.range.start), state.index.offset(edit.range.end))
                if any(span[0] < end and start < span[1] for start, end in taken):
                    continue
                if any(span == (s, e) for s, e in taken):
                    continue
                taken.append(span)
                edits.append(edit)
    if not edits:
        return None
    return types.CodeAction(
        title=f"Fix all safe problems ({len(edits)})",
        kind=FIX_ALL,
        edit=types.WorkspaceEdit(changes={uri: edits}),
    )


def wanted(only: Sequence[str] | None, kind: str) -> bool:
    """Whether a code action kind was asked for (`only` lists kinds or their parents)."""
    return only is None or any(kind == k or kind.startswith(f"{k}.") for k in only)
