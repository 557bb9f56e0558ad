"""Layers: the union of every layer kind, and the kinds that are neither activations nor
convolutions. Each class knows its output shape, its weights, FLOPs and the facts
backends need (specc/ir/layer.py); shape rules raise SpecError with the layer's own span
and the shape pass (specc/shapes.py) adds the neighbouring layer as a related location.

Activations live in specc/ir/activations.py, convolutions and pools in specc/ir/conv.py;
this module re-exports them so `specc.ir.layers` names every kind.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.activations import (
    ELU,
    GELU,
    SELU,
    Activation,
    ActivationKind,
    LeakyReLU,
    LogSoftmax,
    ReLU,
    Sigmoid,
    SiLU,
    Softmax,
    Tanh,
)
from specc.ir.attention import Attention, TransformerEncoder
from specc.ir.conv import (
    AvgPool1D,
    AvgPool2D,
    Conv,
    Conv1D,
    Conv2D,
    GlobalAvgPool,
    GlobalMaxPool,
    MaxPool1D,
    MaxPool2D,
    Pool,
    Pool1D,
    Pool2D,
    pair,
    window_out,
)
from specc.ir.graph import (
    Add,
    Average,
    Branch,
    Concat,
    Merge,
    Multiply,
    Output,
    Parallel,
    Residual,
    Shortcut,
)
from specc.ir.inits import GlorotUniform, Init, Zeros
from specc.ir.layer import Affine, Layer, Shape, Weight, fmt_shape, size
from specc.ir.sequence import (
    GRU,
    LSTM,
    Embedding,
    LastStep,
    PositionEmbedding,
    TimeMajor,
    is_sequence,
)
from specc.ir.spaces import OpenUnitFloat, PositiveFloat, PositiveInt

__all__ = [
    "ELU",
    "GELU",
    "GRU",
    "LSTM",
    "SELU",
    "Activation",
    "ActivationKind",
    "Add",
    "Affine",
    "AnyLayer",
    "Attention",
    "Average",
    "AvgPool1D",
    "AvgPool2D",
    "BatchNorm",
    "Branch",
    "Concat",
    "Conv",
    "Conv1D",
    "Conv2D",
    "Dense",
    "Dropout",
    "Embedding",
    "Flatten",
    "GlobalAvgPool",
    "GlobalMaxPool",
    "LastStep",
    "Layer",
    "LayerNorm",
    "LeakyReLU",
    "LogSoftmax",
    "MaxPool1D",
    "MaxPool2D",
    "Merge",
    "Multiply",
    "Output",
    "Parallel",
    "Pool",
    "Pool1D",
    "Pool2D",
    "PositionEmbedding",
    "ReLU",
    "Repeat",
    "Reshape",
    "Residual",
    "Shape",
    "Shortcut",
    "SiLU",
    "Sigmoid",
    "Softmax",
    "Tanh",
    "TransformerEncoder",
    "Weight",
    "fmt_shape",
    "pair",
    "window_out",
]


class Dense(Affine):
    """Fully connected layer: y = x W^T + b (Keras Dense, PyTorch Linear).

    On a token sequence (LxD) it applies to every step with the same weights, giving
    (L, units): one prediction per step, as Keras's Dense and PyTorch's Linear do on the
    last axis (docs/semantics.md#sequences)."""

    kind: Literal["dense"] = "dense"
    positional = ("units", "activation")
    aliases = ("linear", "fc")
    arg_aliases = {"out_features": "units", "use_bias": "bias"}

    units: PositiveInt
    """Number of output features."""
    activation: ActivationKind | None = None
    """Activation applied to the output (none: linear)."""
    bias: bool = True
    """Add a learned bias."""
    init: Init = Field(default_factory=GlorotUniform)
    """Kernel initialiser."""
    bias_init: Init = Field(default_factory=Zeros)
    """Bias initialiser."""

    def infer(self, shape: Shape) -> Shape:
        if is_sequence(shape):  # (L, D) -> (L, units): the same weights at every step
            return TimeMajor((shape[0], int(self.units)))
        self._need_rank(
            shape,
            (1,),
            "a flat input (features) or a token sequence (LxD)",
            "add `flatten` before it" if len(shape) > 1 else "check the input shape",
        )
        return (int(self.units),)

    def kernel_shape(self, shape: Shape) -> Shape:
        return (int(self.units), shape[-1])

    def out_channels(self) -> int:
        return int(self.units)

    def flops(self, shape: Shape, out: Shape) -> int:
        steps = shape[0] if is_sequence(shape) else 1
        return 2 * steps * shape[-1] * int(self.units) + self.activation_flops(out)


class Flatten(Layer):
    """Flattens each example to one axis, in (C, H, W) order."""

    kind: Literal["flatten"] = "flatten"
    layout = "ordered"

    def infer(self, shape: Shape) -> Shape:
        return (size(shape),)


class Reshape(Layer):
    """Reshapes each example: `reshape 1x28x28` (sizes must match)."""

    kind: Literal["reshape"] = "reshape"
    positional = ("shape",)
    layout = "ordered"

    shape: tuple[int, ...]
    """The new shape, without the batch axis."""

    @model_validator(mode="after")
    def _positive(self) -> Reshape:
        if not self.shape or any(d < 1 for d in self.shape):
            raise SpecError("E301", "reshape sizes must be >= 1", self.where("shape"))
        return self

    def infer(self, shape: Shape) -> Shape:
        if size(shape) != size(self.shape):
            raise SpecError(
                "E404",
                f"cannot reshape {fmt_shape(shape)} ({size(shape)} values) to "
                f"{fmt_shape(self.shape)} ({size(self.shape)} values)",
                self.where("shape"),
                help="the number of values must stay the same",
            )
        return tuple(self.shape)


class Dropout(Layer):
    """Zeroes each value with probability `rate` while training, scaling the rest by 1/(1-rate)."""

    kind: Literal["dropout"] = "dropout"
    positional = ("rate",)
    arg_aliases = {"p": "rate"}

    rate: OpenUnitFloat = 0.5
    """Probability of dropping a value, in [0, 1)."""


class BatchNorm(Layer):
    """Batch normalisation over the feature axis (channels for images).

    running = (1 - momentum) * running + momentum * batch: PyTorch's convention; Keras's
    `momentum` is 1 minus this.
    """

    kind: Literal["batchnorm"] = "batchnorm"
    aliases = ("batch_norm", "batchnorm1d", "batchnorm2d", "batchnormalization")
    arg_aliases = {"epsilon": "eps"}
    layout = "spatial"
    parity_group = "norm"

    momentum: OpenUnitFloat = 0.1
    """Weight of the current batch in the running statistics."""
    eps: PositiveFloat = 1e-5
    """Added to the variance for stability."""

    def infer(self, shape: Shape) -> Shape:
        self._need_rank(shape, (1, 3), "features or a CxHxW image", "flatten first")
        return shape

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        c = (shape[0],)
        return (
            Weight("weight", c, "scale"),
            Weight("bias", c, "shift"),
            Weight("running_mean", c, "running_mean", trainable=False),
            Weight("running_var", c, "running_var", trainable=False),
        )

    def flops(self, shape: Shape, out: Shape) -> int:
        return 2 * size(shape)


class LayerNorm(Layer):
    """Layer normalisation over all of each example's values, with a learned scale and shift."""

    kind: Literal["layernorm"] = "layernorm"
    aliases = ("layer_norm", "layernormalization")
    arg_aliases = {"epsilon": "eps"}
    layout = "ordered"  # its scale and shift are laid out like the (channels-first) input
    parity_group = "norm"

    eps: PositiveFloat = 1e-5
    """Added to the variance for stability."""

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        return (Weight("weight", shape, "scale"), Weight("bias", shape, "shift"))

    def flops(self, shape: Shape, out: Shape) -> int:
        return 5 * size(shape)


class Repeat(Layer):
    """Repeats a stack of layers: `repeat 3 { dense 64 relu }`."""

    kind: Literal["repeat"] = "repeat"
    structural = True
    positional = ("times",)
    collector = "layers"

    times: int = Field(ge=1, le=1000)
    """How many copies."""
    layers: list[AnyLayer] = Field(default_factory=list)
    """The layers of one copy."""

    def nested(self) -> list[Layer]:
        return list(self.layers)


AnyLayer = Annotated[
    Union[
        Dense,
        Conv2D,
        Conv1D,
        MaxPool2D,
        AvgPool2D,
        MaxPool1D,
        AvgPool1D,
        GlobalAvgPool,
        GlobalMaxPool,
        Embedding,
        PositionEmbedding,
        LSTM,
        GRU,
        LastStep,
        Attention,
        TransformerEncoder,
        Flatten,
        Reshape,
        Dropout,
        BatchNorm,
        LayerNorm,
        ReLU,
        LeakyReLU,
        Sigmoid,
        Tanh,
        Softmax,
        LogSoftmax,
        GELU,
        ELU,
        SELU,
        SiLU,
        Repeat,
        Residual,
        Parallel,
        Branch,
        Output,
        Add,
        Concat,
        Multiply,
        Average,
    ],
    Field(discriminator="kind"),
]
Repeat.model_rebuild()
for _block in (Shortcut, Residual, Branch, Output, Parallel):
    _block.model_rebuild(_types_namespace={"AnyLayer": AnyLayer})
