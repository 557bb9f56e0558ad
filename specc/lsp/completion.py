"""Completion from the IR registry: statement keywords of the enclosing block, kinds
(layers, losses, optimizers, schedules, data sources), argument names with their types
and defaults, the values an argument accepts, and model names where a model is named.

The statement being typed is read from the text of the current line, and the enclosing
blocks from the braces before the cursor: text being typed is usually not valid yet, and a
half-written line can make the parser misread everything after it.
"""

from __future__ import annotations

import re

from lsprotocol import types
from pydantic.fields import FieldInfo

from specc.ir.base import Node
from specc.ir.graph import Output
from specc.ir.registry import (
    collector_members,
    is_bool_field,
    list_item,
    literal_values,
    user_fields,
)
from specc.ir.spec import Spec
from specc.ir.training import Train
from specc.lsp.context import dispatches, field_of, kinds, statement_class, user_field
from specc.lsp.describe import class_doc, field_detail, field_doc
from specc.lsp.documents import DocState

Kind = types.CompletionItemKind


def _markdown(text: str) -> types.MarkupContent:
    return types.MarkupContent(kind=types.MarkupKind.Markdown, value=text)


def _kind_items(table: dict[str, type[Node]], role: str) -> list[types.CompletionItem]:
    """One item per word naming a kind; aliases sort after the canonical names."""
    out = []
    for word, cls in table.items():
        alias = word != cls.kind_name()
        out.append(
            types.CompletionItem(
                label=word,
                kind=Kind.Class,
                detail=f"{role}: alias of {cls.kind_name()}" if alias else role,
                documentation=_markdown(class_doc(cls, role)),
                sort_text=("1" if alias else "0") + word,
            )
        )
    return out


def arg_fields(cls: type[Node]) -> dict[str, FieldInfo]:
    """Arguments written on the statement line (block statements fill the others)."""
    block = set(cls.keywords.values()) | ({cls.collector} if cls.collector else set())
    return {
        name: info
        for name, info in user_fields(cls).items()
        if name not in block or name in cls.positional
    }


def _role(block: type[Node]) -> str:
    """What the collected statements of a block are: `layer` in a model, `transform` in data."""
    return (block.collector or block.kind_name()).removesuffix("s")


def statement_keywords(cls: type[Node]) -> list[types.CompletionItem]:
    collected = collector_members(cls)
    out = _kind_items({w: c for w, c in collected.items() if w not in cls.keywords}, _role(cls))
    for word, name in cls.keywords.items():
        info = cls.model_fields[name]
        out.append(
            types.CompletionItem(
                label=word,
                kind=Kind.Keyword,
                detail=field_detail(info) if cls is not Spec else "block",
                documentation=_markdown(field_doc(word, info)),
                sort_text="0" + word,
            )
        )
    return out


def _value_items(info: FieldInfo) -> list[types.CompletionItem]:
    item = list_item(info.annotation)
    annotation = item if item is not None else info.annotation
    out = _kind_items(kinds(annotation), "value") if kinds(annotation) else []
    words = [str(v) for v in literal_values(annotation)]
    if is_bool_field(info):
        words += ["true", "false"]
    out.extend(types.CompletionItem(label=w, kind=Kind.EnumMember) for w in words)
    return out


def _filled(cls: type[Node], written: list[str]) -> set[str]:
    """Fields already given on the line: `key=value`, flags, and positional values (a word
    naming a kind goes to the positional field that accepts it, as in the builder)."""
    fields = user_fields(cls)
    given = {cls.arg_aliases.get(k, k) for k in (w.split("=", 1)[0] for w in written if "=" in w)}
    pending = [name for name in cls.positional if name not in given]
    for word in (w for w in written if "=" not in w):
        if word in fields and is_bool_field(fields[word]):
            given.add(word)
            continue
        target = next((n for n in pending if word in kinds(fields[n].annotation)), None)
        target = target or (pending[0] if pending else None)
        if target is not None:
            given.add(target)
            pending.remove(target)
    return given


def _argument_items(cls: type[Node], written: list[str]) -> list[types.CompletionItem]:
    given = _filled(cls, written)
    out: list[types.CompletionItem] = []
    for name, info in arg_fields(cls).items():
        if name in given:
            continue
        flag = is_bool_field(info)
        out.append(
            types.CompletionItem(
                label=name if flag else f"{name}=",
                kind=Kind.Property,
                detail=field_detail(info),
                documentation=_markdown(field_doc(name, info)),
                insert_text=name if flag else f"{name}=",
                sort_text="2" + name,
            )
        )
        if name in cls.positional and not flag:
            out.extend(i for i in _value_items(info) if i.label not in given)
    return _unique(out)


def _unique(items: list[types.CompletionItem]) -> list[types.CompletionItem]:
    seen: dict[str, types.CompletionItem] = {}
    for item in items:
        seen.setdefault(item.label, item)
    return list(seen.values())


def _model_names(state: DocState) -> list[types.CompletionItem]:
    return [
        types.CompletionItem(label=m.name, kind=Kind.Reference, detail="model in this file")
        for m in state.analysis.spec.models
    ]


def _output_names(state: DocState) -> list[types.CompletionItem]:
    """`output |` in `train`: the named outputs of the file's models (by their blocks)."""
    names = {
        layer.name: model.name
        for model in state.analysis.spec.models
        for layer in model.layers
        if isinstance(layer, Output) and layer.name
    }
    return [
        types.CompletionItem(label=n, kind=Kind.Reference, detail=f"output of model {m}")
        for n, m in names.items()
    ]


_TOKEN = re.compile(r"\"[^\"]*\"?|'[^']*'?|[^\s\"']+")
_LEXEME = re.compile(r"\"(?:[^\"\\\n]|\\.)*\"?|'(?:[^'\\\n]|\\.)*'?|#[^\n]*|[{};\n]|[^\s{};\"'#]+")


def open_blocks(text: str) -> list[list[str]]:
    """The header words of every block still open at the end of `text`, outermost first.

    Read from the raw text rather than the syntax tree: while a statement is half typed
    (`init=` at the end of a line) the parser may give up on the whole file, but the
    braces before the cursor still say where it is.
    """
    stack: list[list[str]] = []
    words: list[str] = []
    for lexeme in _LEXEME.findall(text):
        if lexeme == "{":
            stack.append(words)
        elif lexeme == "}" and stack:
            stack.pop()
        if lexeme in ("{", "}", ";", "\n"):
            words = []
        elif not lexeme.startswith("#"):
            words.append(lexeme)
    return stack


def block_class(text: str) -> type[Node] | None:
    """The IR class of the innermost block open at the end of `text`."""
    cls: type[Node] | None = Spec
    for header in open_blocks(text):
        if cls is None or not header:
            return None
        cls = statement_class(cls, header[0], header[1] if len(header) > 1 else None)
    return cls


def complete(state: DocState, position: types.Position) -> list[types.CompletionItem]:
    text = state.analysis.text
    offset = state.index.offset(position)
    before = text[text.rfind("\n", 0, offset) + 1 : offset]
    tokens = _TOKEN.findall(before)
    if any(t.startswith("#") for t in tokens) or (tokens and tokens[-1][:1] in "\"'"):
        return []  # inside a comment or a string
    segment = re.split(r"[;{}]", before)[-1]
    found = _TOKEN.findall(segment)
    typing = bool(found) and not segment[-1:].isspace()
    partial = found[-1] if typing else ""  # the word being typed; completion replaces it
    words = found[:-1] if typing else found
    block = block_class(text[: offset - len(segment)])
    if block is None:
        return []
    if not words:
        return statement_keywords(block)
    return _in_statement(state, block, words, partial, offset)


def _in_statement(
    state: DocState, block: type[Node], words: list[str], partial: str, offset: int
) -> list[types.CompletionItem]:
    keyword = words[0]
    if block is Train and keyword == "output" and len(words) == 1:
        return _output_names(state)  # `output kind { loss ... }`: the model's outputs
    table = dispatches(block, keyword)
    if table and len(words) == 1:
        return _kind_items(table, keyword)
    cls = table.get(words[1]) if table else statement_class(block, keyword, None)
    if cls is None:
        found = field_of(block, keyword)
        if found is None:
            return []
        if keyword == "model" and block is Train:
            return _model_names(state)
        return _value_items(found[1])
    args = words[2:] if table else words[1:]
    if "=" in partial:
        found = user_field(cls, partial.split("=", 1)[0])
        if found is not None and found[0] in cls.refers:
            return value_names(state, offset)
        return _value_items(found[1]) if found else []
    items = _argument_items(cls, args)
    if cls.variadic is not None and cls.variadic in cls.refers:
        items = value_names(state, offset) + items  # `concat img tab`: the names come first
    return items


_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def value_names(state: DocState, offset: int) -> list[types.CompletionItem]:
    """Names a merge or `from=` may use at the cursor: inputs, branches and named layers
    written earlier in the same model (read from the text, which may be mid-edit)."""
    text = state.analysis.text
    start = text.rfind("model", 0, offset)
    if start < 0:
        return []
    names: dict[str, str] = {}
    for statement in re.split(r"[;{}\n]", text[start:offset]):
        words = statement.split("#", 1)[0].split()
        if len(words) >= 2 and words[0] in ("input", "branch") and _IDENT.match(words[1]):
            names.setdefault(words[1], words[0])
        for word in words[1:]:
            if word.startswith("name=") and _IDENT.match(word[5:]):
                names.setdefault(word[5:], "named layer")
    if "input" not in names.values():
        names = {"input": "input", **names}
    return [
        types.CompletionItem(label=n, kind=Kind.Variable, detail=role, sort_text="0" + n)
        for n, role in names.items()
    ]
