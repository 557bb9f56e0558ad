"""Convolutions and pooling over images (C, H, W), and global pooling.

A 2-D kind takes `3` or `3x3` for its window; windows never pad except a convolution's
`padding` (docs/semantics.md#shapes).
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.activations import ActivationKind
from specc.ir.inits import GlorotUniform, Init, Zeros
from specc.ir.layer import Affine, Layer, Shape, size
from specc.ir.sequence import TimeMajor, is_sequence
from specc.ir.spaces import PositiveInt


def pair(value: int | tuple[int, ...]) -> tuple[int, int]:
    if isinstance(value, tuple):
        return (value[0], value[-1])
    return (int(value), int(value))


def window_out(
    layer: Layer,
    sizes: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    pad: tuple[int, ...],
) -> tuple[int, ...]:
    """Output positions per spatial axis; E403 when the window does not fit."""
    out = tuple(
        (n + 2 * p - k) // s + 1 for n, k, s, p in zip(sizes, kernel, stride, pad, strict=True)
    )
    if min(out) < 1:
        window = "x".join(str(k) for k in kernel)
        written = "x".join(str(n) for n in sizes)
        raise SpecError(
            "E403",
            f"`{layer.kind_name()}` with a {window} window does not fit an input of {written}",
            layer.span,
            help="use a smaller kernel/pool, padding, or remove a downsampling layer",
        )
    return tuple(int(v) for v in out)


def over_time(layer: Conv | Pool, shape: Shape) -> Shape:
    """A 1-D kind over an (L, D) token sequence: what it gives the channels-first (D, L),
    time first again; the 2-D kinds refuse it (E402)."""
    if layer.spatial_rank != 1:
        layer._need_rank(
            shape, (3,), "a channels-first image (CxHxW)", "use conv1d over an LxD sequence"
        )
    channels, length = layer.infer((shape[1], shape[0]))
    return TimeMajor((length, channels))


class Conv(Affine):
    """Base of the convolutions: fields are declared by each kind, the rules live here.

    `spatial_rank` is how many axes follow the channels (2 for CxHxW images, 1 for CxL
    sequences); kernel and stride are one number per such axis (`window`)."""

    layout = "spatial"
    parity_group = "conv"
    spatial_rank: ClassVar[int] = 2

    @model_validator(mode="after")
    def _check(self) -> Conv:
        for name in ("kernel", "stride"):
            if any(v < 1 or v > 1024 for v in self.window(getattr(self, name))):
                raise SpecError("E301", f"`{name}` must be between 1 and 1024", self.where(name))
        if self.padding == "same" and set(self.window(self.stride)) != {1}:  # type: ignore[attr-defined]
            raise SpecError(
                "E301",
                "`padding=same` needs stride 1 (frameworks disagree on it otherwise)",
                self.where("padding"),
                help="use an explicit padding number with strides > 1",
            )
        padding = self.padding  # type: ignore[attr-defined]
        if isinstance(padding, int) and not 0 <= padding <= 1024:
            raise SpecError("E301", "`padding` must be between 0 and 1024", self.where("padding"))
        return self

    def window(self, value: int | tuple[int, ...]) -> tuple[int, ...]:
        """A kernel/stride as one number per spatial axis."""
        if self.spatial_rank == 1:
            return (int(value if isinstance(value, int) else value[0]),)
        return pair(value)

    def padding_amount(self) -> tuple[int, ...]:
        """Padding before each spatial axis (`same`: (k-1)//2, the rest after)."""
        kernel = self.window(self.kernel)  # type: ignore[attr-defined]
        padding = self.padding  # type: ignore[attr-defined]
        if padding == "valid":
            return tuple(0 for _ in kernel)
        if padding == "same":
            return tuple((k - 1) // 2 for k in kernel)
        return tuple(int(padding) for _ in kernel)

    def infer(self, shape: Shape) -> Shape:
        if is_sequence(shape):  # conv1d over an (L, D) token sequence: D channels along L
            return over_time(self, shape)
        rank = self.spatial_rank + 1
        if rank == 3:
            what, help = (
                "a channels-first image (CxHxW)",
                "declare the input as `input 1x28x28` (channels first)"
                if len(shape) == 2
                else "convolutions take CxHxW inputs",
            )
        else:
            what, help = "a channels-first sequence (CxL)", "declare the input as `input 1x100`"
        self._need_rank(shape, (rank,), what, help)
        if self.padding == "same":  # type: ignore[attr-defined]
            return (self.out_channels(), *shape[1:])
        out = window_out(
            self,
            shape[1:],
            self.window(self.kernel),  # type: ignore[attr-defined]
            self.window(self.stride),  # type: ignore[attr-defined]
            self.padding_amount(),
        )
        return (self.out_channels(), *out)

    def kernel_shape(self, shape: Shape) -> Shape:
        channels = shape[-1] if is_sequence(shape) else shape[0]
        return (self.out_channels(), channels, *self.window(self.kernel))  # type: ignore[attr-defined]

    def out_channels(self) -> int:
        return int(self.filters)  # type: ignore[attr-defined]

    def flops(self, shape: Shape, out: Shape) -> int:
        window = size(self.window(self.kernel))  # type: ignore[attr-defined]
        channels = shape[-1] if is_sequence(shape) else shape[0]
        return 2 * channels * window * size(out) + self.activation_flops(out)


class Conv2D(Conv):
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


class Conv1D(Conv):
    """1-D convolution over (C, L) sequences (PyTorch Conv1d), or along L of an (L, D) token
    sequence with D channels, giving (L', filters) (Keras Conv1D's layout)."""

    kind: Literal["conv1d"] = "conv1d"
    positional = ("filters", "kernel", "activation")
    aliases = ("conv1",)
    arg_aliases = {"out_channels": "filters", "kernel_size": "kernel", "use_bias": "bias"}
    spatial_rank = 1
    reads_time_major: ClassVar[bool] = True  # also an (L, D) token sequence, along L

    filters: PositiveInt
    """Number of output channels."""
    kernel: int = 3
    """Kernel size (positions)."""
    stride: int = 1
    """Step between windows."""
    padding: Literal["valid", "same"] | int = "valid"
    """`valid` (no padding), `same` (output length = input length), or a number."""
    activation: ActivationKind | None = None
    """Activation applied to the output (none: linear)."""
    bias: bool = True
    """Add a learned bias per channel."""
    init: Init = Field(default_factory=GlorotUniform)
    """Kernel initialiser."""
    bias_init: Init = Field(default_factory=Zeros)
    """Bias initialiser."""


class Pool(Layer):
    """Base of the windowed pools (max, mean): no padding, `spatial_rank` axes after C."""

    positional = ("pool",)
    arg_aliases = {"pool_size": "pool", "kernel_size": "pool"}
    layout = "spatial"
    parity_group = "conv"
    spatial_rank: ClassVar[int] = 2

    @model_validator(mode="after")
    def _check(self) -> Pool:
        for name in ("pool", "stride"):
            value = getattr(self, name)
            if value is not None and any(v < 1 or v > 1024 for v in self.window(value)):
                raise SpecError("E301", f"`{name}` must be between 1 and 1024", self.where(name))
        return self

    def window(self, value: int | tuple[int, ...]) -> tuple[int, ...]:
        if self.spatial_rank == 1:
            return (int(value if isinstance(value, int) else value[0]),)
        return pair(value)

    def strides(self) -> tuple[int, ...]:
        stride = self.stride  # type: ignore[attr-defined]
        return self.window(stride if stride is not None else self.pool)  # type: ignore[attr-defined]

    def infer(self, shape: Shape) -> Shape:
        if is_sequence(shape):  # a 1-D pool over an (L, D) token sequence: along L
            return over_time(self, shape)
        if self.spatial_rank == 1:
            self._need_rank(shape, (2,), "a channels-first sequence (CxL)", "pool after a conv1d")
        else:
            self._need_rank(shape, (3,), "a channels-first image (CxHxW)", "pool after a conv2d")
        window = self.window(self.pool)  # type: ignore[attr-defined]
        out = window_out(self, shape[1:], window, self.strides(), tuple(0 for _ in window))
        return (shape[0], *out)

    def flops(self, shape: Shape, out: Shape) -> int:
        return size(out) * size(self.window(self.pool))  # type: ignore[attr-defined]


class Pool2D(Pool):
    """Base of the 2-D pools: a window over H and W, no padding."""

    pool: int | tuple[int, int] = 2
    """Window size: `2` or `2x2`."""
    stride: int | tuple[int, int] | None = None
    """Step between windows (default: the window size)."""


class MaxPool2D(Pool2D):
    """Max over each window (no padding)."""

    kind: Literal["maxpool2d"] = "maxpool2d"
    aliases = ("maxpool", "max_pool2d", "maxpooling2d")


class AvgPool2D(Pool2D):
    """Mean over each window (no padding)."""

    kind: Literal["avgpool2d"] = "avgpool2d"
    aliases = ("avgpool", "avg_pool2d", "averagepooling2d")


class Pool1D(Pool):
    """Base of the 1-D pools: a window over L, no padding."""

    spatial_rank = 1
    reads_time_major: ClassVar[bool] = True  # also an (L, D) token sequence, along L

    pool: int = 2
    """Window size (positions)."""
    stride: int | None = None
    """Step between windows (default: the window size)."""


class MaxPool1D(Pool1D):
    """Max over each window of a (C, L) sequence (no padding)."""

    kind: Literal["maxpool1d"] = "maxpool1d"
    aliases = ("max_pool1d", "maxpooling1d")


class AvgPool1D(Pool1D):
    """Mean over each window of a (C, L) sequence (no padding)."""

    kind: Literal["avgpool1d"] = "avgpool1d"
    aliases = ("avg_pool1d", "averagepooling1d")


class GlobalPool(Layer):
    """Base of the global pools: every position to one value per channel (or per feature
    of an (L, D) token sequence, ignoring padded positions)."""

    layout = "spatial"
    parity_group = "conv"
    honours_mask: ClassVar[bool] = True  # on an (L, D) token sequence (specc/ir/sequence.py)

    def infer(self, shape: Shape) -> Shape:
        if is_sequence(shape):
            return (shape[-1],)
        self._need_rank(
            shape,
            (2, 3),
            "a channels-first image (CxHxW) or sequence (CxL)",
            "use it after a conv2d, conv1d or embedding",
        )
        return (shape[0],)

    def flops(self, shape: Shape, out: Shape) -> int:
        return size(shape)


class GlobalAvgPool(GlobalPool):
    """Mean over every position: (C, H, W) -> (C,) for images, (C, L) -> (C,) for sequences,
    and an (L, D) token sequence -> (D,) over its L axis, ignoring padded positions."""

    kind: Literal["global_avgpool"] = "global_avgpool"
    aliases = (
        *("global_average_pool", "global_avg_pool", "gap"),
        *("globalaveragepooling2d", "globalaveragepooling1d"),
    )


class GlobalMaxPool(GlobalPool):
    """Max over every position: (C, H, W) -> (C,), (C, L) -> (C,), and an (L, D) token
    sequence -> (D,) over its L axis, ignoring padded positions."""

    kind: Literal["global_maxpool"] = "global_maxpool"
    aliases = (
        *("global_max_pool", "gmp"),
        *("globalmaxpooling2d", "globalmaxpooling1d"),
    )
