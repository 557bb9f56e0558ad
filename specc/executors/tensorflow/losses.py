"""TensorFlow losses (docs/semantics.md#losses): one builder per IR loss, each a mean
over the batch, cross-entropies from logits.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import tensorflow as tf

from specc.ir import losses as LS

# ---- losses (mean over the batch; cross-entropies from logits) -------------------------


LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _smooth(onehot: tf.Tensor, s: float) -> tf.Tensor:
    classes = tf.cast(tf.shape(onehot)[-1], onehot.dtype)
    return onehot * (1.0 - s) + s / classes


def _sparse_ce(loss: LS.SparseCategoricalCrossentropy) -> LossFn:
    s, ignore = float(loss.label_smoothing), loss.ignore

    def fn(z: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        # per-step outputs (B, L, V) against (B, L): every token weighs the same
        labels = tf.cast(tf.reshape(y, [-1]), tf.int32)
        z = tf.reshape(z, [-1, tf.shape(z)[-1]])
        if ignore is not None:  # PyTorch's ignore_index: scored as class 0, then dropped
            kept = tf.cast(tf.not_equal(labels, ignore), z.dtype)
            labels = tf.where(labels == ignore, tf.zeros_like(labels), labels)
        if s == 0.0:
            per = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z)
        else:
            target = _smooth(tf.one_hot(labels, tf.shape(z)[-1], dtype=z.dtype), s)
            per = -tf.reduce_sum(target * tf.nn.log_softmax(z), axis=-1)
        if ignore is None:
            return tf.reduce_mean(per)
        return tf.reduce_sum(per * kept) / tf.maximum(tf.reduce_sum(kept), 1.0)

    return fn


def _categorical_ce(loss: LS.CategoricalCrossentropy) -> LossFn:
    s = float(loss.label_smoothing)

    def fn(z: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        target = _smooth(tf.cast(y, z.dtype), s) if s else tf.cast(y, z.dtype)
        return tf.reduce_mean(-tf.reduce_sum(target * tf.nn.log_softmax(z), axis=-1))

    return fn


def _binary_ce(loss: LS.BinaryCrossentropy) -> LossFn:
    s = float(loss.label_smoothing)

    def fn(z: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        target = tf.reshape(tf.cast(y, z.dtype), tf.shape(z))
        if s:
            target = target * (1.0 - s) + s / 2.0
        return tf.reduce_mean(tf.nn.sigmoid_cross_entropy_with_logits(labels=target, logits=z))

    return fn


def _nll(loss: LS.NLL) -> LossFn:
    def fn(z: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        labels = tf.cast(tf.reshape(y, [-1]), tf.int32)
        picked = tf.gather(z, labels, axis=1, batch_dims=1)
        return -tf.reduce_mean(picked)

    return fn


def _regression(error: Callable[[tf.Tensor], tf.Tensor]) -> Callable[[Any], LossFn]:
    def make(loss: Any) -> LossFn:
        def fn(z: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
            return tf.reduce_mean(error(z - tf.reshape(tf.cast(y, z.dtype), tf.shape(z))))

        return fn

    return make


def _huber(loss: LS.Huber) -> LossFn:
    delta = float(loss.delta)

    def fn(z: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        e = tf.abs(z - tf.reshape(tf.cast(y, z.dtype), tf.shape(z)))
        return tf.reduce_mean(tf.where(e <= delta, 0.5 * e * e, delta * (e - 0.5 * delta)))

    return fn


LOSSES: dict[type, Callable[[Any], LossFn]] = {
    LS.SparseCategoricalCrossentropy: _sparse_ce,
    LS.CategoricalCrossentropy: _categorical_ce,
    LS.BinaryCrossentropy: _binary_ce,
    LS.NLL: _nll,
    LS.MSE: _regression(tf.square),
    LS.MAE: _regression(tf.abs),
    LS.Huber: _huber,
}


def loss_function(loss: LS.Loss) -> LossFn:
    """`fn(outputs, targets) -> scalar`; outputs are logits when the activation was fused."""
    return LOSSES[type(loss)](loss)
