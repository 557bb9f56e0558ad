"""The spec's model as Keras 3 layers (channels last inside), and its weight mapping.

The IR is channels-first (docs/semantics.md#shapes). Here the model transposes once at its
input boundary to Keras's channels-last layout, transposes back before any `flatten` or
`reshape` so features keep the C, H, W order, and maps each neutral weight array (PyTorch
layout) to its Keras variable through a fixed axis permutation. Only what Keras computes
exactly as the semantics say is a stock layer; batchnorm is our own (`SpecBatchNorm`)
because Keras's running-statistics update differs (momentum convention, biased variance).

Importing this module imports TensorFlow/Keras: only the TensorFlow executor does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from specc.ir import layers as L
from specc.shapes import LayerInfo, ModelShapes

# Channels-first (C, H, W) <-> channels-last (H, W, C) for one example (Keras Permute is 1-based).
TO_CHANNELS_LAST = (2, 3, 1)
TO_CHANNELS_FIRST = (3, 1, 2)


@keras.saving.register_keras_serializable(package="specc")
class SpecBatchNorm(keras.layers.Layer):
    """Batch normalisation with PyTorch's running-statistics convention.

    Training normalises with the biased batch variance and updates
    `running = (1 - momentum) * running + momentum * batch` with the UNBIASED variance;
    evaluation uses the running statistics. A frozen layer (`update_stats=False`) still
    normalises with batch statistics in training but leaves the running ones alone.
    """

    def __init__(
        self, momentum: float = 0.1, eps: float = 1e-5, update_stats: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.update_stats = bool(update_stats)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = (int(input_shape[-1]),)  # type: ignore[arg-type]
        self.gamma = self.add_weight(shape=channels, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=channels, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(
            shape=channels, initializer="zeros", name="moving_mean", trainable=False
        )
        self.moving_variance = self.add_weight(
            shape=channels, initializer="ones", name="moving_variance", trainable=False
        )

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        if not training:
            mean, var = self.moving_mean.value, self.moving_variance.value
        else:
            axes = list(range(len(x.shape) - 1))  # every axis but the channels (last)
            mean, var = tf.nn.moments(x, axes=axes)
            if self.update_stats:
                count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), x.dtype)
                unbiased = var * count / tf.maximum(count - 1.0, 1.0)
                m = self.momentum
                self.moving_mean.assign((1.0 - m) * self.moving_mean.value + m * mean)
                self.moving_variance.assign((1.0 - m) * self.moving_variance.value + m * unbiased)
        return (x - mean) * tf.math.rsqrt(var + self.eps) * self.gamma.value + self.beta.value

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(momentum=self.momentum, eps=self.eps, update_stats=self.update_stats)
        return config


# ---- activations -----------------------------------------------------------------------

_STOCK_ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "selu", "silu")


def activation_layer(act: L.Layer, rank: int, name: str) -> keras.layers.Layer:
    """One Keras layer for an IR activation applied to tensors of IR rank `rank`."""
    kind = act.kind_name()
    if kind in _STOCK_ACTIVATIONS:  # keras.activations.gelu is the exact erf form by default
        return keras.layers.Activation(kind, name=name)
    if isinstance(act, L.LeakyReLU):
        return keras.layers.LeakyReLU(negative_slope=float(act.slope), name=name)
    if isinstance(act, L.ELU):
        return keras.layers.ELU(alpha=float(act.alpha), name=name)
    if isinstance(act, L.Softmax):
        # "Last axis" means W of a channels-first image, which is axis -2 in channels last.
        return keras.layers.Softmax(axis=-2 if rank == 3 else -1, name=name)
    if isinstance(act, L.LogSoftmax):
        return keras.layers.Activation("log_softmax", name=name)
    raise ValueError(f"no TensorFlow mapping for activation {kind}")  # unsupported() refuses first


# ---- layers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightSlot:
    """One neutral weight array and the Keras variable holding it (`perm`: neutral -> Keras)."""

    key: str
    variable: keras.Variable
    perm: tuple[int, ...] | None
    trainable: bool

    def to_keras(self, array: np.ndarray) -> np.ndarray:
        return np.transpose(array, self.perm) if self.perm else array

    def to_neutral(self, array: np.ndarray) -> np.ndarray:
        return np.transpose(array, np.argsort(self.perm)) if self.perm else array


Builder = Callable[[LayerInfo], list[keras.layers.Layer]]


def helper_name(layer: str, role: str) -> str:
    """The name of a layer the spec did not write (`dense_1-activation`): the `-` keeps it
    apart from every spec name, which is letters, digits and `_` (Keras needs unique names)."""
    return f"{layer}-{role}"


def _with_activation(info: LayerInfo, core: keras.layers.Layer) -> list[keras.layers.Layer]:
    act = getattr(info.layer, "activation", None)
    if act is None:
        return [core]
    return [core, activation_layer(act, len(info.output), helper_name(info.name, "activation"))]


def _dense(info: LayerInfo) -> list[keras.layers.Layer]:
    layer: L.Dense = info.layer  # type: ignore[assignment]
    core = keras.layers.Dense(int(layer.units), use_bias=layer.bias, name=info.name)
    return _with_activation(info, core)


def _conv(info: LayerInfo) -> list[keras.layers.Layer]:
    layer: L.Conv2D = info.layer  # type: ignore[assignment]
    out: list[keras.layers.Layer] = []
    padding = "same" if layer.padding == "same" else "valid"
    if isinstance(layer.padding, int) and layer.padding > 0:
        out.append(
            keras.layers.ZeroPadding2D(int(layer.padding), name=helper_name(info.name, "pad"))
        )
    # TF's "same" pads (k-1)//2 before and the rest after: exactly the semantics (stride 1).
    core = keras.layers.Conv2D(
        int(layer.filters),
        L.pair(layer.kernel),
        strides=L.pair(layer.stride),
        padding=padding,
        use_bias=layer.bias,
        name=info.name,
    )
    return out + _with_activation(info, core)


def _pool(cls: type[keras.layers.Layer]) -> Builder:
    def build(info: LayerInfo) -> list[keras.layers.Layer]:
        layer: L.MaxPool2D = info.layer  # type: ignore[assignment]
        stride = L.pair(layer.stride) if layer.stride is not None else L.pair(layer.pool)
        return [cls(L.pair(layer.pool), strides=stride, padding="valid", name=info.name)]

    return build


def _flatten(info: LayerInfo) -> list[keras.layers.Layer]:
    first = _to_channels_first(info)
    return [*first, keras.layers.Flatten(name=info.name)]


def _reshape(info: LayerInfo) -> list[keras.layers.Layer]:
    layer: L.Reshape = info.layer  # type: ignore[assignment]
    out = [*_to_channels_first(info), keras.layers.Reshape(tuple(layer.shape), name=info.name)]
    if len(layer.shape) == 3:
        out.append(keras.layers.Permute(TO_CHANNELS_LAST, name=helper_name(info.name, "to-last")))
    return out


def _to_channels_first(info: LayerInfo) -> list[keras.layers.Layer]:
    if len(info.input) != 3:
        return []
    return [keras.layers.Permute(TO_CHANNELS_FIRST, name=helper_name(info.name, "to-first"))]


def _dropout(seed: int) -> Builder:
    def build(info: LayerInfo) -> list[keras.layers.Layer]:
        rate = float(info.layer.rate)  # type: ignore[attr-defined]
        return [keras.layers.Dropout(rate, seed=seed, name=info.name)]

    return build


def _batchnorm(info: LayerInfo) -> list[keras.layers.Layer]:
    layer: L.BatchNorm = info.layer  # type: ignore[assignment]
    bn = SpecBatchNorm(
        momentum=float(layer.momentum),
        eps=float(layer.eps),
        update_stats=not layer.frozen,
        name=info.name,
    )
    return [bn]


def _layernorm(info: LayerInfo) -> list[keras.layers.Layer]:
    layer: L.LayerNorm = info.layer  # type: ignore[assignment]
    axes = list(range(1, len(info.input) + 1))
    return [keras.layers.LayerNormalization(axis=axes, epsilon=float(layer.eps), name=info.name)]


def _activation(info: LayerInfo) -> list[keras.layers.Layer]:
    return [activation_layer(info.layer, len(info.input), info.name)]


def _global_avgpool(info: LayerInfo) -> list[keras.layers.Layer]:
    return [keras.layers.GlobalAveragePooling2D(name=info.name)]


def _builders(seed: int) -> dict[type[L.Layer], Builder]:
    table: dict[type[L.Layer], Builder] = {
        L.Dense: _dense,
        L.Conv2D: _conv,
        L.MaxPool2D: _pool(keras.layers.MaxPooling2D),
        L.AvgPool2D: _pool(keras.layers.AveragePooling2D),
        L.GlobalAvgPool: _global_avgpool,
        L.Flatten: _flatten,
        L.Reshape: _reshape,
        L.Dropout: _dropout(seed),
        L.BatchNorm: _batchnorm,
        L.LayerNorm: _layernorm,
    }
    activations: tuple[type[L.Layer], ...] = (
        *(L.ReLU, L.LeakyReLU, L.Sigmoid, L.Tanh, L.Softmax, L.LogSoftmax),
        *(L.GELU, L.ELU, L.SELU, L.SiLU),
    )
    for act in activations:
        table[act] = _activation
    return table


# ---- the whole model -------------------------------------------------------------------


@dataclass
class KerasModel:
    """The Keras model plus what the executor needs to train it exactly."""

    model: keras.Sequential
    layers: list[keras.layers.Layer]  # in order, after the input boundary permute
    train_layers: int  # how many of `layers` the training forward runs (fused activation off)
    slots: list[WeightSlot]
    dropouts: list[keras.layers.Dropout]

    def forward(self, x: tf.Tensor, training: bool, logits: bool) -> tf.Tensor:
        count = self.train_layers if logits else len(self.layers)
        for layer in self.layers[:count]:
            x = layer(x, training=training)
        return x


def build_keras_model(
    shapes: ModelShapes, fused: bool, seed: int, precision: str = "fp32"
) -> KerasModel:
    """Keras layers for every IR layer, the Sequential around them, and the weight slots.

    `fused`: the loss takes logits, so training skips the final activation layer.
    `precision bf16`: Keras's `mixed_bfloat16` policy (bfloat16 compute, float32 weights)
    on every layer but the normalisations, which stay float32 like under torch's autocast.
    """
    table = _builders(seed)
    per_layer: list[tuple[LayerInfo, list[keras.layers.Layer]]] = []
    for info in shapes.layers:
        built = table[type(info.layer)](info)
        if info.layer.frozen:
            for layer in built:
                layer.trainable = False
        per_layer.append((info, built))
    layers = [layer for _, built in per_layer for layer in built]
    boundary: list[keras.layers.Layer] = []
    if len(shapes.input) == 3:
        boundary = [keras.layers.Permute(TO_CHANNELS_LAST, name="to-channels-last")]
    layers = boundary + layers
    if precision == "bf16":
        for layer in layers:
            if not isinstance(layer, (SpecBatchNorm, keras.layers.LayerNormalization)):
                layer.dtype_policy = keras.DTypePolicy("mixed_bfloat16")
    model = keras.Sequential(
        [keras.Input(shape=tuple(shapes.input)), *layers], name=shapes.model.name
    )
    train_layers = len(layers) - (1 if fused else 0)
    slots = [slot for info, built in per_layer for slot in _slots(info, built)]
    dropouts = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    return KerasModel(model, layers, train_layers, slots, dropouts)


def _slots(info: LayerInfo, built: list[keras.layers.Layer]) -> list[WeightSlot]:
    """Neutral key -> Keras variable for one IR layer (empty for weightless layers)."""
    core = next((layer for layer in built if layer.name == info.name), None)
    if core is None or not core.weights:
        return []
    trainable = not info.layer.frozen
    name = info.name
    if isinstance(info.layer, L.Dense):
        out = [WeightSlot(f"{name}.weight", core.kernel, (1, 0), trainable)]
        return out + (
            [WeightSlot(f"{name}.bias", core.bias, None, trainable)] if core.use_bias else []
        )
    if isinstance(info.layer, L.Conv2D):
        out = [WeightSlot(f"{name}.weight", core.kernel, (2, 3, 1, 0), trainable)]
        return out + (
            [WeightSlot(f"{name}.bias", core.bias, None, trainable)] if core.use_bias else []
        )
    if isinstance(info.layer, L.BatchNorm):
        return [
            WeightSlot(f"{name}.weight", core.gamma, None, trainable),
            WeightSlot(f"{name}.bias", core.beta, None, trainable),
            WeightSlot(f"{name}.running_mean", core.moving_mean, None, False),
            WeightSlot(f"{name}.running_var", core.moving_variance, None, False),
        ]
    if isinstance(info.layer, L.LayerNorm):
        perm = TO_CHANNELS_LAST_AXES if len(info.input) == 3 else None
        return [
            WeightSlot(f"{name}.weight", core.gamma, perm, trainable),
            WeightSlot(f"{name}.bias", core.beta, perm, trainable),
        ]
    raise ValueError(f"no weight mapping for layer kind {info.layer.kind_name()}")


# (C, H, W) array axes -> (H, W, C): numpy 0-based, unlike Keras's Permute.
TO_CHANNELS_LAST_AXES = (1, 2, 0)
