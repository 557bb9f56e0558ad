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

from specc import syntax as cst
from specc.diagnostics import Diagnostic, Related, SpecError, did_you_mean
from specc.ir.base import Node
from specc.ir.registry import (
    accepts,
    admits_plain,
    block_words,
    canonical,
    collector_members,
    is_bool_field,
    list_item,
    literal_values,
    members,
    user_fields,
)
from specc.ir.spaces import SPACE_TYPES
from specc.ir.spec import Spec
from specc.span import Span


class _Failed(Exception):
    """A value could not be converted; its diagnostic is already recorded."""


class Builder:
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
                        data.setdefault(cls.variadic, []).append(arg.value)
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
            except _Failed:
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
                if word in members(fields[name].annotation):
                    return name
        else:
            # A number, shape, text or list never fills a slot that only takes a kind
            # (`conv2d 32 3 2`: the 2 is not an activation, it has no place).
            return next((n for n in pending if admits_plain(fields[n].annotation)), None)
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
                except _Failed:
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
                    raise _Failed
                return [node]
            if not stmt.args:
                self._error(
                    "E302",
                    f"`{kw}` needs at least one value",
                    stmt.span,
                    help=f"for example `{kw} {canonical(item)[0]}`" if canonical(item) else None,
                )
                raise _Failed
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
                    raise _Failed
                if not isinstance(arg.value, (cst.Word, cst.Call)) and not admits_plain(item):
                    # `metrics top_k_accuracy 2`: a bare value between kinds has no owner.
                    choices = canonical(item)
                    self._error(
                        "E303",
                        f"`{kw}` takes kinds, and "
                        f"`{self.text[arg.span.start : arg.span.end]}` is not one",
                        arg.span,
                        help=f"give a kind its arguments in parentheses, e.g. "
                        f"`{choices[0]}(...)`; kinds here: {_quote(choices)}",
                    )
                    raise _Failed
                out.append(self.value(arg.value, item, kw))
            return out
        kinds = {k: c for k, c in members(annotation).items() if c not in SPACE_TYPES}
        classes = set(kinds.values())
        if len(classes) > 1:
            return self._dispatch(stmt, annotation, kinds, kw)
        if len(classes) == 1:
            node = self.node(next(iter(classes)), stmt.args, stmt.body, stmt.span, kw)
            if node is None:
                raise _Failed
            return node
        # A plain scalar statement: `epochs 5`, `seed 42`, `validation 0.1`.
        if len(stmt.args) != 1 or stmt.args[0].key is not None or stmt.body is not None:
            self._error(
                "E303",
                f"`{kw}` takes exactly one value",
                stmt.span,
                help=f"write it as `{kw} <value>`",
            )
            raise _Failed
        return self.value(stmt.args[0].value, annotation, kw)

    def _dispatch(
        self, stmt: cst.Statement, annotation: Any, kinds: dict[str, type[Node]], kw: str
    ) -> Node:
        choices = canonical(annotation)
        first = stmt.args[0] if stmt.args else None
        if first is None or first.key is not None or not isinstance(first.value, cst.Word):
            self._error(
                "E302",
                f"`{kw}` needs a kind first: one of {_quote(choices)}",
                stmt.keyword.span,
                help=f"for example `{kw} {choices[0]}`",
            )
            raise _Failed
        name = first.value.name
        if name not in kinds:
            guess = did_you_mean(name, kinds)
            self._error(
                "E201",
                f"unknown {kw} `{name}`",
                first.span,
                help=f"did you mean `{guess}`?" if guess else f"known: {_quote(choices)}",
                fix=guess,
            )
            raise _Failed
        node = self.node(kinds[name], stmt.args[1:], stmt.body, stmt.span, name)
        if node is None:
            raise _Failed
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
            raise _Failed
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
                raise _Failed
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
                    raise _Failed
                return node
            if kinds and not (accepts(annotation, str) or literal_values(annotation)):
                if all(c in SPACE_TYPES for c in kinds.values()):  # a number field
                    self._not_a_number(field, value, annotation)
                self._unknown_choice(field, value, canonical(annotation))
                raise _Failed
            return value.name
        # A call: a search space in a numeric field, or a parametrised kind (`normal(0.02)`).
        name = value.name.name
        if name in kinds:
            node = self.node(kinds[name], value.args, None, value.span, name)
            if node is None:
                raise _Failed
            return node
        spaces = [c.kind_name() for c in SPACE_TYPES]
        expected = canonical(annotation) or spaces
        guess = did_you_mean(name, expected)
        self._error(
            "E305",
            f"`{name}(...)` is not allowed for `{field}`",
            value.name.span,
            help=(f"did you mean `{guess}`?" if guess else f"expected one of {_quote(expected)}"),
            fix=guess,
        )
        raise _Failed

    # ---- errors ------------------------------------------------------------------------

    def _error(
        self,
        code: str,
        message: str,
        span: Span,
        help: str | None = None,
        related: Sequence[Related] = (),
        fix: str | None = None,
    ) -> None:
        self.diagnostics.append(
            Diagnostic(
                code=code, message=message, span=span, help=help, related=tuple(related), fix=fix
            )
        )

    def _unknown_statement(self, cls: type[Node], stmt: cst.Statement) -> None:
        word = stmt.keyword.name
        valid = block_words(cls)
        guess = did_you_mean(word, valid)
        where = {"spec": "at the top level", "model": "in a model"}.get(
            cls.kind_name(), f"in `{cls.kind_name()}`"
        )
        if cls is Spec:
            message = f"unknown block `{word}`"
            code = "E200"
            hint = (
                "a spec has `model NAME { ... }`, `data SOURCE { ... }` and `train { ... }` blocks"
            )
        else:
            what = "layer" if cls.collector == "layers" else "statement"
            message = f"unknown {what} `{word}` {where}"
            code = "E201"
            hint = f"known here: {_quote(sorted(set(valid)))}"
        self._error(
            code,
            message,
            stmt.keyword.span,
            help=f"did you mean `{guess}`?" if guess else hint,
            fix=guess,
        )

    def _unknown_arg(self, cls: type[Node], word: str, key: cst.Word) -> None:
        names = list(user_fields(cls)) + list(cls.arg_aliases)
        guess = did_you_mean(key.name, names)
        known = _quote(list(user_fields(cls))) if user_fields(cls) else "none"
        self._error(
            "E202",
            f"`{word}` has no argument `{key.name}`",
            key.span,
            help=f"did you mean `{guess}`?" if guess else f"its arguments: {known}",
            fix=guess,
        )

    def _too_many(self, cls: type[Node], word: str, arg: cst.Arg, has_positional: bool) -> None:
        named = [f for f in user_fields(cls) if f not in cls.positional]
        self._error(
            "E303",
            f"too many values for `{word}`: `{self.text[arg.span.start : arg.span.end]}` has no place",
            arg.span,
            help=(
                f"other arguments are named: {_quote([n + '=' for n in named])}"
                if named
                else f"`{word}` takes no arguments"
            )
            if has_positional or named
            else f"`{word}` takes no arguments",
        )

    def _not_a_number(self, field: str, value: cst.Word, annotation: Any) -> None:
        """`epochs five`: the field wants digits (search spaces are for `specc sweep`)."""
        what = "a whole number" if accepts(annotation, int) else "a number"
        self._error(
            "E300",
            f"`{value.name}` is not {what}: `{field}` takes {what}",
            value.span,
            help=f"write it in digits (`{field} 5`); `specc sweep` also takes a search space "
            "such as `int(2, 10)`",
        )
        raise _Failed

    def _unknown_choice(self, field: str, value: cst.Word, choices: list[str]) -> None:
        guess = did_you_mean(value.name, choices)
        self._error(
            "E305",
            f"`{value.name}` is not a valid `{field}`",
            value.span,
            help=f"did you mean `{guess}`?" if guess else f"expected one of {_quote(choices)}",
            fix=guess,
        )

    def _report(
        self,
        cls: type[Node],
        err: ValidationError,
        spans: dict[str, Span],
        span: Span,
        word: str,
        failed: bool,
    ) -> bool:
        """Turn pydantic's errors into located diagnostics; one per field."""
        seen: set[str] = set()
        reported = False
        for item in err.errors(include_url=False):
            loc = item["loc"]
            field = str(loc[0]) if loc else ""
            inner = item.get("ctx", {}).get("error") if item.get("ctx") else None
            if isinstance(inner, SpecError):
                self.diagnostics.append(inner.diagnostic(spans.get(field, span)))
                reported = True
                continue
            if field in seen or _is_branch_noise(item):
                continue
            if item["type"] == "missing" and failed:
                continue  # the value was given but broken: already reported
            seen.add(field)
            where = spans.get(field, span)
            shown = self.text[where.start : where.end] if field in spans else None
            self._error(*_translate(cls, item, field, word, shown), where)  # type: ignore[misc]
            reported = True
        return reported


_BRANCH_NOISE = {
    "model_type",
    "model_attributes_type",
    "union_tag_invalid",
    "is_instance_of",
    "dict_type",
}


def _is_branch_noise(item: Any) -> bool:
    return item["type"] in _BRANCH_NOISE or any(
        isinstance(p, str) and p.startswith(("tagged-union", "function-")) for p in item["loc"][1:]
    )


def _translate(
    cls: type[Node], item: Any, field: str, word: str, shown: str | None
) -> tuple[str, str]:
    kind = item["type"]
    ctx = item.get("ctx") or {}
    found = f", found `{_value_text(shown)}`" if shown else ""
    if kind == "missing":
        example = f"{word} <{field}>" if field in cls.positional else f"{word} {field}=<value>"
        return "E302", f"`{word}` needs `{field}` (write `{example}`)"
    if kind.startswith("int_"):
        return "E300", f"`{field}` must be a whole number{found}"
    if kind == "finite_number":
        return "E301", f"`{field}` must be a finite number{found}"
    if kind.startswith("float_"):
        return "E300", f"`{field}` must be a number{found}"
    if kind.startswith("bool_"):
        return "E300", f"`{field}` must be true or false{found}"
    if kind in ("string_type",):
        return "E300", f"`{field}` must be text or a name{found}"
    if kind in ("tuple_type", "list_type"):
        return "E300", f"`{field}` must be a list or shape{found}"
    if kind == "string_pattern_mismatch":
        return "E300", f"`{field}` must be a name of letters, digits and `_`{found}"
    limits = {
        "greater_than": ">",
        "greater_than_equal": ">=",
        "less_than": "<",
        "less_than_equal": "<=",
    }
    if kind in limits:
        bound = ctx.get("gt", ctx.get("ge", ctx.get("lt", ctx.get("le"))))
        if isinstance(bound, float) and bound.is_integer() and abs(bound) < 1e16:
            bound = int(bound)  # `<= 1000000`, not `<= 1000000.0`
        return "E301", f"`{field}` must be {limits[kind]} {bound}{found}"
    if kind in ("too_short", "too_long", "string_too_short", "string_too_long"):
        return "E301", f"`{field}` has the wrong length{found}"
    if kind == "literal_error":
        return "E305", f"`{field}` must be one of {ctx.get('expected', '?')}{found}"
    return "E300", f"`{field}` is not valid: {item['msg']}{found}"


def _value_text(shown: str) -> str:
    value = shown.split("=", 1)[1] if "=" in shown and not shown.startswith(("'", '"')) else shown
    return value if len(value) <= 40 else value[:37] + "..."


def _quote(words: Sequence[str]) -> str:
    shown = [f"`{w}`" for w in words[:12]]
    more = ", ..." if len(words) > 12 else ""
    return ", ".join(shown) + more


def build(document: cst.Document, text: str) -> tuple[Spec, list[Diagnostic], set[int]]:
    """The IR of a parsed document, the diagnostics found building it, and the ids of
    nodes that were built with something left out (later passes skip their checks)."""
    builder = Builder(text)
    spec = builder.spec(document.statements)
    return spec, builder.diagnostics, builder.incomplete
