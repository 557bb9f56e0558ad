"""Optimizers. Defaults and weight-decay coupling: docs/semantics.md#optimizers.

`weight_decay` is coupled (added to the gradient as L2, like PyTorch's SGD/Adam/RMSprop)
for every optimizer except `adamw`, where it is decoupled (applied to the weights).
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Node
from specc.ir.spaces import ClipThreshold, NonNegRate, OpenUnitFloat, Rate, is_space


class Optimizer(Node):
    """Base of every optimizer: learning rate, weight decay, gradient clipping."""

    arg_aliases = {"learning_rate": "lr", "epsilon": "eps"}
    decoupled_weight_decay: ClassVar[bool] = False

    lr: Rate = 1e-3
    """Learning rate (the peak rate when a schedule or warm-up is used)."""
    weight_decay: NonNegRate = 0.0
    """L2 penalty (coupled) or decoupled decay for adamw."""
    clip_norm: ClipThreshold | None = None
    """Rescale gradients so their global L2 norm is at most this."""
    clip_value: ClipThreshold | None = None
    """Clamp every gradient value to [-clip_value, clip_value]."""


class SGD(Optimizer):
    """Stochastic gradient descent with optional (Nesterov) momentum, PyTorch's formulation."""

    kind: Literal["sgd"] = "sgd"

    lr: Rate = 1e-2
    """Learning rate."""
    momentum: OpenUnitFloat = 0.0
    """Momentum factor (PyTorch form: v = m*v + g; w -= lr*v)."""
    nesterov: bool = False
    """Use Nesterov momentum (needs momentum > 0)."""

    @model_validator(mode="after")
    def _nesterov_needs_momentum(self) -> SGD:
        if self.nesterov and not is_space(self.momentum) and self.momentum == 0:
            raise SpecError(
                "E301",
                "`nesterov` needs `momentum` > 0",
                self.where("nesterov"),
                help="add `momentum=0.9`, or drop `nesterov`",
            )
        return self


class Adam(Optimizer):
    """Adam with bias correction; eps is added to sqrt(v_hat)."""

    kind: Literal["adam"] = "adam"
    arg_aliases = {"learning_rate": "lr", "epsilon": "eps", "beta_1": "beta1", "beta_2": "beta2"}

    beta1: OpenUnitFloat = 0.9
    """Decay of the first-moment estimate."""
    beta2: OpenUnitFloat = 0.999
    """Decay of the second-moment estimate."""
    eps: Rate = 1e-7
    """Added to the denominator for stability."""
    amsgrad: bool = False
    """Use the AMSGrad variant."""


class AdamW(Adam):
    """Adam with decoupled weight decay (Loshchilov & Hutter)."""

    kind: Literal["adamw"] = "adamw"  # type: ignore[assignment]
    decoupled_weight_decay = True

    weight_decay: NonNegRate = 0.01
    """Decoupled decay: w -= lr * weight_decay * w each step."""


class RMSprop(Optimizer):
    """RMSprop: w -= lr * g / (sqrt(avg(g^2)) + eps). Keras defaults (rho 0.9, eps 1e-7)."""

    kind: Literal["rmsprop"] = "rmsprop"
    arg_aliases = {"learning_rate": "lr", "epsilon": "eps", "alpha": "rho"}

    rho: OpenUnitFloat = 0.9
    """Decay of the squared-gradient average (PyTorch calls it alpha)."""
    eps: Rate = 1e-7
    """Added outside the square root."""
    momentum: OpenUnitFloat = 0.0
    """Momentum factor."""
    centered: bool = False
    """Normalise by the gradient's variance instead of its second moment."""


class Adagrad(Optimizer):
    """Adagrad: per-weight rates scaled by the accumulated squared gradients."""

    kind: Literal["adagrad"] = "adagrad"

    lr: Rate = 1e-2
    """Learning rate."""
    initial_accumulator: NonNegRate = 0.1
    """Starting value of the accumulator (Keras's default)."""
    eps: Rate = 1e-7
    """Added to the denominator for stability."""


AnyOptimizer = Annotated[Union[SGD, Adam, AdamW, RMSprop, Adagrad], Field(discriminator="kind")]
