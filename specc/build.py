"""CST to IR. The vocabulary comes from the IR classes (specc/ir/registry.py); this module
only knows the mechanical mapping:

- a statement in a block either names a field of the block (`epochs 5`, `loss mse`) or, for
  blocks with a `collector`, a member of the collected union (`dense 512 relu` in a model);
- a field whose type is a union of several kinds takes the kind as its first word
  (`optimizer sgd lr=0.1`); a single-kind field takes the arguments directly (`batch 128`);
- positional arguments fill `positional` fields in order, except that a word naming a
  member of a later positional field goes there (`conv2d 32 3 relu`) and a word naming a
  boolean field sets it (`batch 128 shuffle`);
- every node is validated on its own, so pydantic's errors are local and located.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from specc import cst
from specc.build_messages import Failed, Messages, quote
from specc.diagnostics import Diagnostic, Related, did_you_mean
from specc.ir.base import Node
from specc.ir.registry import (
    accepts,
    admits_plain,
    canonical,
    collector_members,
    is_bool_field,
    list_item,
    literal_values,
    members,
    only_text,
    user_fields,
)
from specc.ir.spaces import SPACE_TYPES
from specc.ir.spec import Spec
from specc.span import Span


class Builder(Messages):
    def __init__(self, text: str) -> None:
        self.text = text
        self.diagnostics: list[Diagnostic] = []
        self.incomplete: set[int] = set()  # ids of nodes built with a part left out

    # ---- entry point -------------------------------------------------------------------

    def spec(self, statements: Sequence[cst.Statement]) -> Spec:
        whole = Span.point(self.text, 0)
        if statements:
            whole = statements[0].span.cover(statements[-1].span)
        body = cst.Block(tuple(statements), whole)
        node = self.node(Spec, (), body, whole, "spec")
        if node is None:  # only cross-model rules can fail here; keep what we can
            node = Spec(span=whole)
        return node  # type: ignore[return-value]

    # ---- nodes -------------------------------------------------------------------------

    def node(
        self,
        cls: type[Node],
        args: Sequence[cst.Arg],
        body: cst.Block | None,
        span: Span,
        word: str,
    ) -> Node | None:
        data: dict[str, Any] = {"span": span}
        spans: dict[str, Span] = {}
        failed = False
        fields = user_fields(cls)
        pending = [f for f in cls.positional]
        for arg in args:
            if arg.key is None:
                if isinstance(arg.value, cst.Word) and arg.value.name in cls.filler_words:
                    continue  # `init from "..."`: `from` only reads well
                name = self._positional_target(cls, arg.value, pending, data)
                if name is None:
                    if cls.variadic:
                        items = data.setdefault(cls.variadic, [])
                        spans[f"{cls.variadic}.{len(items)}"] = arg.span  # each item's place
                        items.append(arg.value)
                        spans.setdefault(cls.variadic, arg.span)
                        continue
                    self._too_many(cls, word, arg, bool(cls.positional))
                    failed = True
                    continue
                if name in pending:
                    pending.remove(name)
            else:
                key = arg.key.name
                name = cls.arg_aliases.get(key, key)
                if name not in fields:
                    self._unknown_arg(cls, word, arg.key)
                    failed = True
                    continue
            if name in data:
                self._error(
                    "E203",
                    f"`{name}` is given twice",
                    arg.span,
                    help="remove one of them",
                    related=[Related(span=spans[name], message="first given here")],
                )
                failed = True
                continue
            data[name] = arg.value
            spans[name] = arg.span
        # Convert values now that each is assigned to a field with a known type.
        for name in list(data):
            if name == "span":
                continue
            annotation = fields[name].annotation
            try:
                if name == cls.variadic:
                    item = list_item(annotation) or Any
                    data[name] = [self.value(v, item, name) for v in data[name]]
                else:
                    data[name] = self.value(data[name], annotation, name)
            except Failed:
                del data[name]
                failed = True
        if body is not None:
            if not (cls.keywords or cls.collector):
                self._error(
                    "E206",
                    f"`{word}` does not take a block",
                    body.span,
                    help="remove the `{ ... }`",
                )
                failed = True
            else:
                failed |= self.block(cls, body, data, spans)
        return self._validate(cls, data, spans, span, word, failed)

    def _positional_target(
        self, cls: type[Node], value: cst.Value, pending: list[str], data: dict[str, Any]
    ) -> str | None:
        fields = user_fields(cls)
        if isinstance(value, cst.Word):
            info = fields.get(value.name)
            if info is not None and is_bool_field(info) and value.name not in data:
                return value.name  # a flag: `shuffle`, `frozen`, `nesterov`
        if isinstance(value, (cst.Word, cst.Call)):
            word = value.name if isinstance(value, cst.Word) else value.name.name
            for name in pending:
                annotation = fields[name].annotation
                if word in members(annotation) or word in literal_values(annotation):
                    return name
        else:
            # A number, shape, text or list never fills a slot that only takes a kind
            # (`conv2d 32 3 2`: the 2 is not an activation, it has no place), and a number
            # or shape never fills a name (`input 28x28`: not `input NAME SHAPE`).
            numeric = isinstance(value, (cst.Number, cst.Shape))
            return next(
                (
                    n
                    for n in pending
                    if admits_plain(fields[n].annotation)
                    and not (numeric and only_text(fields[n].annotation))
                ),
                None,
            )
        return pending[0] if pending else None

    def _validate(
        self,
        cls: type[Node],
        data: dict[str, Any],
        spans: dict[str, Span],
        span: Span,
        word: str,
        failed: bool,
    ) -> Node | None:
        # Flags arrive as the word itself; make them booleans.
        for name, info in user_fields(cls).items():
            if name in data and is_bool_field(info) and data[name] == name:
                data[name] = True
        data["field_spans"] = spans
        try:
            node = cls.model_validate(data)
        except ValidationError as err:
            reported = self._report(cls, err, spans, span, word, failed)
            if not reported and not failed:
                self._error("E300", f"`{word}` is not valid here", span)
            return None
        if failed:
            self.incomplete.add(id(node))
        return node

    # ---- blocks ------------------------------------------------------------------------

    def block(
        self, cls: type[Node], body: cst.Block, data: dict[str, Any], spans: dict[str, Span]
    ) -> bool:
        """Fill `data` from the statements of a block; True when something was left out."""
        failed = False
        fields = user_fields(cls)
        collected = collector_members(cls)
        for stmt in body.statements:
            kw = stmt.keyword.name
            field = cls.keywords.get(kw)
            if field is not None:
                annotation = fields[field].annotation
                try:
                    value = self.statement_value(stmt, annotation, kw)
                except Failed:
                    failed = True
                    continue
                if list_item(annotation) is not None:
                    data.setdefault(field, []).extend(value)
                    spans.setdefault(field, stmt.span)
                elif field in data:
                    self._error(
                        "E203",
                        f"`{kw}` is given twice in this block",
                        stmt.keyword.span,
                        help="keep one",
                        related=[Related(span=spans[field], message="first given here")],
                    )
                    failed = True
                else:
                    data[field] = value
                    # A one-value statement (`epochs 2.5`) is located at its value.
                    plain = len(stmt.args) == 1 and not isinstance(value, Node)
                    spans[field] = stmt.args[0].span if plain else stmt.span
            elif kw in collected:
                node = self.node(collected[kw], stmt.args, stmt.body, stmt.span, kw)
                if node is None:
                    failed = True
                    continue
                assert cls.collector is not None
                data.setdefault(cls.collector, []).append(node)
            else:
                self._unknown_statement(cls, stmt)
                failed = True
        return failed

    def statement_value(self, stmt: cst.Statement, annotation: Any, kw: str) -> Any:
        item = list_item(annotation)
        if item is not None:
            if isinstance(item, type) and issubclass(item, Node):
                # One statement, one element: `model a { ... }` appends to `models`.
                node = self.node(item, stmt.args, stmt.body, stmt.span, kw)
                if node is None:
                    raise Failed
                return [node]
            if not stmt.args:
                self._error(
                    "E302",
                    f"`{kw}` needs at least one value",
                    stmt.span,
                    help=f"for example `{kw} {canonical(item)[0]}`" if canonical(item) else None,
                )
                raise Failed
            out: list[Any] = []
            for arg in stmt.args:
                if arg.key is not None:
                    # `metrics top_k_accuracy k=3`: the argument belongs in the kind's parentheses
                    owner = out[-1].kind_name() if out and isinstance(out[-1], Node) else None
                    written = self.text[arg.span.start : arg.span.end]
                    self._error(
                        "E202",
                        f"`{kw}` takes a list of values, not `{arg.key.name}=`",
                        arg.span,
                        help=f"in a list, a kind's arguments go in parentheses: `{owner}({written})`"
                        if owner
                        else "in a list, a kind's arguments go in parentheses after it: `kind(...)`",
                    )
                    raise Failed
                if not isinstance(arg.value, (cst.Word, cst.Call)) and not admits_plain(item):
                    # `metrics top_k_accuracy 2`: a bare value between kinds has no owner.
                    choices = canonical(item)
                    self._error(
                        "E303",
                        f"`{kw}` takes kinds, and "
                        f"`{self.text[arg.span.start : arg.span.end]}` is not one",
                        arg.span,
                        help=f"give a kind its arguments in parentheses, e.g. "
                        f"`{choices[0]}(...)`; kinds here: {quote(choices)}",
                    )
                    raise Failed
                out.append(self.value(arg.value, item, kw))
            return out
        kinds = {k: c for k, c in members(annotation).items() if c not in SPACE_TYPES}
        classes = set(kinds.values())
        if len(classes) > 1:
            return self._dispatch(stmt, annotation, kinds, kw)
        if len(classes) == 1:
            node = self.node(next(iter(classes)), stmt.args, stmt.body, stmt.span, kw)
            if node is None:
                raise Failed
            return node
        # A plain scalar statement: `epochs 5`, `seed 42`, `validation 0.1`.
        if len(stmt.args) != 1 or stmt.args[0].key is not None or stmt.body is not None:
            self._error(
                "E303",
                f"`{kw}` takes exactly one value",
                stmt.span,
                help=f"write it as `{kw} <value>`",
            )
            raise Failed
        return self.value(stmt.args[0].value, annotation, kw)

    def _dispatch(
        self, stmt: cst.Statement, annotation: Any, kinds: dict[str, type[Node]], kw: str
    ) -> Node:
        choices = canonical(annotation)
        first = stmt.args[0] if stmt.args else None
        if first is None or first.key is not None or not isinstance(first.value, cst.Word):
            self._error(
                "E302",
                f"`{kw}` needs a kind first: one of {quote(choices)}",
                stmt.keyword.span,
                help=f"for example `{kw} {choices[0]}`",
            )
            raise Failed
        name = first.value.name
        if name not in kinds:
            guess = did_you_mean(name, kinds)
            self._error(
                "E201",
                f"unknown {kw} `{name}`",
                first.span,
                help=f"did you mean `{guess}`?" if guess else f"known: {quote(choices)}",
                fix=guess,
            )
            raise Failed
        node = self.node(kinds[name], stmt.args[1:], stmt.body, stmt.span, name)
        if node is None:
            raise Failed
        return node

    # ---- values ------------------------------------------------------------------------

    def value(self, value: Any, annotation: Any, field: str) -> Any:
        if not isinstance(
            value,
            (
                cst.Number,
                cst.Fraction,
                cst.Shape,
                cst.String,
                cst.Word,
                cst.List,
                cst.Call,
                cst.Bad,
            ),
        ):
            return value  # already converted (a nested node)
        kinds = members(annotation)
        if isinstance(value, cst.Bad):
            raise Failed
        if isinstance(value, cst.Number):
            if (
                isinstance(value.value, int)
                and accepts(annotation, tuple)
                and not accepts(annotation, int)
            ):
                return (value.value,)
            return value.value
        if isinstance(value, cst.Fraction):
            if value.denominator == 0:
                self._error("E301", f"`{value.text}` divides by zero", value.span)
                raise Failed
            return value.value
        if isinstance(value, cst.Shape):
            return value.dims
        if isinstance(value, cst.String):
            return value.value
        if isinstance(value, cst.List):
            item = list_item(annotation) or Any
            return [self.value(v, item, field) for v in value.items]
        if isinstance(value, cst.Word):
            if value.name in ("true", "false") and accepts(annotation, bool):
                return value.name == "true"
            if value.name in kinds:
                node = self.node(kinds[value.name], (), None, value.span, value.name)
                if node is None:
                    raise Failed
                return node
            if kinds and not (accepts(annotation, str) or literal_values(annotation)):
                if all(c in SPACE_TYPES for c in kinds.values()):  # a number field
                    self._not_a_number(field, value, annotation)
                self._unknown_choice(field, value, canonical(annotation))
                raise Failed
            return value.name
        # A call: a search space in a numeric field, or a parametrised kind (`normal(0.02)`).
        name = value.name.name
        if name in kinds:
            node = self.node(kinds[name], value.args, None, value.span, name)
            if node is None:
                raise Failed
            return node
        spaces = [c.kind_name() for c in SPACE_TYPES]
        expected = canonical(annotation) or spaces
        guess = did_you_mean(name, expected)
        self._error(
            "E305",
            f"`{name}(...)` is not allowed for `{field}`",
            value.name.span,
            help=(f"did you mean `{guess}`?" if guess else f"expected one of {quote(expected)}"),
            fix=guess,
        )
        raise Failed


def build(document: cst.Document, text: str) -> tuple[Spec, list[Diagnostic], set[int]]:
    """The IR of a parsed document, the diagnostics found building it, and the ids of
    nodes that were built with something left out (later passes skip their checks)."""
    builder = Builder(text)
    spec = builder.spec(document.statements)
    return spec, builder.diagnostics, builder.incomplete
