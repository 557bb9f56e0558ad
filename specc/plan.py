"""From an analysed spec and the command's flags to one resolved, immutable `RunPlan`.

Every backend trains a `RunPlan`, never the raw spec plus flags: the overrides are applied
once here (and recorded in the run directory), search spaces and backend gaps are refused
here with located diagnostics (the shared gate of specc/lowering/capabilities.py), and the
model is lowered once (specc/lowering: named steps, weights, the prediction head) so the
backends cannot disagree about it.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from specc.analysis import Analysis
from specc.data.outputs import OutputTarget
from specc.diagnostics import Diagnostic, Severity
from specc.errors import PlanError, UsageError
from specc.ir.data import AnyData, Augment
from specc.ir.losses import Loss
from specc.ir.spec import Model, Spec
from specc.ir.training import Metric, Train
from specc.lowering import Lowered, LoweredOutput, lower
from specc.lowering.capabilities import gate, run_features, search_spaces
from specc.lowering.head import Head
from specc.shapes import ModelShapes

CompileMode = Literal["auto", "on", "off"]
Precision = Literal["fp32", "bf16", "fp16"]


@dataclass(frozen=True)
class RunOptions:
    """What the command line (or a caller of `specc.run`) overrides; None keeps the spec's."""

    backend: str = "torch"
    device: str | None = None
    epochs: int | None = None
    batch_size: int | None = None
    seed: int | None = None
    data: str | None = None
    model: str | None = None
    out: str | None = None
    resume: str | None = None
    quiet: bool = False
    json: bool = False
    limit: int | None = None
    compile: CompileMode | None = None
    precision: Precision | None = None
    download: bool = True
    strict: bool = False  # refuse a spec with lint warnings, as `specc check --strict`
    sync_batchnorm: bool = False  # distributed: batch statistics over every rank's slice


@dataclass(frozen=True)
class OutputPlan:
    """One named output as a backend trains it: loss, weight in the total, metrics."""

    name: str
    loss: Loss
    weight: float
    metrics: tuple[Metric, ...]
    lowered: LoweredOutput


@dataclass(frozen=True)
class RunPlan:
    """Everything a backend needs to train, resolved. Read-only by construction."""

    spec: Spec
    model: Model
    shapes: ModelShapes
    train: Train
    data: AnyData
    backend: str
    epochs: int
    batch_size: int
    seed: int
    device: str
    compile: CompileMode
    precision: Precision
    text: str
    path: str
    options: RunOptions = field(default_factory=RunOptions)
    overrides: dict[str, Any] = field(default_factory=dict)
    """Flag name -> value for every flag that changed the spec (shown in the run record)."""

    @property
    def spec_dir(self) -> Path | None:
        """Directory relative paths in the spec (data files, `init from`) start from."""
        if self.path in ("<spec>", "-", ""):
            return None
        return Path(self.path).resolve().parent

    @functools.cached_property
    def lowered(self) -> Lowered:
        """The model as both backends build it (channels-first; the TensorFlow executor
        applies `specc.lowering.layout.channels_last` itself)."""
        losses = {o.name: o.loss for o in self.train.outputs if o.loss is not None}
        return lower(self.shapes, self.train.main_loss, losses)

    @functools.cached_property
    def outputs(self) -> tuple[OutputPlan, ...]:
        """A model with `output` blocks: how each output trains, in the model's order
        (empty for a model with one output)."""
        out = []
        for lowered in self.lowered.outputs:
            node = self.train.output_named(lowered.name)
            assert node is not None and node.loss is not None  # E211 else
            out.append(
                OutputPlan(
                    lowered.name, node.loss, float(node.weight), tuple(node.metrics), lowered
                )
            )
        return tuple(out)

    def output_targets(self) -> list[OutputTarget] | None:
        """What the data must give per output (None: one output, one target)."""
        if not self.outputs:
            return None
        return [
            OutputTarget(o.name, o.loss.target, math.prod(o.lowered.shape)) for o in self.outputs
        ]

    @property
    def fused_activation(self) -> Head | None:
        """The final softmax/sigmoid the loss takes logits for (the prediction head)."""
        return self.lowered.head

    @property
    def augment(self) -> Augment | None:
        return next((t for t in self.data.transforms if isinstance(t, Augment)), None)

    def resolved(self) -> dict[str, Any]:
        """The values the run actually used, for the run record."""
        return {
            "model": self.model.name,
            "backend": self.backend,
            "epochs": self.epochs,
            "batch_size": self.batch_size,
            "seed": self.seed,
            "device": self.device,
            "compile": self.compile,
            "precision": self.precision,
            "data": self.options.data or self.data.kind,
            "limit": self.options.limit,
            "overrides": dict(self.overrides),
        }


def make_plan(analysis: Analysis, options: RunOptions) -> RunPlan:
    """Resolve `analysis` + `options` into a RunPlan, or raise PlanError/UsageError."""
    if not analysis.ok:
        raise PlanError(
            f"{analysis.path} has {analysis.error_count} error(s); nothing was trained",
            analysis.errors,
            "fix them (`specc check` shows the same list)",
            source=(analysis.path, analysis.text),
        )
    warnings = [d for d in analysis.diagnostics if d.severity is Severity.WARNING]
    if options.strict and warnings:
        raise PlanError(
            f"{analysis.path} has {analysis.warning_count} warning(s) and --strict refuses "
            "them; nothing was trained",
            warnings,
            "fix them, or run without --strict",
        )
    spec = analysis.spec
    model = spec.model_named(options.model)
    if model is None:
        names = ", ".join(m.name for m in spec.models) or "none"
        raise UsageError(f"no model named `{options.model}` in {analysis.path}", f"models: {names}")
    shapes = analysis.shapes.get(model.name)
    assert spec.train is not None and spec.data is not None and shapes is not None  # E204 else
    spaces = search_spaces(analysis)
    if spaces:
        raise PlanError(
            "the spec has search spaces; `specc run` needs concrete numbers",
            spaces,
            f"search them with `specc sweep {analysis.path}`, or write plain numbers",
            source=(analysis.path, analysis.text),
        )
    train = spec.train
    data = spec.data
    overrides: dict[str, Any] = {}
    for flag in ("device", "epochs", "batch_size", "seed", "data", "model", "limit", "compile"):
        value = getattr(options, flag)
        if value is not None:
            overrides[flag] = value
    if options.precision is not None:
        overrides["precision"] = options.precision
    _positive(options)
    batch = options.batch_size or int(data.batch.size)
    if options.batch_size is not None:
        data = data.model_copy(update={"batch": data.batch.model_copy(update={"size": batch})})
    device = options.device or train.device
    return RunPlan(
        spec=spec,
        model=model,
        shapes=shapes,
        train=train,
        data=data,
        backend=options.backend,
        epochs=int(options.epochs or train.epochs),
        batch_size=batch,
        seed=int(train.seed if options.seed is None else options.seed),
        device="cuda" if device == "gpu" and options.backend == "torch" else device,
        compile=options.compile or train.compile,
        precision=options.precision or train.precision,
        text=analysis.text,
        path=analysis.path,
        options=options,
        overrides=overrides,
    )


def unsupported(plan: RunPlan, table: dict[str, str]) -> list[Diagnostic]:
    """E600 for every feature of `plan` that the backend's `UNSUPPORTED` table refuses."""
    uses = run_features(plan.spec, plan.model, plan.precision, plan.device)
    return gate(uses, table, f"the `{plan.backend}` backend", plan.text)


def check_backend(plan: RunPlan, unsupported: list[Diagnostic]) -> None:
    """Refuse the plan when it cannot train or the backend reported E600 diagnostics."""
    _something_to_train(plan)
    errors = [d for d in unsupported if d.severity is Severity.ERROR]
    if errors:
        raise PlanError(
            f"the `{plan.backend}` backend cannot run this spec as written",
            errors,
            "`specc explain E600` lists alternatives",
            source=(plan.path, plan.text),
        )


def _something_to_train(plan: RunPlan) -> None:
    """A model whose weights are all frozen (or that has none) cannot train: say so first."""
    shapes = plan.shapes
    if shapes.trainable_params > 0:
        if _reaches_output(shapes):
            return
        raise PlanError(
            f"the output of model `{shapes.model.name}` reads no layer with trainable weights: "
            "there is nothing to train",
            [],
            "merge the branches into the model's output (`add NAME`, `concat NAME`), or "
            "write the layers after them",
            source=(plan.path, plan.text),
        )
    frozen = shapes.params > 0
    raise PlanError(
        "every layer with weights is `frozen`: there is nothing to train"
        if frozen
        else f"model `{shapes.model.name}` has no weights: there is nothing to train",
        [],
        "unfreeze a layer" if frozen else "add a layer with weights (`dense`, `conv2d`)",
        source=(plan.path, plan.text),
    )


def _reaches_output(shapes: ModelShapes) -> bool:
    """Whether the model's output reads a layer with trainable weights (a graph whose only
    weights are in a branch nothing reads has none to train)."""
    needed = {shapes.output_name, *(step for _, step in shapes.outputs)}
    for info in reversed(shapes.layers):
        if info.name in needed or not shapes.output_name:
            if info.params and info.trainable:
                return True
            needed.update(info.sources)
    return False


def _positive(options: RunOptions) -> None:
    for flag in ("epochs", "batch_size", "limit"):
        value = getattr(options, flag)
        if value is not None and value < 1:
            raise UsageError(f"--{flag.replace('_', '-')} must be at least 1, got {value}")
    if options.device is not None and not options.device.strip():
        # An empty `--device ''` (an unset shell variable) would silently mean the spec's.
        raise UsageError("--device is empty", "use auto, cpu, cuda, cuda:N or mps")
    if options.seed is not None and not 0 <= options.seed <= 2**32 - 1:
        raise UsageError(f"--seed must be between 0 and 4294967295, got {options.seed}")
