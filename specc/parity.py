"""`specc parity`: train one spec on two backends from the same numbers and compare.

Both backends get the same plan, the same initial weights (`specc.init_weights`), the same
training examples in the same order (one NumPy permutation per epoch) and the same
per-step learning rates (one `Schedule`), with augmentation and dropout switched off
(dropout by setting every rate to 0 in the plan both backends build from, so layer names
and weight keys do not change). If every semantic choice is mapped the same way, the
per-step losses agree to float32 rounding; a mapping mistake (a transposed kernel, eps in
the wrong place) shows up within a few steps. docs/parity.md justifies the tolerances.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specc.analysis import Analysis, analyze_file
from specc.ir import layers as L
from specc.ir.sequence import vocabulary
from specc.plan import RunOptions, RunPlan, check_backend, make_plan
from specc.run.order import ExampleOrder
from specc.schedule import Schedule
from specc.shapes import ModelShapes

BACKENDS = ("torch", "tensorflow")
DEFAULT_STEPS = 20

# Relative loss tolerance over the first 20 float32 steps, per parity group (a fact of each
# layer kind: `Layer.parity_group`): the largest group in the model wins. Measured values and the reasoning: docs/parity.md#tolerances.
TOLERANCES: dict[str, float] = {
    "dense": 1e-4,  # MLPs: measured <= 4e-7 on every spec and optimizer
    "conv": 1e-3,  # different conv algorithms (oneDNN vs Eigen) sum in other orders
    "norm": 1e-2,  # batch statistics amplify differences (measured up to 3e-3)
}


@dataclass
class BackendRun:
    """One backend's side: per-step losses and the weights after the last step."""

    name: str
    losses: np.ndarray
    weights: dict[str, np.ndarray]
    seconds: float
    eval_loss: float
    """Loss over the training examples in evaluation mode after the last step: it reads the
    batchnorm running statistics, which the training losses never do."""


@dataclass
class ParityResult:
    path: str
    model: str
    steps: int
    tolerance: float
    runs: list[BackendRun]
    notes: list[str] = field(default_factory=list)
    lrs: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def relative(self) -> np.ndarray:
        """Per-step |a - b| / max(|a|, |b|) between the two backends' losses."""
        a, b = self.runs[0].losses, self.runs[1].losses
        scale = np.maximum(np.maximum(np.abs(a), np.abs(b)), 1e-12)
        return np.abs(a - b) / scale

    @property
    def eval_relative(self) -> float:
        a, b = self.runs[0].eval_loss, self.runs[1].eval_loss
        if not (math.isfinite(a) and math.isfinite(b)):
            return math.inf
        return abs(a - b) / max(abs(a), abs(b), 1e-12)

    @property
    def max_relative(self) -> float:
        """The judged number: the worst per-step difference, or the evaluation-mode one."""
        rel = self.relative
        if not np.all(np.isfinite(rel)):
            return math.inf
        return max(float(rel.max()) if rel.size else 0.0, self.eval_relative)

    @property
    def weight_relative(self) -> float:
        """Largest per-array max|a - b| / max|b| of the final weights (reported, not judged)."""
        a, b = self.runs[0].weights, self.runs[1].weights
        worst = 0.0
        for key, ref in a.items():
            scale = max(float(np.max(np.abs(ref))) if ref.size else 0.0, 1e-12)
            worst = max(worst, float(np.max(np.abs(b[key] - ref))) / scale if ref.size else 0.0)
        return worst

    @property
    def passed(self) -> bool:
        return self.max_relative <= self.tolerance

    def to_json(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "model": self.model,
            "steps": self.steps,
            "tolerance": self.tolerance,
            "max_relative_difference": self.max_relative,
            "eval_relative_difference": self.eval_relative,
            "final_weights_relative_difference": self.weight_relative,
            "passed": self.passed,
            "notes": list(self.notes),
            "lrs": [float(v) for v in self.lrs],
            "losses": {run.name: [float(v) for v in run.losses] for run in self.runs},
            "eval_loss": {run.name: run.eval_loss for run in self.runs},
            "seconds": {run.name: run.seconds for run in self.runs},
        }


# bfloat16 keeps 8 bits of mantissa (relative step 3.9e-3): both backends round matmuls and
# convolutions to it, in different orders; measured up to 2.9e-3 over 20 steps.
BF16_TOLERANCE = 3e-2


def default_tolerance(shapes: ModelShapes, precision: str = "fp32") -> float:
    kinds = {type(info.layer).parity_group for info in shapes.layers}
    worst = max((TOLERANCES[kind] for kind in kinds), default=TOLERANCES["dense"])
    return max(worst, BF16_TOLERANCE) if precision == "bf16" else worst


def without_dropout(plan: RunPlan) -> tuple[RunPlan, list[str]]:
    """The plan with every dropout rate set to 0 (an identity), and notes saying so."""
    infos = []
    notes: list[str] = []
    for info in plan.shapes.layers:
        if isinstance(info.layer, L.Dropout) and info.layer.rate > 0:
            notes.append(
                f"dropout `{info.name}` (rate {info.layer.rate:g}) disabled: rate set to 0"
            )
            info = dataclasses.replace(info, layer=info.layer.model_copy(update={"rate": 0.0}))
        for name in getattr(type(info.layer), "dropout_fields", ()):  # attention, transformers
            rate = getattr(info.layer, name)
            if rate > 0:
                notes.append(f"`{info.name}` {name} {rate:g} disabled: set to 0")
                update = {name: 0.0}
                info = dataclasses.replace(info, layer=info.layer.model_copy(update=update))
        infos.append(info)
    shapes = dataclasses.replace(plan.shapes, layers=tuple(infos))
    return dataclasses.replace(plan, shapes=shapes), notes


def parity(
    source: str | Path | Analysis,
    *,
    steps: int = DEFAULT_STEPS,
    tolerance: float | None = None,
    model: str | None = None,
    data: str | None = None,
    limit: int | None = None,
    backends: tuple[str, str] = BACKENDS,
    device: str = "cpu",
) -> ParityResult:
    """Train `steps` steps of the spec on both backends; raises RunError/DataError on misuse."""
    from specc import executors
    from specc.data import load
    from specc.errors import UsageError
    from specc.init_weights import initial_weights
    from specc.run.transfer import init_vocabulary
    from specc.token_checks import steps_predicted

    if steps < 1:
        raise UsageError(f"--steps must be at least 1, got {steps}")
    analysis = _analysis(source)
    options = RunOptions(backend=backends[0], model=model, data=data, limit=limit, compile="off")
    plan, notes = without_dropout(make_plan(analysis, options))
    modules = [executors.get(name) for name in backends]
    for module in modules:
        check_backend(plan, module.unsupported(dataclasses.replace(plan, backend=module.NAME)))
    if plan.augment is not None:
        notes.append("augment is switched off for parity (its random draws differ by design)")
    dataset = load(
        plan.data,
        override=data,
        spec_dir=plan.spec_dir,
        limit=limit,
        progress=False,
        vocab=vocabulary(plan.shapes),
        inputs=dict(plan.shapes.inputs),
        output_targets=plan.output_targets(),
        steps=steps_predicted(plan.shapes),
        vocabulary=init_vocabulary(
            plan.model.init, plan.data, plan.spec_dir, (plan.path, plan.text)
        ),
    )
    weights = initial_weights(plan.shapes, plan.seed)
    if plan.model.init is not None:  # `init from`: both start from that run's weights
        from specc.run.transfer import transfer

        names = [info.name for info in plan.shapes.layers]
        weights = transfer(plan.model.init, plan.spec_dir, weights, names)
    schedule = _Batches(plan, len(dataset.x_train), steps)
    runs = [
        _train(
            module,
            dataclasses.replace(plan, backend=module.NAME),
            weights,
            dataset,
            schedule,
            device,
        )
        for module in modules
    ]
    return ParityResult(
        path=analysis.path,
        model=plan.model.name,
        steps=len(runs[0].losses),
        tolerance=(
            default_tolerance(plan.shapes, plan.precision)
            if tolerance is None
            else float(tolerance)
        ),
        runs=runs,
        notes=notes + schedule.notes,
        lrs=schedule.all_lrs(),
    )


def _analysis(source: str | Path | Analysis) -> Analysis:
    """A spec file's analysis (`source` a path), or the caller's own (an `Analysis` of text)."""
    if isinstance(source, Analysis):
        return source
    from specc.errors import UsageError

    try:
        return analyze_file(source)
    except OSError as err:
        raise UsageError(f"cannot read {source}: {err.strerror or err}") from err


class _Batches:
    """The epochs both backends replay: (order, lrs, seed) each, fixed before any training.

    `reduce_on_plateau` needs metrics: it is fed the first backend's mean epoch loss, and the
    rates it produces are recorded so the second backend replays exactly the same ones.
    """

    def __init__(self, plan: RunPlan, examples: int, steps: int) -> None:
        self.batch = plan.batch_size
        batch_node = plan.data.batch
        per_epoch = (
            examples // self.batch if batch_node.drop_last else math.ceil(examples / self.batch)
        )
        self.per_epoch = max(per_epoch, 1)
        self.schedule = Schedule(
            plan.train, float(plan.train.optimizer.lr), self.per_epoch, plan.epochs
        )
        total = min(steps, self.per_epoch * plan.epochs)
        self.notes: list[str] = []
        if total < steps:
            self.notes.append(
                f"the spec has only {total} steps ({plan.epochs} epochs); compared {total}"
            )
        # the run's own order (specc.run.order): parity replays the batches a run uses
        draws = ExampleOrder(plan.seed, examples, bool(batch_node.shuffle))
        self.epochs: list[tuple[np.ndarray, int]] = []  # (order, steps) per epoch
        left, e = total, 0
        while left > 0:
            order, _ = draws.next_epoch()
            count = min(left, self.per_epoch)
            self.epochs.append((order[: count * self.batch], count))
            left -= count
            e += 1
        self.recorded: list[np.ndarray] = []

    def lrs(self, epoch: int, losses_so_far: list[np.ndarray]) -> np.ndarray:
        if epoch < len(self.recorded):
            return self.recorded[epoch]
        if epoch > 0:
            mean = float(np.mean(losses_so_far[-1]))
            self.schedule.after_epoch({"loss": mean, "val_loss": mean})
        rates = self.schedule.epoch_lrs(epoch)[: self.epochs[epoch][1]]
        self.recorded.append(rates)
        return rates

    def all_lrs(self) -> np.ndarray:
        return np.concatenate(self.recorded) if self.recorded else np.zeros(0)


def _train(
    module: Any,
    plan: RunPlan,
    weights: dict[str, np.ndarray],
    dataset: Any,
    batches: _Batches,
    device: str,
) -> BackendRun:
    import time

    start = time.perf_counter()
    state = module.build(plan, weights, module.resolve_device(device))
    data = module.load_data(state, dataset.x_train, dataset.y_train)
    losses: list[np.ndarray] = []
    for epoch, (order, _count) in enumerate(batches.epochs):
        rates = batches.lrs(epoch, losses)
        step_losses = np.asarray(
            module.train_epoch(state, data, order, batches.batch, rates, None, plan.seed + epoch),
            dtype=np.float64,
        )
        # several outputs: rows [total, each output's loss]; parity compares the total
        losses.append(step_losses[:, 0] if step_losses.ndim == 2 else step_losses)
    eval_loss = np.asarray(module.evaluate_loss(state, data), dtype=np.float64).reshape(-1)[0]
    return BackendRun(
        name=module.NAME,
        losses=np.concatenate(losses),
        weights=module.get_weights(state),
        seconds=time.perf_counter() - start,
        eval_loss=float(eval_loss),
    )
