"""The one capability gate: what a backend or an emit target cannot do, as E600/E601.

A feature is a short key: `<category>.<kind>` for every vocabulary item (`layer.conv2d`,
`schedule.one_cycle`, `metric.f1`) and a plain word for options (`warmup`, `clip_norm`,
`frozen_batchnorm`). `features(spec, model)` finds every feature a spec uses, with the node
that wrote it. Backends (`UNSUPPORTED` in each executor package) and targets
(`Target.unsupported`) declare the same way, as a table feature -> reason; everything not
listed must work. `gate` turns the features a table refuses into diagnostics pointing at
the spec; `search_spaces` is E601 for what only `specc sweep` can run.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from specc.diagnostics import Diagnostic
from specc.ir.base import Node
from specc.ir.data import CSV, AnyData, AnyTransform
from specc.ir.inits import Init
from specc.ir.layers import AnyLayer
from specc.ir.losses import AnyLoss
from specc.ir.optimizers import AnyOptimizer
from specc.ir.registry import canonical
from specc.ir.schedules import AnySchedule
from specc.ir.sequence import Recurrent, mask_reaches
from specc.ir.spec import Model, Spec, flat_layers
from specc.ir.training import AnyMetric
from specc.lowering.spaces import find
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
    "csv.image_files": "image files named by a CSV column (an image input of several)",
    "rmsprop.momentum": "RMSprop with momentum",
    "sgd_momentum_schedule": "SGD momentum with a changing learning rate (PyTorch form)",
    "amsgrad": "Adam's AMSGrad variant",
    "rmsprop.centered": "centered RMSprop",
    "precision.bf16": "bf16 mixed precision",
    "precision.fp16": "`precision fp16` (fp16 mixed precision)",
    "precision.fp16.cpu": "`precision fp16` on the CPU (it needs a GPU)",
    "compile.on": "forced graph compilation",
    "graph": "models that branch or merge (residual, parallel, merges)",
    "causal": "causal self-attention (`attention causal`, `transformer_encoder causal`)",
    "recurrent.stacked": "stacked recurrent layers (`lstm 64 layers=2 dropout=0.2`)",
    "time_major": "`conv1d` and 1-D pools along a token sequence's time axis",
    "recurrent.mask": "`lstm`/`gru` skipping padded steps (after `embedding ... pad=P`)",
    "position_embedding.sinusoidal": "fixed sinusoidal positions (`position_embedding sinusoidal`)",
    "inputs.several": "models with several inputs",
    "per_token": "per-step predictions (an LxV output: one class per token)",
    "loss_ignore": "an ignored target id (`ignore=` of the loss)",
    "loss_ignore.outputs": "an ignored target id in a loss of one of several outputs",
    "loss_ignore.smoothing": "an ignored target id with label smoothing",
    "csv_text": "a CSV text column (`data csv ... text=COLUMN`)",
}

Use = tuple[str, Node, str | None]  # (feature key, node that wrote it, field name or None)


def layer_inits(layer: Node) -> Iterator[Use]:
    """`init.<kind>` for the initialiser of each array a layer draws (kernel, bias)."""
    for field in ("init", "bias_init"):
        init = getattr(layer, field, None)
        if init is not None and (field == "init" or getattr(layer, "bias", True)):
            yield f"init.{init.kind}", init, field


def all_features() -> list[str]:
    """Every feature key, in a stable order: kinds by category, then options."""
    keys = [f"{cat}.{kind}" for cat, union in CATEGORIES.items() for kind in canonical(union)]
    return keys + list(OPTIONS)


def features(spec: Spec, model: Model) -> Iterator[Use]:
    """Every feature `spec` uses when training `model`."""
    if model.init is not None:
        yield "init_from", model.init, None
    if model.is_graph:
        yield "graph", model, None
    if len(model.inputs) > 1:
        yield "inputs.several", model.inputs[1], None
    if _predicts_every_step(model):
        yield "per_token", model.layers[-1], None
    tokens = any(i.dtype == "int" for i in model.inputs)  # layers after an embedding
    for layer in flat_layers(list(model.layers), blocks=True):
        yield f"layer.{layer.kind_name()}", layer, None
        if layer.takes_activation:
            activation = layer.fused_activation()
            if activation is not None:
                yield f"layer.{activation.kind_name()}", activation, None
            yield from layer_inits(layer)
        if getattr(layer, "causal", False):
            yield "causal", layer, "causal"
        if tokens and getattr(type(layer), "reads_time_major", False):
            yield "time_major", layer, None
        for key, field in layer.options():
            yield key, layer, field
        if layer.frozen:
            yield (
                ("frozen_batchnorm" if layer.kind_name() == "batchnorm" else "frozen"),
                layer,
                "frozen",
            )
    if not model.is_graph:  # the padding mask follows a chain (docs/semantics.md#masking)
        chain = flat_layers(list(model.layers))
        for layer, masked in zip(chain, mask_reaches(chain), strict=True):
            if masked and isinstance(layer, Recurrent):
                yield "recurrent.mask", layer, None
    if spec.data is not None:
        yield f"data.{spec.data.kind}", spec.data, None
        if getattr(spec.data, "text", None) is not None:
            yield "csv_text", spec.data, "text"
        if isinstance(spec.data, CSV) and len(model.inputs) > 1:
            shapes = {i.value_name: tuple(i.shape) for i in model.inputs}
            for group in spec.data.columns:
                if group.input in shapes and group.file_column(shapes[group.input]):
                    yield "csv.image_files", group, None
        if spec.data.batch.drop_last:
            yield "drop_last", spec.data.batch, "drop_last"
        for transform in spec.data.transforms:
            yield f"transform.{transform.kind}", transform, None
    if spec.train is not None:
        yield from _train_features(spec)


def _predicts_every_step(model: Model) -> bool:
    """Whether the model's output is a token sequence (LxV), docs/semantics.md#per-token."""
    from specc.ir.sequence import is_sequence
    from specc.shapes import infer

    shapes, _ = infer(model)
    return shapes is not None and is_sequence(shapes.output)


def _train_features(spec: Spec) -> Iterator[Use]:
    train = spec.train
    assert train is not None
    opt = train.optimizer
    losses = [train.loss] if train.loss else [o.loss for o in train.outputs if o.loss]
    for loss in losses:
        yield f"loss.{loss.kind_name()}", loss, None
        if getattr(loss, "ignore", None) is not None:
            yield "loss_ignore", loss, "ignore"
            if train.outputs:
                yield "loss_ignore.outputs", loss, "ignore"
            if getattr(loss, "label_smoothing", 0):
                yield "loss_ignore.smoothing", loss, "ignore"
        if getattr(loss, "label_smoothing", 0):
            key = {
                "binary_crossentropy": "label_smoothing.binary",
                "sparse_categorical_crossentropy": "label_smoothing.sparse",
            }.get(loss.kind_name(), "label_smoothing")
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
    for metric in [*train.metrics, *(m for out in train.outputs for m in out.metrics)]:
        yield f"metric.{metric.kind}", metric, None
    if train.early_stopping is not None:
        yield "early_stopping", train.early_stopping, None
    if train.checkpoint is not None:
        yield f"checkpoint.{train.checkpoint.save}", train.checkpoint, None
    if train.precision != "fp32":
        yield f"precision.{train.precision}", train, "precision"
    if train.compile == "on":
        yield "compile.on", train, "compile"


def run_features(spec: Spec, model: Model, precision: str, device: str | None) -> Iterator[Use]:
    """The spec's features as a run resolves them: flags may change precision and device."""
    assert spec.train is not None
    for key, node, field in features(spec, model):
        if not key.startswith("precision."):
            yield key, node, field
    if precision != "fp32":
        yield f"precision.{precision}", spec.train, "precision"
    if precision == "fp16" and device == "cpu":
        yield "precision.fp16.cpu", spec.train, "precision"


def gate(uses: Iterable[Use], table: Mapping[str, str], who: str, text: str) -> list[Diagnostic]:
    """E600 at the spec for every used feature `table` refuses; `who`: "the `keras` target"."""
    out: list[Diagnostic] = []
    seen: set[tuple[str, int]] = set()
    for key, node, field in uses:
        reason = table.get(key)
        if reason is None or (key, id(node)) in seen:
            continue
        seen.add((key, id(node)))
        out.append(
            Diagnostic(
                code="E600",
                message=f"{who} cannot {'run' if 'backend' in who else 'express'} {describe(key)}",
                span=node.where(field) or _start(text),
                help=reason,
            )
        )
    return out


def unsupported(analysis: Any, target: str, model: str | None = None) -> list[Diagnostic]:
    """E600 for every feature of the spec that emit `target` cannot express, at its span."""
    from specc.emit.targets import get_target

    tgt = get_target(target)
    chosen = analysis.spec.model_named(model)
    if chosen is None:
        return []
    uses = features(analysis.spec, chosen)
    return gate(uses, tgt.unsupported, f"the `{tgt.name}` target", analysis.text)


def search_spaces(analysis: Any) -> list[Diagnostic]:
    """E601 for every search space left in the spec: a training needs concrete numbers."""
    return [
        Diagnostic(
            code="E601",
            message=f"`{found.field}` is a search space (`{found.space.kind}(...)`); "
            "a training needs a number",
            span=found.space.span or found.owner.where(found.field) or _start(analysis.text),
            help=f"write a number, or search it with `specc sweep {analysis.path}`",
        )
        for found in find(analysis.spec)
    ]


def describe(key: str) -> str:
    if key in OPTIONS:
        return OPTIONS[key]
    category, _, kind = key.partition(".")
    return f"{category} `{kind}`"


def _start(text: str) -> Span:
    return Span.point(text, 0)
