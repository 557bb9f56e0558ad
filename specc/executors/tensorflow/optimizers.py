"""TensorFlow optimizers with the spec's exact update rules (docs/semantics.md#optimizers):
Keras's own differ (epsilon placement, momentum form, coupled weight decay).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import tensorflow as tf

from specc.ir import optimizers as O

# ---- losses (mean over the batch; cross-entropies from logits) -------------------------


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
        # an embedding's gradient comes as IndexedSlices (the rows looked up): dense, as
        # PyTorch's (every optimizer here updates every row, like torch's dense Adam)
        grads = [tf.convert_to_tensor(g) for g in grads]
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


OPTIMIZERS: dict[type, Callable[[Any, list[tf.Variable]], Optimizer]] = {
    O.SGD: SGD,
    O.Adam: Adam,
    O.AdamW: Adam,
    O.RMSprop: RMSprop,
    O.Adagrad: Adagrad,
}


def make_optimizer(ir: O.Optimizer, variables: list[tf.Variable]) -> Optimizer:
    return OPTIMIZERS[type(ir)](ir, variables)
