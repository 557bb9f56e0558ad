"""The IR's base class and the metadata the builder, completion and docs read from it.

Every vocabulary item (layer, loss, optimizer, ...) is one frozen pydantic class with a
`kind` literal. The class docstring is its documentation; field descriptions are argument
docs; `positional` says which fields may be written without `name=`; `aliases` are the
other spellings (Keras vs PyTorch) that resolve to the canonical `kind`.
"""

# No `from __future__ import annotations` here: pydantic collects each subclass's fields by
# evaluating the annotations of its whole MRO, so Node's, written as strings, were compiled
# and evaluated again for each of the ~120 IR classes (about 10 ms of every `specc check`).
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from specc.span import Span

Identifier = Annotated[
    str, StringConstraints(pattern=r"^[A-Za-z_][A-Za-z0-9_]*$", min_length=1, max_length=64)
]


class Node(BaseModel):
    """Base of every IR node: frozen, no unknown fields, and a source span."""

    # Field docs are the docstrings under each field, read lazily by specc.ir.docs (not
    # `use_attribute_docstrings`, which reads every class's source on import).
    # No setting means anything with inf or nan (`lr=1e400`, `uniform(nan, 1)`): E301.
    model_config = ConfigDict(frozen=True, extra="forbid", allow_inf_nan=False)

    span: Span | None = Field(default=None, description="Where this was written in the spec.")
    field_spans: dict[str, Span] = Field(default_factory=dict, exclude=True, repr=False)

    # Spec-language metadata (not data): read by the builder, completion and docs.
    positional: ClassVar[tuple[str, ...]] = ()
    variadic: ClassVar[str | None] = None
    aliases: ClassVar[tuple[str, ...]] = ()
    arg_aliases: ClassVar[dict[str, str]] = {}
    refers: ClassVar[tuple[str, ...]] = ()
    """Fields whose words name earlier values of the model (a merge's operands, a
    branch's `from=`): editors complete them with those names."""
    spelled: ClassVar[dict[str, str]] = {}
    """Field -> the key a spec writes for it, where the field cannot be named so
    (`from=` is a Python keyword: Branch.source). Each is also in `arg_aliases`."""
    filler_words: ClassVar[tuple[str, ...]] = ()
    # Blocks: statement keyword -> field name, and the list field that collects
    # statements naming a member of its union (layers in a model, transforms in data).
    keywords: ClassVar[dict[str, str]] = {}
    collector: ClassVar[str | None] = None

    def where(self, field: str | None = None) -> Span | None:
        """The span of one argument if it was written, else of the whole node."""
        if field is not None and field in self.field_spans:
            return self.field_spans[field]
        return self.span

    @classmethod
    def kind_name(cls) -> str:
        default = cls.model_fields["kind"].default if "kind" in cls.model_fields else None
        return str(default) if default is not None else cls.__name__.lower()

    @classmethod
    def doc(cls) -> str:
        return " ".join((cls.__doc__ or "").split())


def strip_spans(value: Any) -> Any:
    """A node's data without positions: two specs mean the same iff these are equal."""
    if isinstance(value, BaseModel):
        value = value.model_dump(mode="json")
    if isinstance(value, dict):
        return {k: strip_spans(v) for k, v in value.items() if k not in ("span", "field_spans")}
    if isinstance(value, list):
        return [strip_spans(v) for v in value]
    return value
