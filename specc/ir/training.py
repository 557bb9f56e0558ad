"""The `train` block: loss, optimizer, schedule, epochs, metrics, callbacks, run options."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Identifier, Node
from specc.ir.losses import AnyLoss, Loss
from specc.ir.optimizers import AnyOptimizer, RMSprop
from specc.ir.schedules import AnySchedule, Constant, Warmup
from specc.ir.spaces import NonNegFloat, PositiveInt

# ---- metrics ---------------------------------------------------------------------------


class Metric(Node):
    """Base of every metric; `task` says which kind of target it needs."""

    task: ClassVar[Literal["classification", "regression"]] = "classification"
    reads: ClassVar[frozenset[str]] = frozenset()
    """What it is computed from besides the outputs: `pred` (predicted classes), `ranked`
    (classes by score), `precision`/`recall` (per-class ratios). Emitted NumPy metrics
    compute only what some metric reads."""


class Accuracy(Metric):
    """Fraction of examples whose predicted class (or thresholded probability) is right."""

    kind: Literal["accuracy"] = "accuracy"
    aliases = ("acc",)
    reads = frozenset({"pred"})


class TopKAccuracy(Metric):
    """Fraction of examples whose true class is among the k highest scores."""

    kind: Literal["top_k_accuracy"] = "top_k_accuracy"
    positional = ("k",)
    aliases = ("top_k", "topk")
    reads = frozenset({"ranked"})

    k: int = Field(default=5, ge=1, le=1000)
    """How many of the highest scores count."""


class Precision(Metric):
    """Macro-averaged precision over classes (binary: of the positive class)."""

    kind: Literal["precision"] = "precision"
    reads = frozenset({"pred", "precision"})


class Recall(Metric):
    """Macro-averaged recall over classes (binary: of the positive class)."""

    kind: Literal["recall"] = "recall"
    reads = frozenset({"pred", "recall"})


class F1(Metric):
    """Macro-averaged F1 score over classes (binary: of the positive class)."""

    kind: Literal["f1"] = "f1"
    aliases = ("f1_score",)
    reads = frozenset({"pred", "precision", "recall"})


class MSEMetric(Metric):
    """Mean squared error of the predictions."""

    kind: Literal["mse"] = "mse"
    aliases = ("mean_squared_error",)
    task = "regression"


class MAEMetric(Metric):
    """Mean absolute error of the predictions."""

    kind: Literal["mae"] = "mae"
    aliases = ("mean_absolute_error",)
    task = "regression"


class Perplexity(Metric):
    """exp of the mean cross-entropy (natural log) of the true class, over every scored
    target: per token for a model predicting each step (targets equal to the loss's
    `ignore` id left out). The uniform guess over V classes scores V."""

    kind: Literal["perplexity"] = "perplexity"
    aliases = ("ppl",)
    reads = frozenset({"picked"})


AnyMetric = Annotated[
    Union[Accuracy, TopKAccuracy, Precision, Recall, F1, MSEMetric, MAEMetric, Perplexity],
    Field(discriminator="kind"),
]

# ---- callbacks -------------------------------------------------------------------------


class EarlyStopping(Node):
    """Stop when `monitor` has not improved by `min_delta` for `patience` epochs."""

    kind: Literal["early_stopping"] = "early_stopping"
    positional = ("patience",)

    monitor: str = "val_loss"
    """Metric to watch; `*loss`, `*mse`, `*mae` are minimised, others maximised."""
    patience: int = Field(default=5, ge=0, le=10_000)
    """Epochs without improvement to wait."""
    min_delta: NonNegFloat = 0.0
    """Smallest change that counts as an improvement."""
    restore_best: bool = True
    """End with the best epoch's weights instead of the last."""


class Checkpoint(Node):
    """Keep the weights of the best epoch by `monitor` (`checkpoint best monitor=val_accuracy`)."""

    kind: Literal["checkpoint"] = "checkpoint"
    positional = ("save",)

    save: Literal["best", "last"] = "best"
    """`best`: the best epoch by `monitor`; `last`: every epoch's end."""
    monitor: str = "val_loss"
    """Metric that decides the best epoch."""


# ---- several outputs -------------------------------------------------------------------


class OutputTraining(Node):
    """How one named output of the model trains (Keras' `loss={...}`, `loss_weights`,
    `metrics={...}`): `output digit { loss sparse_categorical_crossentropy; metrics
    accuracy }`. The total loss is the weighted sum over outputs; each output's loss and
    metrics are reported as `<name>_loss`, `<name>_<metric>` (docs/semantics.md#outputs)."""

    kind: Literal["output"] = "output"
    positional = ("name",)
    keywords = {"loss": "loss", "weight": "weight", "metrics": "metrics", "metric": "metrics"}

    name: Identifier
    """The model's `output` block this trains."""
    loss: AnyLoss | None = None
    """The loss of this output (required: E211 without one)."""
    weight: NonNegFloat = 1.0
    """Its weight in the total loss."""
    metrics: list[AnyMetric] = Field(default_factory=list)
    """Metrics of this output, reported as `<name>_<metric>`."""


# ---- the block -------------------------------------------------------------------------


class Train(Node):
    """How to train: loss, optimizer, epochs, metrics, schedule and run options."""

    kind: Literal["train"] = "train"
    keywords = {
        "loss": "loss",
        "optimizer": "optimizer",
        "epochs": "epochs",
        "metrics": "metrics",
        "metric": "metrics",
        "schedule": "schedule",
        "warmup": "warmup",
        "early_stopping": "early_stopping",
        "checkpoint": "checkpoint",
        "seed": "seed",
        "precision": "precision",
        "device": "device",
        "compile": "compile",
        "model": "model",
        "output": "outputs",
    }

    loss: AnyLoss | None = None
    """The loss to minimise (a model with `output` blocks gives one per output instead)."""
    outputs: list[OutputTraining] = Field(default_factory=list)
    """Per named output of the model: its loss, weight and metrics."""
    optimizer: AnyOptimizer = Field(default_factory=RMSprop)
    """The optimizer and its settings."""
    epochs: PositiveInt = 10
    """Passes over the training data."""
    metrics: list[AnyMetric] = Field(default_factory=list)
    """Metrics reported each epoch (loss is always reported)."""
    schedule: AnySchedule = Field(default_factory=Constant)
    """Learning-rate schedule."""
    warmup: Warmup | None = None
    """Linear warm-up at the start (combines with any schedule)."""
    early_stopping: EarlyStopping | None = None
    """Stop early when a metric stops improving."""
    checkpoint: Checkpoint | None = None
    """Keep the best epoch's weights."""
    seed: int = Field(default=0, ge=0, le=2**32 - 1)
    """Seed for initialisation, shuffling and dropout."""
    precision: Literal["fp32", "bf16", "fp16"] = "fp32"
    """Compute precision (bf16/fp16: mixed precision with fp32 weights)."""
    device: Literal["auto", "cpu", "cuda", "gpu", "mps"] = "auto"
    """Preferred device; `specc run --device` overrides it."""
    compile: Literal["auto", "on", "off"] = "auto"
    """Compile the train step (torch.compile / XLA); auto: only when the run is long."""
    model: Identifier | None = None
    """Which `model` block to train when the file has several (default: the first)."""

    @model_validator(mode="after")
    def _some_loss(self) -> Train:
        if self.loss is None and not any(o.loss is not None for o in self.outputs):
            raise SpecError(
                "E302",
                "`train` needs `loss`",
                self.span,
                help="add `loss sparse_categorical_crossentropy` (or mse for regression); "
                "a model with `output` blocks gives each its own: `output NAME { loss ... }`",
                missing=True,
            )
        return self

    @property
    def main_loss(self) -> Loss:
        """The loss of a model with one output; with several, the first output's (what
        the single-output paths read: refusals, the per-loss checks of that output)."""
        loss = self.loss or next(o.loss for o in self.outputs if o.loss is not None)
        return loss

    def output_named(self, name: str) -> OutputTraining | None:
        return next((o for o in self.outputs if o.name == name), None)
