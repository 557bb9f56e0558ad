"""E411: per-step predictions and next-token targets (docs/semantics.md#per-token).

A model whose output is a token sequence (LxV: `dense V` after `lstm ... sequences=true`)
predicts one class per step; it trains only with `sparse_categorical_crossentropy` against
one class id per step, which a text corpus gives (`data corpus`, `data synthetic_corpus`).
A corpus's next-token targets in turn need such a model.
"""

from __future__ import annotations

from specc.diagnostics import Diagnostic, Related
from specc.ir.data import Data
from specc.ir.layer import fmt_shape
from specc.ir.losses import SparseCategoricalCrossentropy
from specc.ir.sequence import is_sequence
from specc.ir.spec import Spec
from specc.shapes import ModelShapes
from specc.span import Span


def steps_predicted(shapes: ModelShapes) -> int | None:
    """L when the model predicts a class at each of L steps (an LxV output), else None:
    the data's class targets are then (N, L)."""
    return shapes.output[0] if is_sequence(shapes.output) else None


def check_per_token(spec: Spec, shapes: dict[str, ModelShapes], end: Span) -> list[Diagnostic]:
    """E411 for the trained model: its per-step output, the loss and the data must agree."""
    if spec.train is None:
        return []
    model = spec.model_named(spec.train.model)
    info = shapes.get(model.name) if model is not None else None
    if info is None:
        return []
    last = info.layers[-1].layer if info.layers else None
    where = (last.span if last is not None else None) or info.model.span or end
    per_step = is_sequence(info.output)
    loss = spec.train.loss
    if loss is None:  # several outputs: each has its own loss (specc/output_checks.py)
        return []
    if per_step and not isinstance(loss, SparseCategoricalCrossentropy):
        return [
            Diagnostic(
                code="E411",
                message=f"model `{info.model.name}` predicts every step "
                f"({fmt_shape(info.output)}), but `{loss.kind_name()}` scores one prediction "
                "per example",
                span=loss.span or end,
                related=(Related(span=where, message=f"the model gives {fmt_shape(info.output)}"),),
                help="per-step predictions train with `sparse_categorical_crossentropy` "
                "(one class id per step)",
            )
        ]
    data = spec.data
    if data is None or data.one_target_per_example is None:
        return []
    if per_step and data.one_target_per_example:
        return [_mismatch(info, data, where, end, "one target per example")]
    if not per_step and not data.one_target_per_example:
        return [_mismatch(info, data, where, end, "a next-token target at every step")]
    return []


def _mismatch(info: ModelShapes, data: Data, where: Span, end: Span, gives: str) -> Diagnostic:
    kind = data.kind_name()
    if gives.startswith("one"):
        message = (
            f"model `{info.model.name}` predicts every step ({fmt_shape(info.output)}), but "
            f"`{kind}` gives {gives}"
        )
        help = "end with one prediction per example (`lstm H` without `sequences=true`, or "
        help += "`global_avgpool`, then `dense CLASSES`), or train on a text corpus"
    else:
        message = (
            f"`{kind}` gives {gives}, but model `{info.model.name}` outputs "
            f"{fmt_shape(info.output)} per example"
        )
        help = "predict every step: `lstm H sequences=true` (or `gru`), then `dense VOCAB`"
    return Diagnostic(
        code="E411",
        message=message,
        span=where,
        related=(Related(span=data.span, message="the data is declared here"),)
        if data.span
        else (),
        help=help,
    )
