"""The search spaces of a spec: find them, sample them, and write the spec with values chosen.

A space can stand in place of any number of the IR (`lr=loguniform(1e-4, 1e-2)`,
`dense choice(64, 128)`, `batch int(16, 128, step=16)`). Each one found becomes a `Param`
named after where it sits (`train.optimizer.lr`, `mnist_mlp.layers[2].units`), so trial
parameters read like the spec and stay the same across processes and resumed sweeps.

A trial's concrete spec is made twice on purpose: once on the IR (`substitute`, the meaning)
and once on the text (each space's span replaced by its value, so comments and layout
survive in `best.nn`). The text is used only when it builds to exactly the substituted IR;
otherwise the unparser writes it. Either way the result is analysed again, so a value that is
valid for the space but not for its field (`uniform(...)` in an integer field) is a located
diagnostic of that trial, never a crash.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from specc.analysis import Analysis, analyze
from specc.diagnostics import Diagnostic
from specc.errors import PlanError
from specc.ir.base import strip_spans
from specc.ir.spaces import Choice, IntRange, LogUniform, Uniform
from specc.ir.spec import Spec
from specc.lowering import spaces
from specc.unparse import to_text

PathPart = str | int


@dataclass(frozen=True)
class Param:
    """One search space of the spec and where it sits."""

    name: str
    path: tuple[PathPart, ...]
    space: Any  # one of specc.ir.spaces.SPACE_TYPES

    @property
    def discrete(self) -> bool:
        return isinstance(self.space, (Choice, IntRange))


def find(spec: Spec) -> list[Param]:
    """Every search space in `spec`, in file order (models, then data, then train)."""
    return [Param(_name(spec, f.path), f.path, f.space) for f in spaces.find(spec)]


def _name(spec: Spec, path: tuple[PathPart, ...]) -> str:
    """`('models', 0, 'layers', 2, 'units')` -> `mnist_mlp.layers[2].units`."""
    parts = list(path)
    text = ""
    if parts[:1] == ["models"] and len(parts) > 1:
        text = spec.models[int(parts[1])].name
        parts = parts[2:]
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


# ---- sampling ----------------------------------------------------------------------------

# How an Optuna trial draws each kind of space (https://optuna.readthedocs.io/en/stable/
# reference/generated/optuna.trial.Trial.html). Choice options are numbers (spaces only
# stand in for numbers), which `suggest_categorical` stores as they are.
SUGGEST: dict[type, Callable[[Any, str, Any], Any]] = {
    LogUniform: lambda t, n, s: t.suggest_float(n, s.low, s.high, log=True),
    Uniform: lambda t, n, s: t.suggest_float(n, s.low, s.high),
    IntRange: lambda t, n, s: t.suggest_int(n, s.low, s.high, step=s.step, log=s.log),
    Choice: lambda t, n, s: t.suggest_categorical(n, list(s.options)),
}


def suggest(trial: Any, params: list[Param]) -> dict[str, Any]:
    """One value per param, drawn by the trial's sampler."""
    return {p.name: SUGGEST[type(p.space)](trial, p.name, p.space) for p in params}


def grid(params: list[Param], path: str) -> dict[str, list[Any]]:
    """The grid sampler's search space; continuous ranges are refused with their location."""
    refused = [p for p in params if not p.discrete]
    if refused:
        raise PlanError(
            "`--sampler grid` needs a finite set of values for every search space",
            [
                Diagnostic(
                    code="E601",
                    message=f"`{p.space.kind_name()}(...)` at `{p.name}` is continuous; "
                    "a grid cannot list its values",
                    span=p.space.span,
                    help="write choice(a, b, ...) or int(low, high), or use --sampler random|tpe",
                )
                for p in refused
                if p.space.span is not None
            ],
            f"use --sampler random or tpe for {path}, or make the ranges discrete",
        )
    return {p.name: _grid_values(p.space) for p in params}


def _grid_values(space: Any) -> list[Any]:
    if isinstance(space, Choice):
        return list(space.options)
    return list(range(space.low, space.high + 1, space.step))


def grid_size(space: dict[str, list[Any]]) -> int:
    size = 1
    for values in space.values():
        size *= len(values)
    return size


# ---- substituting ------------------------------------------------------------------------


def substitute(spec: Spec, params: list[Param], values: dict[str, Any]) -> Spec:
    """`spec` with each param's space replaced by its value (copies along each path)."""
    for param in params:
        spec = _set(spec, param.path, values[param.name])
    return spec


def _set(node: Any, path: tuple[PathPart, ...], value: Any) -> Any:
    if not path:
        return value
    head, rest = path[0], path[1:]
    if isinstance(node, BaseModel):
        assert isinstance(head, str)
        return node.model_copy(update={head: _set(getattr(node, head), rest, value)})
    assert isinstance(head, int)
    items = list(node)
    items[head] = _set(items[head], rest, value)
    return type(node)(items) if isinstance(node, tuple) else items


def literal(value: Any) -> str | None:
    """Spec text for a number, or None when it has no plain spelling (then unparse)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return repr(value) if isinstance(value, float) else str(value)


def concrete(analysis: Analysis, params: list[Param], values: dict[str, Any]) -> Analysis:
    """The analysed spec with `values` written in place of the spaces (see module docstring)."""
    text = _patched_text(analysis.text, params, values)
    if text is not None:
        patched = analyze(text, analysis.path)
        if patched.errors:
            return patched  # the value does not fit its field: that trial's diagnostic
        wanted = strip_spans(substitute(analysis.spec, params, values))
        if strip_spans(patched.spec) == wanted:
            return patched
    with warnings.catch_warnings():  # pydantic warns on a value of the wrong type; the
        warnings.simplefilter("ignore")  # analysis below reports it as a diagnostic
        text = to_text(substitute(analysis.spec, params, values))
    return analyze(text, analysis.path)


def _patched_text(text: str, params: list[Param], values: dict[str, Any]) -> str | None:
    edits = []
    for param in params:
        written = literal(values[param.name])
        if written is None or param.space.span is None:
            return None
        edits.append((param.space.span.start, param.space.span.end, written))
    for start, end, written in sorted(edits, reverse=True):
        text = text[:start] + written + text[end:]
    return text
