"""Learning-rate schedules and warm-up. Units: docs/semantics.md#schedules.

The learning rate is recomputed before every step from the step index. `step`,
`multistep` and `exponential` change it at epoch boundaries (their arguments are in
epochs); `cosine` and `one_cycle` move smoothly every step; `reduce_on_plateau` acts
after each epoch's validation. A `warmup` multiplies any of them by a linear ramp.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Node
from specc.ir.spaces import NonNegFloat, OpenUnitFloat, PositiveFloat, PositiveInt


class Constant(Node):
    """The optimizer's `lr`, unchanged."""

    kind: Literal["constant"] = "constant"
    aliases = ("none", "fixed")


class StepDecay(Node):
    """Multiply the rate by `gamma` every `every` epochs (PyTorch StepLR)."""

    kind: Literal["step"] = "step"
    positional = ("every",)
    aliases = ("step_lr", "steplr")
    arg_aliases = {"step_size": "every"}

    every: PositiveInt = 10
    """Epochs between decays."""
    gamma: OpenUnitFloat = 0.1
    """Multiplier applied at each decay."""


class MultiStep(Node):
    """Multiply the rate by `gamma` at each listed epoch (PyTorch MultiStepLR)."""

    kind: Literal["multistep"] = "multistep"
    positional = ("milestones",)
    aliases = ("multistep_lr", "multi_step")

    milestones: list[int] = Field(min_length=1)
    """Epochs (counted from 0) at whose start the rate drops."""
    gamma: OpenUnitFloat = 0.1
    """Multiplier applied at each milestone."""

    @model_validator(mode="after")
    def _increasing(self) -> MultiStep:
        if (
            any(b <= a for a, b in zip(self.milestones, self.milestones[1:], strict=False))
            or min(self.milestones) < 1
        ):
            raise SpecError(
                "E301",
                "milestones must be increasing epoch numbers >= 1",
                self.where("milestones"),
            )
        return self


class Exponential(Node):
    """Multiply the rate by `gamma` after every epoch (PyTorch ExponentialLR)."""

    kind: Literal["exponential"] = "exponential"
    positional = ("gamma",)
    aliases = ("exponential_lr", "exp")

    gamma: OpenUnitFloat = 0.95
    """Per-epoch multiplier."""


class Cosine(Node):
    """Cosine decay from `lr` to `min_lr` over the whole run, updated every step."""

    kind: Literal["cosine"] = "cosine"
    aliases = ("cosine_annealing", "cosine_decay")
    spans_the_run: ClassVar[bool] = True  # its rates depend on the run's total steps

    min_lr: NonNegFloat = 0.0
    """Rate at the end of training."""


class OneCycle(Node):
    """1cycle (Smith): rise to `max_lr` for `pct_start` of the steps, then anneal (cosine)."""

    kind: Literal["one_cycle"] = "one_cycle"
    aliases = ("onecycle", "one_cycle_lr")
    spans_the_run: ClassVar[bool] = True  # its rates depend on the run's total steps

    max_lr: PositiveFloat | None = None
    """Peak rate (default: the optimizer's lr)."""
    pct_start: OpenUnitFloat = 0.3
    """Fraction of steps spent rising."""
    div_factor: PositiveFloat = 25.0
    """Starting rate = max_lr / div_factor."""
    final_div_factor: PositiveFloat = 1e4
    """Final rate = starting rate / final_div_factor."""


class ReduceOnPlateau(Node):
    """Multiply the rate by `factor` when `monitor` stops improving for `patience` epochs."""

    kind: Literal["reduce_on_plateau"] = "reduce_on_plateau"
    aliases = ("plateau", "reducelronplateau")

    monitor: str = "val_loss"
    """Metric to watch (`val_loss`, `val_accuracy`, `loss`, ...)."""
    factor: OpenUnitFloat = 0.1
    """Multiplier applied on a plateau."""
    patience: int = Field(default=10, ge=0)
    """Epochs without improvement before reducing."""
    min_lr: NonNegFloat = 0.0
    """Lower bound on the rate."""


class Warmup(Node):
    """Linear warm-up from 0 to the scheduled rate over the first epochs (or steps)."""

    kind: Literal["warmup"] = "warmup"
    positional = ("epochs",)

    epochs: float | None = Field(default=None, gt=0)
    """Warm-up length in epochs (fractions allowed)."""
    steps: int | None = Field(default=None, ge=1)
    """Warm-up length in steps (instead of epochs)."""

    @model_validator(mode="after")
    def _one_length(self) -> Warmup:
        if (self.epochs is None) == (self.steps is None):
            raise SpecError(
                "E302",
                "`warmup` needs exactly one length: `warmup 2` (epochs) or `warmup steps=500`",
                self.span,
            )
        return self


AnySchedule = Annotated[
    Union[Constant, StepDecay, MultiStep, Exponential, Cosine, OneCycle, ReduceOnPlateau],
    Field(discriminator="kind"),
]
