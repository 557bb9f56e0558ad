"""Names and structure: references, rename and highlights of model and layer names,
folding ranges and document links.

A spec names two things: models (`model NAME { ... }`, referred to by
`train { model NAME }`) and the values of a model: layers (`name=NAME`), inputs (`input
NAME ...`) and branches (`branch NAME`), unique within their model and read by merges
(`concat a b`) and `from=`. Everything
here reads the concrete syntax tree, so it works on text that does not check cleanly.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from lsprotocol import types
from pygls.uris import from_fs_path, to_fs_path

from specc import cst
from specc.ir.base import Node
from specc.ir.graph import Branch
from specc.ir.spec import Input, Spec
from specc.lsp.context import Frame
from specc.lsp.documents import DocState
from specc.span import Span

NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


@dataclass(frozen=True)
class Occurrence:
    """One place a name is written: its span, and whether it defines the name."""

    span: Span
    name: str
    kind: str  # "model" | "layer"
    scope: str  # the model a layer name belongs to ("" for models)
    declaration: bool


def _walk(stmt: cst.Statement, parent: type, model: str) -> Iterator[Occurrence]:
    keyword = stmt.keyword.name
    first = stmt.args[0] if stmt.args else None
    if keyword == "model" and first is not None and isinstance(first.value, cst.Word):
        top = parent is Spec
        yield Occurrence(first.value.span, first.value.name, "model", "", top)
        if top:
            model = first.value.name
    inner = Frame(stmt, parent).cls
    yield from _values(stmt, inner, model)
    for arg in stmt.args:
        if arg.key is not None and arg.key.name == "name" and isinstance(arg.value, cst.Word):
            yield Occurrence(arg.value.span, arg.value.name, "layer", model, True)
    if stmt.body is not None and inner is not None:
        for child in stmt.body.statements:
            yield from _walk(child, inner, model)


def _values(stmt: cst.Statement, cls: type[Node] | None, model: str) -> Iterator[Occurrence]:
    """A model's named values besides `name=` (docs/semantics.md#graphs): an input's or a
    branch's name where it is declared, and every merge operand or `from=` that reads one.
    Inputs, branches and named layers share one namespace, so they share the kind."""
    if cls is None or not model:
        return
    first = stmt.args[0] if stmt.args else None
    if cls in (Input, Branch) and first is not None and first.key is None:
        word = first.value
        if isinstance(word, cst.Word) and word.name not in ("int", "float"):
            yield Occurrence(word.span, word.name, "layer", model, True)
    for arg in stmt.args:
        if not isinstance(arg.value, cst.Word):
            continue
        field = cls.arg_aliases.get(arg.key.name, arg.key.name) if arg.key else cls.variadic
        if field is not None and field in cls.refers:
            yield Occurrence(arg.value.span, arg.value.name, "layer", model, False)


def occurrences(state: DocState) -> list[Occurrence]:
    out: list[Occurrence] = []
    for stmt in state.analysis.document.statements:
        out.extend(_walk(stmt, Spec, ""))
    return out


def at(state: DocState, position: types.Position) -> tuple[Occurrence, list[Occurrence]] | None:
    """The name under the cursor and every occurrence of the same name."""
    offset = state.index.offset(position)
    found = occurrences(state)
    here = next((o for o in found if o.span.start <= offset <= o.span.end), None)
    if here is None:
        return None
    same = [o for o in found if (o.kind, o.scope, o.name) == (here.kind, here.scope, here.name)]
    return here, same


def references(
    state: DocState, position: types.Position, uri: str, include_declaration: bool
) -> list[types.Location]:
    found = at(state, position)
    if found is None:
        return []
    return [
        types.Location(uri=uri, range=state.index.range(o.span))
        for o in found[1]
        if include_declaration or not o.declaration
    ]


def highlights(state: DocState, position: types.Position) -> list[types.DocumentHighlight]:
    found = at(state, position)
    if found is None:
        return []
    kinds = {True: types.DocumentHighlightKind.Write, False: types.DocumentHighlightKind.Read}
    return [
        types.DocumentHighlight(range=state.index.range(o.span), kind=kinds[o.declaration])
        for o in found[1]
    ]


def prepare_rename(state: DocState, position: types.Position) -> types.Range | None:
    found = at(state, position)
    return state.index.range(found[0].span) if found else None


class RenameError(ValueError):
    """A rename that cannot be done (the message says why)."""


def rename(
    state: DocState, position: types.Position, new_name: str, uri: str
) -> types.WorkspaceEdit | None:
    found = at(state, position)
    if found is None:
        return None
    here, same = found
    if not NAME.match(new_name):
        raise RenameError(
            f"`{new_name}` is not a name: use letters, digits and `_`, not starting with a digit"
        )
    taken = {
        o.name
        for o in occurrences(state)
        if (o.kind, o.scope) == (here.kind, here.scope) and o.name != here.name
    }
    if new_name in taken:
        what = "model" if here.kind == "model" else f"layer in `{here.scope}`"
        raise RenameError(f"there is already a {what} named `{new_name}`")
    edits = [types.TextEdit(range=state.index.range(o.span), new_text=new_name) for o in same]
    return types.WorkspaceEdit(changes={uri: edits})


def folding_ranges(state: DocState) -> list[types.FoldingRange]:
    """Every block over several lines, and runs of two or more comment lines."""
    out: list[types.FoldingRange] = []

    def visit(statements: tuple[cst.Statement, ...]) -> None:
        for stmt in statements:
            if stmt.body is None:
                continue
            first, last = stmt.span.line - 1, stmt.body.span.end_line - 1
            if last > first:
                # Keep the closing `}` visible: fold up to the line before it.
                out.append(types.FoldingRange(start_line=first, end_line=last - 1))
            visit(stmt.body.statements)

    visit(state.analysis.document.statements)
    lines = [c.span.line - 1 for c in state.analysis.document.comments if _own_line(state, c)]
    start = previous = None
    for line in [*lines, None]:
        if line is not None and previous is not None and line == previous + 1:
            previous = line
            continue
        if start is not None and previous is not None and previous > start:
            out.append(
                types.FoldingRange(
                    start_line=start, end_line=previous, kind=types.FoldingRangeKind.Comment
                )
            )
        start = previous = line
    return sorted(out, key=lambda r: (r.start_line, r.end_line))


def _own_line(state: DocState, comment: cst.Comment) -> bool:
    text = state.analysis.text
    return not text[text.rfind("\n", 0, comment.span.start) + 1 : comment.span.start].strip()


# Statement keyword -> what its string argument names: a run (init from "RUN") or a
# data file (`path "..."` in a data block).
LINKED_STATEMENTS = {"init": "run", "path": "data"}


def document_links(state: DocState, uri: str) -> list[types.DocumentLink]:
    """Links on `init from "RUN"` and data `path "..."` strings that name existing files."""
    out: list[types.DocumentLink] = []
    base = spec_folder(uri)

    def visit(statements: tuple[cst.Statement, ...]) -> None:
        for stmt in statements:
            what = LINKED_STATEMENTS.get(stmt.keyword.name)
            for arg in stmt.args if what else ():
                if isinstance(arg.value, cst.String):
                    target = resolve(base, arg.value.value, what or "")
                    if target is not None:
                        out.append(
                            types.DocumentLink(
                                range=state.index.range(arg.value.span),
                                target=from_fs_path(str(target)),
                                tooltip=f"open {target.name}",
                            )
                        )
            if stmt.body is not None:
                visit(stmt.body.statements)

    visit(state.analysis.document.statements)
    return out


def spec_folder(uri: str) -> Path:
    """The folder of the spec (relative references start there)."""
    path = to_fs_path(uri)
    return Path(path).parent if path else Path.cwd()


def resolve(base: Path, reference: str, what: str) -> Path | None:
    """The file a string names, relative to the spec (then to the working directory).
    A run directory resolves to its spec copy, else its first `.json` record."""
    for root in (base, Path.cwd()):
        path = root / reference
        if path.is_dir() and what == "run":
            inside = sorted(path.glob("*.nn")) + sorted(path.glob("*.json"))
            path = inside[0] if inside else path
        if path.exists():
            return path.resolve()
    return None
