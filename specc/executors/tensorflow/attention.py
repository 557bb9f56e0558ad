"""Self-attention and the transformer encoder block (specc/ir/attention.py) as Keras
layers of our own, holding PyTorch's arrays one to one (transposed matrices, `_` for `.` in
the names: specc/lowering/weights.py) and computing exactly what the torch backend does,
masking included (docs/semantics.md#masking).

Importing this module imports TensorFlow/Keras: only the TensorFlow executor does.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import Any

import keras
import tensorflow as tf

from specc.ir import attention as A
from specc.lowering import Step

HIDDEN = -1e9  # the score of a key a query may not see (as the torch backend: no NaN)


class TakesMask(keras.layers.Layer):
    """A layer given the mask explicitly: it attaches none to its output (Keras's implicit
    mask propagation stays off, so no stock layer acts on a mask the IR did not give it)."""

    def compute_mask(self, inputs: Any, previous_mask: Any = None) -> None:
        return None


def attend(
    x: tf.Tensor,
    mask: tf.Tensor | None,
    arrays: tuple[tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor],
    heads: int,
    causal: bool,
    dropout: keras.layers.Dropout,
    training: bool,
) -> tf.Tensor:
    """Multi-head self-attention of (N, L, D) with PyTorch's arrays transposed for `x @ W`:
    (in_proj (D, 3D), in_proj_bias, out_proj (D, D), out_proj_bias)."""
    in_w, in_b, out_w, out_b = arrays
    n, length, d = tf.shape(x)[0], tf.shape(x)[1], int(x.shape[-1])
    head = d // heads

    def split(t: tf.Tensor) -> tf.Tensor:  # (N, L, D) -> (N, heads, L, D/heads)
        return tf.transpose(tf.reshape(t, (n, length, heads, head)), (0, 2, 1, 3))

    q, k, v = (split(t) for t in tf.split(tf.matmul(x, in_w) + in_b, 3, axis=-1))
    scores = tf.matmul(q, k, transpose_b=True) / math.sqrt(head)  # (N, heads, L, L)
    visible = None
    if mask is not None:
        visible = tf.cast(mask, tf.bool)[:, None, None, :]
    if causal:
        lower = tf.linalg.band_part(tf.ones((length, length), tf.bool), -1, 0)[None, None]
        visible = lower if visible is None else tf.logical_and(visible, lower)
    if visible is not None:
        scores = tf.where(visible, scores, tf.constant(HIDDEN, scores.dtype))
    weights = dropout(tf.nn.softmax(scores, axis=-1), training=training)
    out = tf.reshape(tf.transpose(tf.matmul(weights, v), (0, 2, 1, 3)), (n, length, d))
    return tf.matmul(out, out_w) + out_b


def _attention_arrays(layer: keras.layers.Layer, d: int, prefix: str) -> None:
    add = layer.add_weight
    for name, shape in (
        ("in_proj_weight", (d, 3 * d)),
        ("in_proj_bias", (3 * d,)),
        ("out_proj_weight", (d, d)),
        ("out_proj_bias", (d,)),
    ):
        setattr(layer, prefix + name, add(shape=shape, initializer="zeros", name=prefix + name))


def _values(layer: keras.layers.Layer, names: tuple[str, ...]) -> tuple[tf.Tensor, ...]:
    return tuple(getattr(layer, name).value for name in names)


ATTENTION_ARRAYS = ("in_proj_weight", "in_proj_bias", "out_proj_weight", "out_proj_bias")


@keras.saving.register_keras_serializable(package="specc")
class SelfAttention(TakesMask):
    """Multi-head self-attention with PyTorch's arrays (transposed for `x @ W`):
    `in_proj_weight` (D, 3D) for query, key, value; `out_proj_weight` (D, D); biases."""

    def __init__(self, heads: int, causal: bool, dropout: float, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.heads, self.causal, self.rate = int(heads), bool(causal), float(dropout)
        self.dropout = keras.layers.Dropout(self.rate, seed=0)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        _attention_arrays(self, int(input_shape[-1]), "")  # type: ignore[arg-type]

    def call(
        self, x: tf.Tensor, mask: tf.Tensor | None = None, training: bool = False
    ) -> tf.Tensor:
        arrays = _values(self, ATTENTION_ARRAYS)
        return attend(x, mask, arrays, self.heads, self.causal, self.dropout, training)  # type: ignore[arg-type]

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(heads=self.heads, causal=self.causal, dropout=self.rate)
        return config


def _layer_norm(x: tf.Tensor, scale: tf.Tensor, shift: tf.Tensor, eps: float) -> tf.Tensor:
    """PyTorch's LayerNorm over the last axis (biased variance)."""
    mean, var = tf.nn.moments(x, axes=[-1], keepdims=True)
    return (x - mean) * tf.math.rsqrt(var + eps) * scale + shift


@keras.saving.register_keras_serializable(package="specc")
class TransformerEncoder(TakesMask):
    """nn.TransformerEncoderLayer's computation and arrays (names with `_` for `.`:
    `self_attn_in_proj_weight`, `linear1_weight` (D, ff), `norm1_weight`, ...)."""

    def __init__(
        self,
        heads: int,
        ff: int,
        norm: str,
        dropout: float,
        activation: str,
        causal: bool,
        eps: float,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.heads, self.ff, self.norm, self.rate = int(heads), int(ff), norm, float(dropout)
        self.activation, self.causal, self.eps = activation, bool(causal), float(eps)
        self.drops = [keras.layers.Dropout(self.rate, seed=i) for i in range(4)]

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        d = int(input_shape[-1])  # type: ignore[arg-type]
        _attention_arrays(self, d, "self_attn_")
        for name, shape, init in (
            ("linear1_weight", (d, self.ff), "zeros"),
            ("linear1_bias", (self.ff,), "zeros"),
            ("linear2_weight", (self.ff, d), "zeros"),
            ("linear2_bias", (d,), "zeros"),
            ("norm1_weight", (d,), "ones"),
            ("norm1_bias", (d,), "zeros"),
            ("norm2_weight", (d,), "ones"),
            ("norm2_bias", (d,), "zeros"),
        ):
            setattr(self, name, self.add_weight(shape=shape, initializer=init, name=name))

    def call(
        self, x: tf.Tensor, mask: tf.Tensor | None = None, training: bool = False
    ) -> tf.Tensor:
        arrays = _values(self, tuple("self_attn_" + name for name in ATTENTION_ARRAYS))
        w1, b1, w2, b2, s1, t1, s2, t2 = _values(
            self,
            tuple(
                f"{part}_{kind}"
                for part in ("linear1", "linear2", "norm1", "norm2")
                for kind in ("weight", "bias")
            ),
        )
        act = tf.nn.relu if self.activation == "relu" else partial(tf.nn.gelu, approximate=False)

        def attention(t: tf.Tensor) -> tf.Tensor:
            out = attend(t, mask, arrays, self.heads, self.causal, self.drops[0], training)  # type: ignore[arg-type]
            return self.drops[1](out, training=training)

        def feed_forward(t: tf.Tensor) -> tf.Tensor:
            hidden = self.drops[2](act(tf.matmul(t, w1) + b1), training=training)
            return self.drops[3](tf.matmul(hidden, w2) + b2, training=training)

        if self.norm == "pre":
            x = x + attention(_layer_norm(x, s1, t1, self.eps))
            return x + feed_forward(_layer_norm(x, s2, t2, self.eps))
        x = _layer_norm(x + attention(x), s1, t1, self.eps)
        return _layer_norm(x + feed_forward(x), s2, t2, self.eps)

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(
            heads=self.heads,
            ff=self.ff,
            norm=self.norm,
            dropout=self.rate,
            activation=self.activation,
            causal=self.causal,
            eps=self.eps,
        )
        return config


def _attention(step: Step) -> list[keras.layers.Layer]:
    layer: A.Attention = step.ir  # type: ignore[assignment]
    return [SelfAttention(int(layer.heads), layer.causal, float(layer.dropout), name=step.name)]


def _transformer(step: Step) -> list[keras.layers.Layer]:
    layer: A.TransformerEncoder = step.ir  # type: ignore[assignment]
    block = TransformerEncoder(
        int(layer.heads),
        int(layer.ff),
        layer.norm,
        float(layer.dropout),
        layer.activation,
        layer.causal,
        float(layer.eps),
        name=step.name,
    )
    return [block]


LAYERS: dict[type, Callable[[Step], list[keras.layers.Layer]]] = {
    A.Attention: _attention,
    A.TransformerEncoder: _transformer,
}
