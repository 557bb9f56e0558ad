"""Losses and optimizers in plain TensorFlow ops, written to docs/semantics.md exactly.

Keras 3's optimizers differ from the semantics in ways that change the numbers: weight
decay is always decoupled, Adam adds eps to the un-corrected sqrt(v), SGD momentum uses
`v = m*v - lr*g` (which differs when the rate changes), RMSprop puts eps inside the root.
So each update here is the PyTorch formula, on `tf.Variable`s, inside the compiled step;
the learning rate is a tensor fed per step by the shared loop's schedule.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from specc.ir import losses as LS
from specc.ir import optimizers as O

# ---- losses (mean over the batch; cross-entropies from logits) -------------------------

LossFn = Callable[[tf.Tensor, tf.Tensor], tf.Tensor]


def _smooth(onehot: tf.Tensor, s: float) -> tf.Tensor:
    classes = tf.cast(tf.shape(onehot)[-1], onehot.dtype)
    return onehot * (1.0 - s) + s / classes


def _sparse_ce(loss: LS.SparseCategoricalCrossentropy) -> LossFn:
    s = float(loss.label_smoothing)

    def fn(z: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        labels = tf.cast(tf.reshape(y, [-1]), tf.int32)
        if s == 0.0:
            per = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=z)
            return tf.reduce_mean(per)
        target = _smooth(tf.one_hot(labels, tf.shape(z)[-1], dtype=z.dtype), s)
        return tf.reduce_mean(-tf.reduce_sum(target * tf.nn.log_softmax(z), axis=-1))

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


_LOSSES: dict[type, Callable[[Any], LossFn]] = {
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
    return _LOSSES[type(loss)](loss)


# ---- optimizers ------------------------------------------------------------------------


class Optimizer:
    """Slots per variable and one `apply(grads, lr)` that updates every variable in place.

    Slot names are PyTorch's (`exp_avg`, `square_avg`, `momentum_buffer`, `sum`, ...), so a
    saved optimizer state reads the same from either backend.

    Gradients go through clipping (norm, then value), then coupled L2 (`g += wd*w`, all but
    adamw), then the method's own update. `step` counts applied updates (Adam's bias
    correction uses it after incrementing, like PyTorch).
    """

    slot_names: tuple[str, ...] = ()
    saves_step = True  # PyTorch's SGD keeps no step count; its state has no `step` slot

    def __init__(self, ir: O.Optimizer, variables: list[tf.Variable]) -> None:
        self.ir = ir
        self.variables = variables
        self.step = tf.Variable(0, dtype=tf.int64, trainable=False, name="step")
        self.slots: dict[str, list[tf.Variable]] = {
            name: [
                tf.Variable(self.initial(name, v), trainable=False, name=f"{name}_{i}")
                for i, v in enumerate(variables)
            ]
            for name in self.slot_names
        }

    def initial(self, slot: str, variable: tf.Variable) -> tf.Tensor:
        return tf.zeros_like(variable)

    def apply(self, grads: list[tf.Tensor], lr: tf.Tensor) -> None:
        grads = self.clip(grads)
        wd = float(self.ir.weight_decay)
        if wd and not self.ir.decoupled_weight_decay:
            grads = [g + wd * v for g, v in zip(grads, self.variables, strict=True)]
        self.step.assign_add(1)
        self.update(grads, lr)

    def clip(self, grads: list[tf.Tensor]) -> list[tf.Tensor]:
        if self.ir.clip_norm is not None:
            # PyTorch's clip_grad_norm_: scale = max_norm / (total + 1e-6), capped at 1.
            total = tf.linalg.global_norm(grads)
            scale = tf.minimum(float(self.ir.clip_norm) / (total + 1e-6), 1.0)
            grads = [g * scale for g in grads]
        if self.ir.clip_value is not None:
            c = float(self.ir.clip_value)
            grads = [tf.clip_by_value(g, -c, c) for g in grads]
        return grads

    def update(self, grads: list[tf.Tensor], lr: tf.Tensor) -> None:
        raise NotImplementedError

    def state(self) -> dict[tuple[int, str], np.ndarray]:
        """(variable index, slot name) -> array, in the variable's own (Keras) layout."""
        return {
            (i, name): var.numpy()
            for name, values in self.slots.items()
            for i, var in enumerate(values)
        }

    def load_state(self, step: int, arrays: dict[tuple[int, str], np.ndarray]) -> None:
        """Restore `step` and every slot; a missing or misshapen slot raises KeyError/ValueError."""
        self.step.assign(int(step))
        for name, values in self.slots.items():
            for i, var in enumerate(values):
                array = np.asarray(arrays[(i, name)], dtype=np.float32)
                if tuple(array.shape) != tuple(var.shape):
                    raise ValueError(f"slot {name} of variable {i}: shape {array.shape}")
                var.assign(array)


class SGD(Optimizer):
    """`v = m*v + g; w -= lr*v` (Nesterov: `w -= lr*(g + m*v)`), PyTorch's form."""

    saves_step = False

    def __init__(self, ir: O.SGD, variables: list[tf.Variable]) -> None:
        self.slot_names = ("momentum_buffer",) if ir.momentum else ()
        super().__init__(ir, variables)

    def update(self, grads: list[tf.Tensor], lr: tf.Tensor) -> None:
        ir: O.SGD = self.ir  # type: ignore[assignment]
        m = float(ir.momentum)
        for i, (g, w) in enumerate(zip(grads, self.variables, strict=True)):
            if not m:
                w.assign_sub(lr * g)
                continue
            buf = self.slots["momentum_buffer"][i]
            buf.assign(buf * m + g)
            w.assign_sub(lr * (g + m * buf if ir.nesterov else buf))


class Adam(Optimizer):
    """Bias-corrected Adam, eps added to sqrt(v_hat); adamw first decays `w -= lr*wd*w`."""

    def __init__(self, ir: O.Adam, variables: list[tf.Variable]) -> None:
        self.slot_names = ("exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if ir.amsgrad else ())
        super().__init__(ir, variables)

    def update(self, grads: list[tf.Tensor], lr: tf.Tensor) -> None:
        ir: O.Adam = self.ir  # type: ignore[assignment]
        b1, b2, eps = float(ir.beta1), float(ir.beta2), float(ir.eps)
        t = tf.cast(self.step, tf.float64)
        # Bias corrections in float64, like PyTorch's Python-float arithmetic.
        c1 = tf.cast(1.0 - tf.pow(tf.constant(b1, tf.float64), t), tf.float32)
        root_c2 = tf.cast(tf.sqrt(1.0 - tf.pow(tf.constant(b2, tf.float64), t)), tf.float32)
        wd = float(ir.weight_decay) if ir.decoupled_weight_decay else 0.0
        for i, (g, w) in enumerate(zip(grads, self.variables, strict=True)):
            if wd:
                w.assign(w * (1.0 - lr * wd))
            m, v = self.slots["exp_avg"][i], self.slots["exp_avg_sq"][i]
            # PyTorch's rounding order: m.lerp_(g, 1-b1); v.mul_(b2).addcmul_(g, g, 1-b2).
            m.assign(m + (1.0 - b1) * (g - m))
            v.assign(v * b2 + (1.0 - b2) * (g * g))
            second = v
            if ir.amsgrad:
                vmax = self.slots["max_exp_avg_sq"][i]
                vmax.assign(tf.maximum(vmax, v))
                second = vmax
            denom = tf.sqrt(second) / root_c2 + eps
            w.assign_sub((lr / c1) * (m / denom))


class RMSprop(Optimizer):
    """`a = rho*a + (1-rho)*g^2; w -= lr*g/(sqrt(a) + eps)`, with PyTorch's centered/momentum."""

    def __init__(self, ir: O.RMSprop, variables: list[tf.Variable]) -> None:
        names = ("square_avg",) + (("grad_avg",) if ir.centered else ())
        self.slot_names = names + (("momentum_buffer",) if ir.momentum else ())
        super().__init__(ir, variables)

    def update(self, grads: list[tf.Tensor], lr: tf.Tensor) -> None:
        ir: O.RMSprop = self.ir  # type: ignore[assignment]
        rho, eps, mom = float(ir.rho), float(ir.eps), float(ir.momentum)
        for i, (g, w) in enumerate(zip(grads, self.variables, strict=True)):
            a = self.slots["square_avg"][i]
            a.assign(a * rho + (1.0 - rho) * (g * g))
            second = a.read_value()
            if ir.centered:
                ga = self.slots["grad_avg"][i]
                ga.assign(ga + (1.0 - rho) * (g - ga))
                second = second - ga * ga
            denom = tf.sqrt(second) + eps
            if mom:
                buf = self.slots["momentum_buffer"][i]
                buf.assign(buf * mom + g / denom)
                w.assign_sub(lr * buf)
            else:
                w.assign_sub(lr * (g / denom))


class Adagrad(Optimizer):
    """Accumulator from `initial_accumulator`; `w -= lr*g/(sqrt(acc) + eps)`."""

    slot_names = ("sum",)

    def initial(self, slot: str, variable: tf.Variable) -> tf.Tensor:
        init = float(self.ir.initial_accumulator)  # type: ignore[attr-defined]
        return tf.fill(tf.shape(variable), tf.constant(init, variable.dtype))

    def update(self, grads: list[tf.Tensor], lr: tf.Tensor) -> None:
        eps = float(self.ir.eps)  # type: ignore[attr-defined]
        for i, (g, w) in enumerate(zip(grads, self.variables, strict=True)):
            acc = self.slots["sum"][i]
            acc.assign_add(g * g)
            w.assign_sub(lr * (g / (tf.sqrt(acc) + eps)))


_OPTIMIZERS: dict[type, Callable[[Any, list[tf.Variable]], Optimizer]] = {
    O.SGD: SGD,
    O.Adam: Adam,
    O.AdamW: Adam,
    O.RMSprop: RMSprop,
    O.Adagrad: Adagrad,
}


def make_optimizer(ir: O.Optimizer, variables: list[tf.Variable]) -> Optimizer:
    return _OPTIMIZERS[type(ir)](ir, variables)
