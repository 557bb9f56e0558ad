"""Checks across blocks: every model/data/train combination that cannot train."""

from __future__ import annotations

import math
from collections.abc import Collection

from specc.diagnostics import Diagnostic, Related
from specc.input_checks import check_inputs
from specc.ir.base import Node
from specc.ir.data import AnyData, OneHot
from specc.ir.layers import Dense, fmt_shape
from specc.ir.losses import CategoricalCrossentropy, Loss
from specc.ir.spec import Spec
from specc.output_checks import check_outputs
from specc.shapes import ModelShapes
from specc.span import Span
from specc.token_checks import check_per_token


def check_spec(
    spec: Spec, shapes: dict[str, ModelShapes], text: str, written: Collection[str] = ()
) -> list[Diagnostic]:
    """`written`: top-level block words in the file; a written block that failed to build
    already has its own diagnostic, so it is not reported missing (E204) as well."""
    out: list[Diagnostic] = []
    end = Span.point(text, len(text))
    for block, example in (
        ("model", "model mlp {\n    input 28x28\n    flatten\n    dense 10 softmax\n}"),
        ("data", "data mnist_sample {\n    scale 1/255\n    batch 128 shuffle\n}"),
        ("train", "train {\n    loss sparse_categorical_crossentropy\n    epochs 5\n}"),
    ):
        missing = not spec.models if block == "model" else getattr(spec, block) is None
        missing = missing and block not in written
        if missing:
            out.append(
                Diagnostic(
                    code="E204",
                    message=f"the spec has no `{block}` block",
                    span=end,
                    help=f"add one, for example:\n{example}",
                )
            )
    out.extend(_duplicate_models(spec))
    if spec.train and spec.train.model and spec.model_named(spec.train.model) is None:
        names = ", ".join(f"`{m.name}`" for m in spec.models) or "none"
        out.append(
            Diagnostic(
                code="E205",
                message=f"there is no model named `{spec.train.model}`",
                span=spec.train.where("model") or end,
                help=f"models in this file: {names}",
            )
        )
    if spec.data is not None:
        data_shape, _, _ = spec.data.sample_facts()
        for name, info in shapes.items():
            several = len(info.inputs) > 1  # E409's business (specc/input_checks.py)
            if data_shape and not several and math.prod(data_shape) != math.prod(info.input):
                model = info.model
                written = (
                    model.input.written(data_shape)
                    if model.input
                    else f"input {fmt_shape(data_shape)}"
                )
                out.append(
                    Diagnostic(
                        code="E400",
                        message=(
                            f"model `{name}` takes inputs of {fmt_shape(info.input)}, but "
                            f"`{spec.data.kind_name()}` gives {fmt_shape(data_shape)}"
                        ),
                        span=(model.input.span if model.input else None) or end,
                        related=_rel(spec.data, "the data is declared here"),
                        help=f"use `{written}`",
                        fix=written,
                    )
                )
    out.extend(check_inputs(spec, end))
    out.extend(check_outputs(spec, shapes, end))
    out.extend(_loss_fits_output(spec, shapes, end))
    out.extend(check_per_token(spec, shapes, end))
    if spec.data is not None and spec.train is not None and not spec.train.outputs:
        # (several outputs: each output's loss decides its targets, specc/output_checks.py)
        has_one_hot = any(isinstance(t, OneHot) for t in spec.data.transforms)
        _, _, task = spec.data.sample_facts()
        if has_one_hot and task == "regression":
            transform = next(t for t in spec.data.transforms if isinstance(t, OneHot))
            out.append(
                Diagnostic(
                    code="E406",
                    message="`one_hot` needs class labels, but the data's target is real-valued",
                    span=transform.span or end,
                    help="remove `one_hot`, or declare the target as classes (`task=classification`)",
                )
            )
            return out
        if spec.train.main_loss.target == "class" and task in ("regression", "binary"):
            what = "real-valued" if task == "regression" else "0/1 values, not class numbers"
            out.append(
                Diagnostic(
                    code="E406",
                    message=(
                        f"`{spec.train.main_loss.kind_name()}` needs class numbers 0..C-1, but the "
                        f"data's target is {what}"
                    ),
                    span=spec.train.main_loss.span or end,
                    related=_rel(spec.data, f"the data is declared here (task {task})"),
                    help="use `mse`, `mae` or `huber` for real-valued targets"
                    if task == "regression"
                    else "use `binary_crossentropy` with `dense 1 sigmoid`, or `task=classification`",
                )
            )
        elif isinstance(spec.train.main_loss, CategoricalCrossentropy) and not has_one_hot:
            out.append(
                Diagnostic(
                    code="E406",
                    message="`categorical_crossentropy` needs one-hot targets, but the data gives class numbers",
                    span=spec.train.main_loss.span or end,
                    related=_rel(spec.data, "add `one_hot` in this block"),
                    help="add `one_hot` to the data block, or use `sparse_categorical_crossentropy`",
                )
            )
        elif has_one_hot and spec.train.main_loss.target != "onehot":
            transform = next(t for t in spec.data.transforms if isinstance(t, OneHot))
            out.append(
                Diagnostic(
                    code="E406",
                    message=f"`one_hot` targets don't fit `{spec.train.main_loss.kind_name()}`",
                    span=transform.span or end,
                    related=_rel(spec.train.main_loss, "the loss is declared here"),
                    help="remove `one_hot`, or use `categorical_crossentropy`",
                )
            )
    return out


def _last_units(info: ModelShapes) -> Span | None:
    last = next((i.layer for i in reversed(info.layers) if isinstance(i.layer, Dense)), None)
    return (last.where("units") if last is not None else None) or info.model.span


def _loss_fits_output(spec: Spec, shapes: dict[str, ModelShapes], end: Span) -> list[Diagnostic]:
    """E407 for the model's loss (each output's, for a model with several)."""
    if spec.train is None or spec.data is None:
        return []
    model = spec.model_named(spec.train.model)
    info = shapes.get(model.name) if model is not None else None
    if info is None:
        return []
    if not info.outputs:
        one_target = bool(spec.data.one_target_per_example)
        return loss_fits(spec.train.main_loss, info, spec.data, end, one_target)
    out = []
    for name, _ in info.outputs:
        node = spec.train.output_named(name)
        if node is not None and node.loss is not None:  # else E211
            view, who = info.for_output(name), f"output `{name}`"
            out.extend(loss_fits(node.loss, view, spec.data, end, True, who))
    return out


def loss_fits(
    loss: Loss,
    info: ModelShapes,
    data: AnyData,
    end: Span,
    one_target: bool,
    who: str | None = None,
) -> list[Diagnostic]:
    """E407: a class loss needs one output per class (one output is always loss 0); a 0/1
    loss compares each output with one target value, so with one target per example
    (`Data.one_target_per_example`, or an output of a model with several) it needs 1.
    `who`: how the message names what gives the output (default: the model)."""
    who = who or f"model `{info.model.name}`"
    if loss.target in ("class", "onehot") and info.output == (1,):
        # Softmax over one output is always 1: the loss is 0 and nothing is learned.
        return [
            Diagnostic(
                code="E407",
                message=(f"`{loss.kind_name()}` needs one output per class, but {who} gives 1"),
                span=_last_units(info) or end,
                related=_rel(loss, "the loss is declared here"),
                help="give the last layer one unit per class, or use `binary_crossentropy` "
                "with `dense 1 sigmoid` for a yes/no target",
            )
        ]
    if loss.target != "binary" or not one_target:
        return []
    if any(isinstance(t, OneHot) for t in data.transforms):
        return []  # one-hot rows with a 0/1 loss are E406's business
    if info.output == (1,):
        return []
    span = _last_units(info) or end
    _, classes, _ = data.sample_facts()
    other = "`sparse_categorical_crossentropy`" + (f" for {classes} classes" if classes else "")
    return [
        Diagnostic(
            code="E407",
            message=(
                f"`{loss.kind_name()}` needs 1 output per example, but {who} "
                f"gives {fmt_shape(info.output)}"
            ),
            span=span,
            related=_rel(loss, "the loss is declared here"),
            help=f"end with `dense 1 sigmoid` for a yes/no target, or use {other}",
        )
    ]


def _duplicate_models(spec: Spec) -> list[Diagnostic]:
    seen: dict[str, Node] = {}
    out: list[Diagnostic] = []
    for model in spec.models:
        if model.name in seen:
            out.append(
                Diagnostic(
                    code="E203",
                    message=f"there are two models named `{model.name}`",
                    span=model.where("name") or model.span or Span.point("", 0),
                    help="give each model its own name",
                    related=_rel(seen[model.name], "first defined here", "name"),
                )
            )
        seen[model.name] = model
    return out


def _rel(node: Node, message: str, field: str | None = None) -> tuple[Related, ...]:
    span = node.where(field)
    return (Related(span=span, message=message),) if span else ()
