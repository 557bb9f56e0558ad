"""Warnings for classic mistakes: the spec trains, but probably not as intended."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator

from specc.diagnostics import Diagnostic, Related, Severity
from specc.ir.data import CSV, Synthetic
from specc.ir.layers import Activation, Dense
from specc.ir.losses import NLL, BinaryCrossentropy, Loss
from specc.ir.spaces import is_space
from specc.ir.spec import Spec
from specc.lowering.head import output_activation
from specc.shapes import LayerInfo, ModelShapes
from specc.span import Span

LR_RANGE = (1e-6, 1.0)


def _activations(shapes: ModelShapes) -> list[Activation]:
    """Every activation, standalone or as an argument, in order."""
    out = []
    for info in shapes.layers:
        layer = info.layer
        act = layer if isinstance(layer, Activation) else layer.fused_activation()
        if isinstance(act, Activation):
            out.append(act)
    return out


def _final_activation(shapes: ModelShapes) -> tuple[str, Span | None] | None:
    """The activation producing the model's output (specc.lowering.head), with its span."""
    node = output_activation(shapes)
    return (node.kind_name(), node.span) if node is not None else None


def _warn(
    code: str, message: str, span: Span | None, help: str, related: tuple[Related, ...] = ()
) -> Diagnostic:
    return Diagnostic(
        code=code,
        severity=Severity.WARNING,
        message=message,
        span=span or Span(line=1, column=1, end_line=1, end_column=1, start=0, end=0),
        help=help,
        related=related,
    )


def softmax_twice(spec: Spec, shapes: ModelShapes) -> Iterator[Diagnostic]:
    seen = [(a.kind_name(), a.span) for a in _activations(shapes) if type(a).normalizes]
    for (_, first), (kind, span) in itertools.pairwise(seen):
        yield _warn(
            "W500",
            f"`{kind}` is applied after another softmax",
            span,
            "a softmax of probabilities flattens them towards uniform; keep only the last one",
            (Related(span=first, message="first softmax here"),) if first else (),
        )


def sigmoid_multiclass(spec: Spec, shapes: ModelShapes) -> Iterator[Diagnostic]:
    final = _final_activation(shapes)
    multiclass = spec.train is not None and spec.train.main_loss.target in ("class", "onehot")
    if multiclass and final and final[0] == "sigmoid" and shapes.output[-1] > 1:
        assert spec.train is not None
        yield _warn(
            "W501",
            f"sigmoid output with `{spec.train.main_loss.kind_name()}`: classes are not independent",
            final[1],
            "use `softmax` for one-of-N classes, or `binary_crossentropy` for independent labels",
        )


def units_vs_classes(spec: Spec, shapes: ModelShapes) -> Iterator[Diagnostic]:
    if spec.data is None or spec.train is None or not shapes.layers:
        return
    _, classes, task = spec.data.sample_facts()
    one_target = isinstance(spec.data, (CSV, Synthetic))
    loss = spec.train.main_loss
    last = shapes.last
    if last is None:
        return
    span = _units_span(shapes)
    units = shapes.output[-1] if shapes.output else 0
    if isinstance(loss, BinaryCrossentropy) and units != 1:
        yield _warn(
            "W502",
            f"binary cross-entropy expects 1 output, but the model gives {units}",
            span,
            "end with `dense 1 sigmoid`",
        )
    elif one_target and task == "regression" and loss.target == "real" and units != 1:
        # Synthetic and CSV regression data have one target value per example.
        yield _warn(
            "W502",
            f"the data has 1 target value per example, but the model gives {units}",
            span,
            "end with `dense 1` for a single regression target",
        )
    elif (
        loss.target in ("class", "onehot")
        and classes
        and units != classes
        and len(shapes.output) == 1
    ):
        diag = _warn(
            "W502",
            f"the last layer gives {units} outputs, but `{spec.data.kind_name()}` has {classes} classes",
            span,
            f"use {classes} units in the last layer",
        )
        yield diag.model_copy(update={"fix": str(classes), "fix_span": _units_arg_span(last)})


def _units_span(shapes: ModelShapes) -> Span | None:
    for info in reversed(shapes.layers):
        if info.layer.takes_activation:  # dense or a convolution: its width argument
            return info.layer.where(type(info.layer).positional[0])
    return shapes.last.layer.span if shapes.last is not None else None


def _units_arg_span(info: LayerInfo) -> Span | None:
    return info.layer.where("units") if isinstance(info.layer, Dense) else None


def learning_rate(spec: Spec, shapes: ModelShapes) -> Iterator[Diagnostic]:
    if spec.train is None:
        return
    opt = spec.train.optimizer
    lr = opt.lr
    if is_space(lr):
        return
    low, high = LR_RANGE
    if not low <= float(lr) <= high:  # type: ignore[arg-type]
        yield _warn(
            "W503",
            f"learning rate {float(lr):g} is outside the usual range {low:g}..{high:g}",  # type: ignore[arg-type]
            opt.where("lr"),
            "typical values: 1e-3 for adam/rmsprop, 1e-2..1e-1 for sgd",
        )


def loss_vs_task(spec: Spec, shapes: ModelShapes) -> Iterator[Diagnostic]:
    if spec.data is None or spec.train is None or spec.train.outputs:
        return  # several outputs: each output's loss decides its target (docs/data.md)
    _, _, task = spec.data.sample_facts()
    loss: Loss = spec.train.main_loss
    if task == "regression" and loss.target == "binary":  # class-index losses: E406
        yield _warn(
            "W504",
            f"`{loss.kind_name()}` is a classification loss, but the data's target is real-valued",
            loss.span,
            "use `mse`, `mae` or `huber` for regression",
        )
    if task in ("classification", "binary") and loss.target == "real":
        yield _warn(
            "W504",
            f"`{loss.kind_name()}` is a regression loss, but the data's target is class labels",
            loss.span,
            "use `sparse_categorical_crossentropy` (or `binary_crossentropy` for 0/1 targets)",
        )


def loss_vs_activation(spec: Spec, shapes: ModelShapes) -> Iterator[Diagnostic]:
    if spec.train is None:
        return
    loss = spec.train.main_loss
    final = _final_activation(shapes)
    kind = final[0] if final else None
    if isinstance(loss, NLL) and kind != "log_softmax":
        yield _warn(
            "W505",
            "`nll` expects log-probabilities, but the model does not end with `log_softmax`",
            loss.span,
            "end the model with `log_softmax`, or use `sparse_categorical_crossentropy`",
        )
    elif kind == "log_softmax" and not isinstance(loss, NLL):
        yield _warn(
            "W505",
            f"the model ends with `log_softmax`, which `{loss.kind_name()}` does not expect",
            final[1] if final else None,
            "use the `nll` loss, or end with `softmax`",
        )
    elif kind == "softmax" and loss.target in ("real", "binary"):
        yield _warn(
            "W505",
            f"the model ends with `softmax`, but `{loss.kind_name()}` is not a multi-class loss",
            final[1] if final else None,
            "drop the softmax, or use `sparse_categorical_crossentropy`",
        )


def monitored_metric(spec: Spec, shapes: ModelShapes) -> Iterator[Diagnostic]:
    if spec.train is None or spec.data is None:
        return
    names = {"loss"} | {m.kind_name() for m in spec.train.metrics}
    for out in spec.train.outputs:  # Keras's names: `digit_loss`, `digit_accuracy`
        names |= {f"{out.name}_loss"} | {f"{out.name}_{m.kind_name()}" for m in out.metrics}
    watchers = [spec.train.early_stopping, spec.train.checkpoint, spec.train.schedule]
    for node in watchers:
        monitor = getattr(node, "monitor", None)
        if node is None or monitor is None:
            continue
        base = monitor.removeprefix("val_")
        if monitor.startswith("val_") and spec.data.validation == 0:
            yield _warn(
                "W506",
                f"`{monitor}` is watched, but the data has no validation split",
                node.where("monitor"),
                "add `validation 0.1` to the data block, or watch a training metric",
            )
        elif base not in names:
            known = ", ".join(sorted(names | {f"val_{n}" for n in names}))
            yield _warn(
                "W506",
                f"`{monitor}` is watched, but it is not a reported metric",
                node.where("monitor"),
                f"add it to `metrics`, or watch one of: {known}",
            )


def unused_values(spec: Spec, shapes: ModelShapes) -> Iterator[Diagnostic]:
    for unused in shapes.unused:
        yield _warn(
            "W507",
            f"{unused.what} is never used",
            unused.where,
            "merge it (`concat a b`, `add a b`) or remove it; its weights would never learn",
        )


LINTS: tuple[Callable[[Spec, ModelShapes], Iterator[Diagnostic]], ...] = (
    softmax_twice,
    sigmoid_multiclass,
    units_vs_classes,
    learning_rate,
    loss_vs_task,
    loss_vs_activation,
    monitored_metric,
    unused_values,
)


def lint(spec: Spec, shapes: dict[str, ModelShapes]) -> list[Diagnostic]:
    out: list[Diagnostic] = []
    for model_shapes in shapes.values():
        for view, seen, rules in output_views(spec, model_shapes):
            for rule in rules:
                out.extend(rule(view, seen))
    # Spec-wide rules (learning rate, monitors) would repeat per model: keep one of each.
    unique: dict[tuple[str, int, str], Diagnostic] = {}
    for diag in out:
        unique.setdefault((diag.code, diag.span.start, diag.message), diag)
    return list(unique.values())


Rule = Callable[[Spec, ModelShapes], Iterator[Diagnostic]]
PER_OUTPUT: tuple[Rule, ...] = (
    softmax_twice,
    sigmoid_multiclass,
    units_vs_classes,
    loss_vs_task,
    loss_vs_activation,
)
"""The rules about one output and its loss: run once per output of a model with several."""


def output_views(
    spec: Spec, shapes: ModelShapes
) -> Iterator[tuple[Spec, ModelShapes, tuple[Rule, ...]]]:
    """The spec and model as each output sees them (its loss, the layers it reads), with
    the rules to run there; a model with one output is its own only view."""
    if not shapes.outputs or spec.train is None:
        yield spec, shapes, LINTS
        return
    yield spec, shapes, tuple(rule for rule in LINTS if rule not in PER_OUTPUT)
    for name, _ in shapes.outputs:
        node = spec.train.output_named(name)
        if node is None or node.loss is None:
            continue  # E211
        train = spec.train.model_copy(update={"loss": node.loss})
        update: dict[str, object] = {"train": train}
        if isinstance(spec.data, Synthetic):  # every target derives from the latent class
            # of `classes` clusters whatever the task (specc/data/outputs.py)
            task = "binary" if node.loss.target == "binary" else "classification"
            update["data"] = spec.data.model_copy(update={"task": task})
        yield spec.model_copy(update=update), shapes.for_output(name), PER_OUTPUT
