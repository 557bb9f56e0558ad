"""Several named outputs on TensorFlow (docs/semantics.md#outputs): the weighted total
loss, each output's loss and probability head, over dicts of tensors by output name.

Inside the compiled epoch the kept outputs of every step go into one TensorArray, so
several outputs travel packed: each flattened per example and joined along axis 1
(`pack`), split back per output in NumPy (`unpack`). Importing this imports TensorFlow.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import tensorflow as tf

from specc.executors.tensorflow.losses import loss_function
from specc.lowering import probability_head
from specc.plan import RunPlan

_HEADS: dict[str | None, Any] = {"sigmoid": tf.sigmoid, "softmax": tf.nn.softmax, None: tf.identity}


def float32(out: Any) -> Any:
    """Outputs as float32 (bf16 computes them in bfloat16); a dict for several."""
    return tf.nest.map_structure(lambda t: tf.cast(t, tf.float32), out)


def several_loss(plan: RunPlan) -> Any:
    """`fn(out, y) -> [total, each output's loss]`; the total is the weighted sum."""
    parts = [(o.name, loss_function(o.loss), o.weight) for o in plan.outputs]

    def loss(out: dict[str, tf.Tensor], y: dict[str, tf.Tensor]) -> tf.Tensor:
        each = [fn(out[name], y[name]) for name, fn, _ in parts]
        total = tf.add_n([w * v for (_, _, w), v in zip(parts, each, strict=True)])
        return tf.stack([total, *each])

    return loss


def several_head(plan: RunPlan) -> Any:
    """Each output's probability head (the activation its loss takes logits for)."""
    heads = {o.name: _HEADS[probability_head(o.loss)] for o in plan.outputs}
    return lambda out: {name: head(out[name]) for name, head in heads.items()}


def pack(plan: RunPlan, out: dict[str, tf.Tensor]) -> tf.Tensor:
    """Every output flattened per example, joined along axis 1, in the model's order."""
    rows = tf.shape(out[plan.outputs[0].name])[0]
    return tf.concat([tf.reshape(out[o.name], (rows, -1)) for o in plan.outputs], axis=1)


def unpack(plan: RunPlan, packed: np.ndarray) -> dict[str, np.ndarray]:
    """`pack` undone in NumPy: each output in its own shape."""
    out, start = {}, 0
    for o in plan.outputs:
        width = math.prod(o.lowered.shape)
        out[o.name] = packed[:, start : start + width].reshape(-1, *o.lowered.shape)
        start += width
    return out
