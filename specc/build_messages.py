"""The builder's messages: how a statement the IR cannot take is reported (unknown
statements, arguments and choices with a "did you mean", pydantic's errors translated to
located E3xx diagnostics). A mixin of `specc.build.Builder`, kept apart so the mapping
itself stays short.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from pydantic import ValidationError

from specc import cst
from specc.diagnostics import Diagnostic, Related, SpecError, did_you_mean
from specc.ir.base import Node
from specc.ir.registry import (
    accepts,
    block_words,
    user_fields,
)
from specc.ir.spec import Spec
from specc.span import Span


class Failed(Exception):
    """A statement could not be built; its diagnostic was already reported."""


class Messages:
    """Reporting for the builder: every method appends located diagnostics."""

    text: str
    diagnostics: list[Diagnostic]

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
            hint = f"known here: {quote(sorted(set(valid)))}"
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
        known = quote(list(user_fields(cls))) if user_fields(cls) else "none"
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
                f"other arguments are named: {quote([n + '=' for n in named])}"
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
        raise Failed

    def _unknown_choice(self, field: str, value: cst.Word, choices: list[str]) -> None:
        guess = did_you_mean(value.name, choices)
        self._error(
            "E305",
            f"`{value.name}` is not a valid `{field}`",
            value.span,
            help=f"did you mean `{guess}`?" if guess else f"expected one of {quote(choices)}",
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
                if inner.missing and failed:
                    continue  # the value was given but broken: already reported
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


def quote(words: Sequence[str]) -> str:
    shown = [f"`{w}`" for w in words[:12]]
    more = ", ..." if len(words) > 12 else ""
    return ", ".join(shown) + more
