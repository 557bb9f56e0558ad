"""The sequence kinds (specc/ir/sequence.py) as Keras layers, for the TensorFlow executor.

Sequences are (N, L, D), as Keras holds them; the channels-last rewrite leaves (L, D)
alone (specc/lowering/layout.py). `embedding` is Keras's own layer (its `embeddings` is
the neutral (V, D) table). The recurrent layers and self-attention are small layers of our
own whose arrays map one to one to PyTorch's (specc/lowering/weights.py): the recurrent
ones keep Keras's gate order ([i, f, c, o] for the LSTM, [z, r, h] for the GRU, with
`reset_after`), the rows reordered on the way in, and a second, recurrent bias as PyTorch
has (so the parameter counts are PyTorch's). The padding mask is passed explicitly by
`KerasModel.forward` to the layers marked `takes_mask` (docs/semantics.md#masking).

Importing this module imports TensorFlow/Keras: only the TensorFlow executor does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import keras
import tensorflow as tf

from specc.executors.tensorflow import attention
from specc.executors.tensorflow.attention import TakesMask
from specc.ir import conv as C
from specc.ir import sequence as S
from specc.lowering import Step


@keras.saving.register_keras_serializable(package="specc")
class PositionEmbedding(keras.layers.Layer):
    """x + a learned (L, D) table."""

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        shape = (int(input_shape[1]), int(input_shape[2]))  # type: ignore[arg-type]
        self.embeddings = self.add_weight(shape=shape, initializer="zeros", name="embeddings")

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return x + self.embeddings.value


@keras.saving.register_keras_serializable(package="specc")
class SinusoidalPositions(keras.layers.Layer):
    """x + the fixed table of `specc.ir.sequence.sinusoid` (a constant, no weights)."""

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        length, dim = int(input_shape[1]), int(input_shape[2])  # type: ignore[arg-type]
        self.table = tf.constant(S.sinusoid(length, dim), dtype=tf.float32)

    def call(self, x: tf.Tensor) -> tf.Tensor:
        return x + tf.cast(self.table, x.dtype)


@keras.saving.register_keras_serializable(package="specc")
class LastStep(TakesMask):
    """(N, L, D) -> (N, D): the last step, or with the mask the last unpadded one (zeros
    for an all-padding example)."""

    def call(self, x: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
        if mask is None:
            return x[:, -1]
        steps = tf.range(tf.shape(x)[1])
        index = tf.reduce_max(tf.where(tf.cast(mask, tf.bool), steps, -1), axis=1)  # (N,)
        picked = tf.gather(x, tf.maximum(index, 0), axis=1, batch_dims=1)
        return picked * tf.cast(index >= 0, x.dtype)[:, None]


def _gates(z: tf.Tensor, count: int) -> list[tf.Tensor]:
    return tf.split(z, count, axis=-1)  # type: ignore[no-any-return]


def _lstm_step(params: dict[str, tf.Tensor]) -> Callable[[Any, tf.Tensor], Any]:
    def step(state: Any, xp: tf.Tensor) -> Any:
        h, c = state
        z = xp + tf.matmul(h, params["recurrent_kernel"]) + params["recurrent_bias"]
        i, f, g, o = _gates(z, 4)  # Keras's order [i, f, c, o]: PyTorch's [i, f, g, o]
        c = tf.sigmoid(f) * c + tf.sigmoid(i) * tf.tanh(g)
        return (tf.sigmoid(o) * tf.tanh(c), c)

    return step


def _gru_step(params: dict[str, tf.Tensor]) -> Callable[[Any, tf.Tensor], Any]:
    def step(state: Any, xp: tf.Tensor) -> Any:
        (h,) = state
        hz, hr, hh = _gates(tf.matmul(h, params["recurrent_kernel"]) + params["recurrent_bias"], 3)
        xz, xr, xh = _gates(xp, 3)  # Keras's order [z, r, h]
        z, r = tf.sigmoid(xz + hz), tf.sigmoid(xr + hr)
        n = tf.tanh(xh + r * hh)  # reset after the recurrent bias (`reset_after=True`)
        return (z * h + (1.0 - z) * n,)

    return step


STEPS = {"lstm": (_lstm_step, 4, 2), "gru": (_gru_step, 3, 1)}  # (step, gates, states)


ARRAYS = ("kernel", "recurrent_kernel", "bias", "recurrent_bias")


@keras.saving.register_keras_serializable(package="specc")
class Recurrent(TakesMask):
    """An LSTM or GRU over (N, L, D), optionally bidirectional and stacked, by `tf.scan`.

    Per stacked layer k and direction: `kernel` (D, G*H), `recurrent_kernel` (H, G*H), `bias`
    and `recurrent_bias` (G*H,), suffixed `_l{k}` for k > 0 and `_reverse` for the backward
    direction. Given the padding mask, a padded step keeps the state and outputs zeros
    (docs/semantics.md#masking); `dropout` drops the outputs of every layer but the last
    while training (PyTorch's `dropout`).
    """

    def __init__(
        self,
        cell: str,
        units: int,
        sequences: bool,
        bidirectional: bool,
        layers: int = 1,
        dropout: float = 0.0,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.cell, self.units = cell, int(units)
        self.sequences, self.bidirectional = bool(sequences), bool(bidirectional)
        self.layers, self.dropout = int(layers), float(dropout)
        self.between = keras.layers.Dropout(self.dropout) if self.dropout else None

    def _suffixes(self, layer: int) -> tuple[str, ...]:
        stacked = f"_l{layer}" if layer else ""
        return (stacked, stacked + "_reverse") if self.bidirectional else (stacked,)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        width = int(self.units) * STEPS[self.cell][1]
        features = int(input_shape[-1])  # type: ignore[arg-type]
        for layer in range(self.layers):
            inputs = features if layer == 0 else self.units * (2 if self.bidirectional else 1)
            for suffix in self._suffixes(layer):
                for name, shape in zip(
                    ARRAYS, ((inputs, width), (self.units, width), (width,), (width,)), strict=True
                ):
                    weight = self.add_weight(shape=shape, initializer="zeros", name=name + suffix)
                    setattr(self, name + suffix, weight)

    def _direction(self, x: tf.Tensor, keep: tf.Tensor, suffix: str) -> tuple[tf.Tensor, tf.Tensor]:
        """(outputs (N, L, H) in input order, zero at padded steps; final hidden state (N, H)).
        `keep` (L, N, 1) is 1 at an unpadded step, 0 where the state is carried over."""
        params = {name: getattr(self, name + suffix).value for name in ARRAYS}
        make, _, states = STEPS[self.cell]
        cell = make(params)
        xp = tf.matmul(x, params["kernel"]) + params["bias"]  # (N, L, G*H)
        xp = tf.transpose(xp, (1, 0, 2))  # time major for the scan
        backward = suffix.endswith("_reverse")
        if backward:
            xp, keep = tf.reverse(xp, axis=[0]), tf.reverse(keep, axis=[0])

        def step(state: Any, inputs: tuple[tf.Tensor, tf.Tensor]) -> Any:
            xt, kt = inputs
            new = cell(state, xt)
            return tuple(kt * n + (1.0 - kt) * old for n, old in zip(new, state, strict=True))

        zeros = tf.zeros((tf.shape(x)[0], self.units), dtype=x.dtype)
        out = tf.scan(step, (xp, keep), initializer=(zeros,) * states)
        hs = out[0] * keep  # (L, N, H): a padded step outputs zeros
        last = out[0][-1]
        if backward:
            hs = tf.reverse(hs, axis=[0])
        return tf.transpose(hs, (1, 0, 2)), last

    def call(
        self, x: tf.Tensor, mask: tf.Tensor | None = None, training: bool = False
    ) -> tf.Tensor:
        keep = tf.ones_like(x[..., :1]) if mask is None else tf.cast(mask, x.dtype)[..., None]
        keep = tf.transpose(keep, (1, 0, 2))  # (L, N, 1): 1 at an unpadded step
        for layer in range(self.layers):
            if layer and self.between is not None:
                x = self.between(x, training=training)
            runs = [self._direction(x, keep, suffix) for suffix in self._suffixes(layer)]
            x = tf.concat([seq for seq, _ in runs], axis=-1)
        if self.sequences:
            return x
        return tf.concat([last for _, last in runs], axis=-1)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            cell=self.cell,
            units=self.units,
            sequences=self.sequences,
            bidirectional=self.bidirectional,
            layers=self.layers,
            dropout=self.dropout,
        )
        return config


@keras.saving.register_keras_serializable(package="specc")
class SequencePool(TakesMask):
    """Mean or max over L of (N, L, D), without the padded positions (none left: 0)."""

    def __init__(self, how: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.how = how

    def call(self, x: tf.Tensor, mask: tf.Tensor | None = None) -> tf.Tensor:
        if mask is None:
            return tf.reduce_mean(x, 1) if self.how == "avg" else tf.reduce_max(x, 1)
        keep = tf.cast(mask, tf.bool)[..., None]  # (N, L, 1)
        if self.how == "avg":
            weight = tf.cast(keep, x.dtype)
            count = tf.maximum(tf.reduce_sum(weight, 1), 1.0)
            return tf.reduce_sum(x * weight, 1) / count
        top = tf.reduce_max(tf.where(keep, x, tf.constant(-math.inf, x.dtype)), 1)
        return tf.where(tf.reduce_any(keep, 1), top, tf.zeros_like(top))

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(how=self.how)
        return config


_STOCK_POOLS = {
    ("avg", 1): keras.layers.GlobalAveragePooling1D,
    ("avg", 2): keras.layers.GlobalAveragePooling2D,
    ("max", 1): keras.layers.GlobalMaxPooling1D,
    ("max", 2): keras.layers.GlobalMaxPooling2D,
}


def global_pool(how: str) -> Callable[[Step], list[keras.layers.Layer]]:
    """Over an (L, D) token sequence our own masked pool; over a (channels-last) image or
    conv1d sequence Keras's own."""

    def build(step: Step) -> list[keras.layers.Layer]:
        if S.is_sequence(step.input):
            return [SequencePool(how, name=step.name)]
        return [_STOCK_POOLS[how, len(step.input) - 1](name=step.name)]

    return build


def _embedding(step: Step) -> list[keras.layers.Layer]:
    layer: S.Embedding = step.ir  # type: ignore[assignment]
    built = keras.layers.Embedding(int(layer.vocab), int(layer.dim), name=step.name)
    built.spec_pad = layer.pad  # `KerasModel.forward` makes the mask from it
    return [built]


def _position_embedding(step: Step) -> list[keras.layers.Layer]:
    layer: S.PositionEmbedding = step.ir  # type: ignore[assignment]
    kind = SinusoidalPositions if layer.sinusoidal else PositionEmbedding
    return [kind(name=step.name)]


def _recurrent(step: Step) -> list[keras.layers.Layer]:
    layer: Any = step.ir
    built = Recurrent(
        layer.kind_name(),
        int(layer.units),
        layer.sequences,
        layer.bidirectional,
        layer.depth,
        float(layer.dropout),
        name=step.name,
    )
    return [built]


# Our layers read their variables' values directly: under `precision bf16` they stay
# float32 (Keras casts their inputs), like the normalisations.
FLOAT32 = (
    PositionEmbedding,
    SinusoidalPositions,
    LastStep,
    Recurrent,
    SequencePool,
    attention.SelfAttention,
    attention.TransformerEncoder,
)

LAYERS: dict[type, Callable[[Step], list[keras.layers.Layer]]] = {
    S.Embedding: _embedding,
    S.PositionEmbedding: _position_embedding,
    S.LastStep: lambda step: [LastStep(name=step.name)],
    S.LSTM: _recurrent,
    S.GRU: _recurrent,
    **attention.LAYERS,
    C.GlobalMaxPool: global_pool("max"),
}
