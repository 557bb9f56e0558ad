"""Layers. One class per layer kind; each knows its output shape, parameters and FLOPs.

Shapes exclude the batch dimension and images are channels-first (C, H, W): see
docs/semantics.md#shapes. Shape rules raise SpecError with the layer's own span; the
shape pass (specc/shapes.py) adds the neighbouring layer as a related location.
"""

from __future__ import annotations

import math
from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Identifier, Node
from specc.ir.inits import GlorotUniform, Init, Zeros
from specc.ir.spaces import AnyFloat, OpenUnitFloat, PositiveFloat, PositiveInt

Shape = tuple[int, ...]


def _size(shape: Shape) -> int:
    return math.prod(shape)


class Layer(Node):
    """Base of every layer."""

    name: Identifier | None = None
    """A name for the layer (weights are saved under it); default `<kind>_<n>`."""
    frozen: bool = False
    """Keep this layer's weights fixed during training (fine-tuning)."""

    def infer(self, shape: Shape) -> Shape:
        """Output shape for one example of input `shape`."""
        return shape

    def params(self, shape: Shape) -> int:
        """Number of weights for input `shape`."""
        return 0

    def flops(self, shape: Shape, out: Shape) -> int:
        """Floating-point operations for one example (a multiply-add counts as 2)."""
        return 0

    def _need_rank(self, shape: Shape, ranks: tuple[int, ...], what: str, help: str) -> None:
        if len(shape) not in ranks:
            raise SpecError(
                "E402",
                f"`{self.kind_name()}` needs {what}, but its input has shape {fmt_shape(shape)}",
                self.span,
                help=help,
            )


def fmt_shape(shape: Shape) -> str:
    return "x".join(str(d) for d in shape) if shape else "a scalar"


# ---- activations (usable as layers and as the `activation` argument) --------------------


class Activation(Layer):
    """Base of the element-wise activations."""

    def flops(self, shape: Shape, out: Shape) -> int:
        return _size(out)


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


class LogSoftmax(Activation):
    """log(softmax(x)): pair it with the `nll` loss."""

    kind: Literal["log_softmax"] = "log_softmax"
    aliases = ("logsoftmax",)


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

# ---- layers with weights ---------------------------------------------------------------


class Dense(Layer):
    """Fully connected layer: y = x W^T + b (Keras Dense, PyTorch Linear)."""

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
        self._need_rank(
            shape,
            (1,),
            "a flat input (features)",
            "add `flatten` before it" if len(shape) > 1 else "check the input shape",
        )
        return (int(self.units),)

    def params(self, shape: Shape) -> int:
        return shape[0] * int(self.units) + (int(self.units) if self.bias else 0)

    def flops(self, shape: Shape, out: Shape) -> int:
        extra = self.activation.flops(out, out) if self.activation else 0
        return 2 * shape[0] * int(self.units) + extra


class Conv2D(Layer):
    """2-D convolution over (C, H, W) inputs (Keras Conv2D, PyTorch Conv2d)."""

    kind: Literal["conv2d"] = "conv2d"
    positional = ("filters", "kernel", "activation")
    aliases = ("conv", "conv2")
    arg_aliases = {"out_channels": "filters", "kernel_size": "kernel", "use_bias": "bias"}

    filters: PositiveInt
    """Number of output channels."""
    kernel: int | tuple[int, int] = 3
    """Kernel size: `3` or `3x3`."""
    stride: int | tuple[int, int] = 1
    """Step between windows."""
    padding: Literal["valid", "same"] | int = "valid"
    """`valid` (no padding), `same` (output size = input size / stride), or a number."""
    activation: ActivationKind | None = None
    """Activation applied to the output (none: linear)."""
    bias: bool = True
    """Add a learned bias per channel."""
    init: Init = Field(default_factory=GlorotUniform)
    """Kernel initialiser."""
    bias_init: Init = Field(default_factory=Zeros)
    """Bias initialiser."""

    @model_validator(mode="after")
    def _check(self) -> Conv2D:
        for name in ("kernel", "stride"):
            if any(v < 1 or v > 1024 for v in pair(getattr(self, name))):
                raise SpecError("E301", f"`{name}` must be between 1 and 1024", self.where(name))
        if self.padding == "same" and pair(self.stride) != (1, 1):
            raise SpecError(
                "E301",
                "`padding=same` needs stride 1 (frameworks disagree on it otherwise)",
                self.where("padding"),
                help="use an explicit padding number with strides > 1",
            )
        if isinstance(self.padding, int) and not 0 <= self.padding <= 1024:
            raise SpecError("E301", "`padding` must be between 0 and 1024", self.where("padding"))
        return self

    def padding_amount(self) -> tuple[int, int]:
        if self.padding == "valid":
            return (0, 0)
        if self.padding == "same":
            kh, kw = pair(self.kernel)
            return ((kh - 1) // 2, (kw - 1) // 2)
        return (int(self.padding), int(self.padding))

    def infer(self, shape: Shape) -> Shape:
        self._need_rank(
            shape,
            (3,),
            "a channels-first image (CxHxW)",
            "declare the input as `input 1x28x28` (channels first)"
            if len(shape) == 2
            else "convolutions take CxHxW inputs",
        )
        _c, h, w = shape
        if self.padding == "same":
            return (int(self.filters), h, w)
        oh, ow = _window_out(
            self, (h, w), pair(self.kernel), pair(self.stride), self.padding_amount()
        )
        return (int(self.filters), oh, ow)

    def params(self, shape: Shape) -> int:
        kh, kw = pair(self.kernel)
        return shape[0] * int(self.filters) * kh * kw + (int(self.filters) if self.bias else 0)

    def flops(self, shape: Shape, out: Shape) -> int:
        kh, kw = pair(self.kernel)
        extra = self.activation.flops(out, out) if self.activation else 0
        return 2 * shape[0] * kh * kw * _size(out) + extra


def pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    if isinstance(value, tuple):
        return (value[0], value[-1])
    return (int(value), int(value))


def _window_out(
    layer: Layer,
    hw: tuple[int, int],
    kernel: tuple[int, int],
    stride: tuple[int, int],
    pad: tuple[int, int],
) -> tuple[int, int]:
    out = tuple(
        (n + 2 * p - k) // s + 1 for n, k, s, p in zip(hw, kernel, stride, pad, strict=True)
    )
    if min(out) < 1:
        raise SpecError(
            "E403",
            f"`{layer.kind_name()}` with a {kernel[0]}x{kernel[1]} window does not fit an input "
            f"of {hw[0]}x{hw[1]}",
            layer.span,
            help="use a smaller kernel/pool, padding, or remove a downsampling layer",
        )
    return (int(out[0]), int(out[1]))


class _Pool2D(Layer):
    positional = ("pool",)
    arg_aliases = {"pool_size": "pool", "kernel_size": "pool"}

    pool: int | tuple[int, int] = 2
    """Window size: `2` or `2x2`."""
    stride: int | tuple[int, int] | None = None
    """Step between windows (default: the window size)."""

    @model_validator(mode="after")
    def _check(self) -> _Pool2D:
        for name in ("pool", "stride"):
            value = getattr(self, name)
            if value is not None and any(v < 1 or v > 1024 for v in pair(value)):
                raise SpecError("E301", f"`{name}` must be between 1 and 1024", self.where(name))
        return self

    def infer(self, shape: Shape) -> Shape:
        self._need_rank(shape, (3,), "a channels-first image (CxHxW)", "pool after a conv2d")
        stride = pair(self.stride) if self.stride is not None else pair(self.pool)
        oh, ow = _window_out(self, shape[1:3], pair(self.pool), stride, (0, 0))  # type: ignore[arg-type]
        return (shape[0], oh, ow)

    def flops(self, shape: Shape, out: Shape) -> int:
        kh, kw = pair(self.pool)
        return _size(out) * kh * kw


class MaxPool2D(_Pool2D):
    """Max over each window (no padding)."""

    kind: Literal["maxpool2d"] = "maxpool2d"
    aliases = ("maxpool", "max_pool2d", "maxpooling2d")


class AvgPool2D(_Pool2D):
    """Mean over each window (no padding)."""

    kind: Literal["avgpool2d"] = "avgpool2d"
    aliases = ("avgpool", "avg_pool2d", "averagepooling2d")


class GlobalAvgPool(Layer):
    """Mean over H and W: (C, H, W) -> (C,)."""

    kind: Literal["global_avgpool"] = "global_avgpool"
    aliases = ("global_average_pool", "global_avg_pool", "globalaveragepooling2d", "gap")

    def infer(self, shape: Shape) -> Shape:
        self._need_rank(shape, (3,), "a channels-first image (CxHxW)", "use it after a conv2d")
        return (shape[0],)

    def flops(self, shape: Shape, out: Shape) -> int:
        return _size(shape)


class Flatten(Layer):
    """Flattens each example to one axis, in (C, H, W) order."""

    kind: Literal["flatten"] = "flatten"

    def infer(self, shape: Shape) -> Shape:
        return (_size(shape),)


class Reshape(Layer):
    """Reshapes each example: `reshape 1x28x28` (sizes must match)."""

    kind: Literal["reshape"] = "reshape"
    positional = ("shape",)

    shape: tuple[int, ...]
    """The new shape, without the batch axis."""

    @model_validator(mode="after")
    def _positive(self) -> Reshape:
        if not self.shape or any(d < 1 for d in self.shape):
            raise SpecError("E301", "reshape sizes must be >= 1", self.where("shape"))
        return self

    def infer(self, shape: Shape) -> Shape:
        if _size(shape) != _size(self.shape):
            raise SpecError(
                "E404",
                f"cannot reshape {fmt_shape(shape)} ({_size(shape)} values) to "
                f"{fmt_shape(self.shape)} ({_size(self.shape)} values)",
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

    momentum: OpenUnitFloat = 0.1
    """Weight of the current batch in the running statistics."""
    eps: PositiveFloat = 1e-5
    """Added to the variance for stability."""

    def infer(self, shape: Shape) -> Shape:
        self._need_rank(shape, (1, 3), "features or a CxHxW image", "flatten first")
        return shape

    def params(self, shape: Shape) -> int:
        return 2 * shape[0]  # gamma, beta (running statistics are buffers, not parameters)

    def flops(self, shape: Shape, out: Shape) -> int:
        return 2 * _size(shape)


class LayerNorm(Layer):
    """Layer normalisation over all of each example's values, with a learned scale and shift."""

    kind: Literal["layernorm"] = "layernorm"
    aliases = ("layer_norm", "layernormalization")
    arg_aliases = {"epsilon": "eps"}

    eps: PositiveFloat = 1e-5
    """Added to the variance for stability."""

    def params(self, shape: Shape) -> int:
        return 2 * _size(shape)

    def flops(self, shape: Shape, out: Shape) -> int:
        return 5 * _size(shape)


class Repeat(Layer):
    """Repeats a stack of layers: `repeat 3 { dense 64 relu }`."""

    kind: Literal["repeat"] = "repeat"
    positional = ("times",)
    collector = "layers"

    times: int = Field(ge=1, le=1000)
    """How many copies."""
    layers: list[AnyLayer] = Field(default_factory=list)
    """The layers of one copy."""


AnyLayer = Annotated[
    Union[
        Dense,
        Conv2D,
        MaxPool2D,
        AvgPool2D,
        GlobalAvgPool,
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
    ],
    Field(discriminator="kind"),
]
Repeat.model_rebuild()
