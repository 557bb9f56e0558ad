"""Element-wise activations: usable as layers (`relu`) and as an `activation` argument."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field

from specc.ir.layer import Layer, Shape, size
from specc.ir.spaces import AnyFloat, PositiveFloat


class Activation(Layer):
    """Base of the element-wise activations."""

    normalizes: ClassVar[bool] = False
    """Turns its input into a distribution over the last axis (softmax, log_softmax)."""

    def flops(self, shape: Shape, out: Shape) -> int:
        return size(out)


class ReLU(Activation):
    """max(x, 0)."""

    kind: Literal["relu"] = "relu"


class LeakyReLU(Activation):
    """x if x > 0 else slope * x."""

    kind: Literal["leaky_relu"] = "leaky_relu"
    positional = ("slope",)
    aliases = ("leakyrelu",)
    arg_aliases = {"negative_slope": "slope", "alpha": "slope"}

    slope: AnyFloat = 0.01
    """Slope for negative inputs (PyTorch's default 0.01; Keras uses 0.3)."""


class Sigmoid(Activation):
    """1 / (1 + exp(-x)). Before binary cross-entropy it is fused into the loss."""

    kind: Literal["sigmoid"] = "sigmoid"


class Tanh(Activation):
    """tanh(x)."""

    kind: Literal["tanh"] = "tanh"


class Softmax(Activation):
    """exp(x) / sum(exp(x)) over the last axis. Before cross-entropy it is fused into the loss."""

    kind: Literal["softmax"] = "softmax"
    layout = "ordered"
    normalizes = True  # "the last axis" is the IR's: W of a CxHxW image


class LogSoftmax(Activation):
    """log(softmax(x)) over the last axis: pair it with the `nll` loss."""

    kind: Literal["log_softmax"] = "log_softmax"
    aliases = ("logsoftmax",)
    layout = "ordered"
    normalizes = True


class GELU(Activation):
    """x * Phi(x), the exact (erf) form."""

    kind: Literal["gelu"] = "gelu"


class ELU(Activation):
    """x if x > 0 else alpha * (exp(x) - 1)."""

    kind: Literal["elu"] = "elu"
    positional = ("alpha",)

    alpha: PositiveFloat = 1.0
    """Scale of the negative part."""


class SELU(Activation):
    """Self-normalising ELU with the fixed constants of Klambauer et al."""

    kind: Literal["selu"] = "selu"


class SiLU(Activation):
    """x * sigmoid(x), also called swish."""

    kind: Literal["silu"] = "silu"
    aliases = ("swish",)


ActivationKind = Annotated[
    Union[ReLU, LeakyReLU, Sigmoid, Tanh, Softmax, LogSoftmax, GELU, ELU, SELU, SiLU],
    Field(discriminator="kind"),
]
