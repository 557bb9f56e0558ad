"""Argument docs, read from the attribute docstrings of the IR classes when asked for.

Each field's doc is the string literal written under it in the class body. Pydantic can
collect these at class creation (`use_attribute_docstrings`), but that reads every
class's source on import and cost ~0.13 s of each `specc check`; the schema, hover and
completion read them here instead, only when they need them.
"""

from __future__ import annotations

import ast
import functools
import inspect
import sys
from typing import Any

from pydantic import BaseModel


@functools.cache
def _module_docs(module: str) -> dict[str, dict[str, str]]:
    """Class qualname -> field -> docstring, for every class in one module: its source
    is parsed once (`inspect.getsource` per class re-scans the whole module each time,
    which made reading every IR class's docs take most of a second)."""
    try:
        source = inspect.getsource(sys.modules[module])
    except (KeyError, OSError, TypeError):
        return {}
    out: dict[str, dict[str, str]] = {}

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for node in body:
            if not isinstance(node, ast.ClassDef):
                continue
            name = prefix + node.name
            out[name] = _field_docs(node)
            visit(node.body, name + ".")

    visit(ast.parse(source).body, "")
    return out


def _field_docs(node: ast.ClassDef) -> dict[str, str]:
    docs: dict[str, str] = {}
    for stmt, nxt in zip(node.body, node.body[1:], strict=False):
        if (
            isinstance(stmt, ast.AnnAssign)
            and isinstance(stmt.target, ast.Name)
            and isinstance(nxt, ast.Expr)
            and isinstance(nxt.value, ast.Constant)
            and isinstance(nxt.value.value, str)
        ):
            docs[stmt.target.id] = inspect.cleandoc(nxt.value.value)
    return docs


@functools.cache
def attribute_docs(cls: type[BaseModel]) -> dict[str, str]:
    """Field name -> its docstring, for `cls` and its bases (a subclass's doc wins)."""
    docs: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        if not (isinstance(klass, type) and issubclass(klass, BaseModel)) or klass is BaseModel:
            continue
        docs.update(_module_docs(klass.__module__).get(klass.__qualname__, {}))
    return docs


def field_doc(cls: type[BaseModel], name: str) -> str | None:
    return attribute_docs(cls).get(name)


def all_node_classes() -> dict[str, type[BaseModel]]:
    """Every IR class by name (the names pydantic uses for `$defs`)."""
    from specc.ir.base import Node
    from specc.ir.spec import Spec  # noqa: F401  (imports every IR module)

    found: dict[str, type[BaseModel]] = {}
    todo: list[type[BaseModel]] = [Node]
    while todo:
        cls = todo.pop()
        found.setdefault(cls.__name__, cls)
        todo.extend(cls.__subclasses__())
    return found


@functools.cache
def install() -> None:
    """Fill every IR field's `description` (for tools that read FieldInfo, like the LSP)."""
    for cls in all_node_classes().values():
        for name, info in cls.model_fields.items():
            if info.description is None:
                info.description = field_doc(cls, name)


def describe_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the argument docs to a pydantic JSON Schema of the IR (keys kept sorted, as
    pydantic sorts them)."""
    classes = all_node_classes()
    definitions = [(schema.get("title", ""), schema), *schema.get("$defs", {}).items()]
    for name, definition in definitions:
        cls = classes.get(name)
        if cls is None:
            continue
        for field, prop in definition.get("properties", {}).items():
            doc = field_doc(cls, field)
            if doc and "description" not in prop:
                prop["description"] = doc
                definition["properties"][field] = dict(sorted(prop.items()))
    return schema
