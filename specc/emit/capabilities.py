"""Which IR features each emit target can express, and the E600/E601 diagnostics.

A feature is a short key: `<category>.<kind>` for every vocabulary item (`layer.conv2d`,
`schedule.one_cycle`, `metric.f1`) and a plain word for options (`warmup`, `clip_norm`,
`frozen_batchnorm`). `features(spec, model)` finds every feature a spec uses, with the node
that wrote it, so a target that cannot express one gets a diagnostic pointing at it.
Targets list what they cannot do in `Target.unsupported`; everything else is supported.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from specc.diagnostics import Diagnostic
from specc.ir.base import Node
from specc.ir.data import AnyData, AnyTransform
from specc.ir.inits import Init
from specc.ir.layers import AnyLayer, Conv2D, Dense
from specc.ir.losses import AnyLoss
from specc.ir.optimizers import AnyOptimizer
from specc.ir.registry import canonical
from specc.ir.schedules import AnySchedule
from specc.ir.spaces import is_space
from specc.ir.spec import Model, Spec, flat_layers
from specc.ir.training import AnyMetric
from specc.span import Span

# Category -> the IR union whose kinds are features of that category.
CATEGORIES: dict[str, Any] = {
    "layer": AnyLayer,
    "init": Init,
    "loss": AnyLoss,
    "optimizer": AnyOptimizer,
    "schedule": AnySchedule,
    "metric": AnyMetric,
    "data": AnyData,
    "transform": AnyTransform,
}

# Options that are not kinds, with what they mean (shown by `specc targets`).
OPTIONS: dict[str, str] = {
    "init_from": "`init from` a previous run's weights",
    "frozen": "`frozen` layers",
    "frozen_batchnorm": "`frozen` batchnorm (batch statistics, no running update)",
    "warmup": "learning-rate warm-up",
    "early_stopping": "early stopping",
    "checkpoint.best": "keep the best epoch's weights",
    "checkpoint.last": "save every epoch's weights",
    "weight_decay": "coupled (L2) weight decay",
    "clip_norm": "gradient clipping by global norm",
    "clip_value": "gradient clipping by value",
    "clip_both": "`clip_norm` and `clip_value` together",
    "label_smoothing": "label smoothing (categorical)",
    "label_smoothing.binary": "label smoothing of binary targets",
    "label_smoothing.sparse": "label smoothing of class-index targets",
    "drop_last": "skipping the last, smaller batch",
    "rmsprop.momentum": "RMSprop with momentum",
    "sgd_momentum_schedule": "SGD momentum with a changing learning rate (PyTorch form)",
    "amsgrad": "Adam's AMSGrad variant",
    "rmsprop.centered": "centered RMSprop",
    "precision.bf16": "bf16 mixed precision",
    "precision.fp16": "fp16 mixed precision",
    "compile.on": "forced graph compilation",
}

Use = tuple[str, Node, str | None]  # (feature key, node that wrote it, field name or None)


def all_features() -> list[str]:
    """Every feature key, in a stable order: kinds by category, then options."""
    keys = [f"{cat}.{kind}" for cat, union in CATEGORIES.items() for kind in canonical(union)]
    return keys + list(OPTIONS)


def features(spec: Spec, model: Model) -> Iterator[Use]:
    """Every feature `spec` uses when training `model`."""
    if model.init is not None:
        yield "init_from", model.init, None
    for layer in flat_layers(list(model.layers)):
        yield f"layer.{layer.kind_name()}", layer, None
        if isinstance(layer, (Dense, Conv2D)):
            if layer.activation is not None:
                yield f"layer.{layer.activation.kind}", layer.activation, None
            yield f"init.{layer.init.kind}", layer.init, "init"
            if layer.bias:
                yield f"init.{layer.bias_init.kind}", layer.bias_init, "bias_init"
        if layer.frozen:
            yield (
                ("frozen_batchnorm" if layer.kind_name() == "batchnorm" else "frozen"),
                layer,
                "frozen",
            )
    if spec.data is not None:
        yield f"data.{spec.data.kind}", spec.data, None
        if spec.data.batch.drop_last:
            yield "drop_last", spec.data.batch, "drop_last"
        for transform in spec.data.transforms:
            yield f"transform.{transform.kind}", transform, None
    if spec.train is not None:
        yield from _train_features(spec)


def _train_features(spec: Spec) -> Iterator[Use]:
    train = spec.train
    assert train is not None
    loss, opt = train.loss, train.optimizer
    yield f"loss.{loss.kind}", loss, None
    if getattr(loss, "label_smoothing", 0):
        key = {
            "binary_crossentropy": "label_smoothing.binary",
            "sparse_categorical_crossentropy": "label_smoothing.sparse",
        }.get(loss.kind, "label_smoothing")
        yield key, loss, "label_smoothing"
    yield f"optimizer.{opt.kind}", opt, None
    if opt.weight_decay and not opt.decoupled_weight_decay:
        yield "weight_decay", opt, "weight_decay"
    for clip in ("clip_norm", "clip_value"):
        if getattr(opt, clip) is not None:
            yield clip, opt, clip
    if opt.clip_norm is not None and opt.clip_value is not None:
        yield "clip_both", opt, "clip_value"
    if getattr(opt, "amsgrad", False):
        yield "amsgrad", opt, "amsgrad"
    if getattr(opt, "momentum", 0.0) and opt.kind == "rmsprop":
        yield "rmsprop.momentum", opt, "momentum"
    if getattr(opt, "centered", False):
        yield "rmsprop.centered", opt, "centered"
    changing_lr = train.schedule.kind != "constant" or train.warmup is not None
    if opt.kind == "sgd" and bool(getattr(opt, "momentum", 0.0)) and changing_lr:
        yield "sgd_momentum_schedule", opt, "momentum"
    yield f"schedule.{train.schedule.kind}", train.schedule, None
    if train.warmup is not None:
        yield "warmup", train.warmup, None
    for metric in train.metrics:
        yield f"metric.{metric.kind}", metric, None
    if train.early_stopping is not None:
        yield "early_stopping", train.early_stopping, None
    if train.checkpoint is not None:
        yield f"checkpoint.{train.checkpoint.save}", train.checkpoint, None
    if train.precision != "fp32":
        yield f"precision.{train.precision}", train, "precision"
    if train.compile == "on":
        yield "compile.on", train, "compile"


def unsupported(analysis: Any, target: str, model: str | None = None) -> list[Diagnostic]:
    """E600 for every feature of the spec that `target` cannot express, at its span."""
    from specc.emit.targets import get_target

    tgt = get_target(target)
    spec: Spec = analysis.spec
    chosen = spec.model_named(model)
    if chosen is None:
        return []
    out: list[Diagnostic] = []
    seen: set[tuple[str, int]] = set()
    for key, node, field in features(spec, chosen):
        reason = tgt.unsupported.get(key)
        if reason is None or (key, id(node)) in seen:
            continue
        seen.add((key, id(node)))
        out.append(
            Diagnostic(
                code="E600",
                message=f"the `{tgt.name}` target cannot express {_describe(key)}",
                span=node.where(field) or _start(analysis.text),
                help=reason,
            )
        )
    return out


def search_spaces(analysis: Any) -> list[Diagnostic]:
    """E601 for every search space left in the spec: a script needs concrete numbers."""
    out: list[Diagnostic] = []
    for node, field, value in _walk(analysis.spec):
        if is_space(value):
            out.append(
                Diagnostic(
                    code="E601",
                    message=f"`{field}` is a search space (`{value.kind}(...)`); a script needs a number",
                    span=value.span or node.where(field) or _start(analysis.text),
                    help="write a number, or run `specc sweep` to find one first",
                )
            )
    return out


def _walk(node: Node) -> Iterator[tuple[Node, str, Any]]:
    for name in type(node).model_fields:
        if name in ("span", "field_spans"):
            continue
        value = getattr(node, name)
        items = value if isinstance(value, list) else [value]
        for item in items:
            yield node, name, item
            if isinstance(item, Node) and not is_space(item):
                yield from _walk(item)


def _describe(key: str) -> str:
    if key in OPTIONS:
        return OPTIONS[key]
    category, _, kind = key.partition(".")
    return f"{category} `{kind}`"


def _start(text: str) -> Span:
    return Span.point(text, 0)
