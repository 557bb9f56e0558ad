"""TensorFlow data parallelism for a distributed run (TF_CONFIG workers, docs/distributed.md).

Under `MultiWorkerMirroredStrategy` a step runs through `strategy.run`: each worker's loss
is the mean over its slice of the global batch, the gradients are all-reduced to their
mean across workers (the mean over the global batch) and specc's optimizer applies them,
so a step equals the single-process step. TensorFlow cannot all-reduce inside the compiled
epoch loop, so a distributed epoch is one compiled call per step. Batchnorm normalises per
worker.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from specc.errors import UsageError
from specc.executors.tensorflow.augment import augment_images, draw_params
from specc.executors.tensorflow.comm import strategy
from specc.executors.tensorflow.train import TFData, TFState, _seed_dropout, probability_fn
from specc.ir.data import Augment


def wrap(state: TFState, sync_batchnorm: bool) -> None:
    if sync_batchnorm:
        raise UsageError(
            "--sync-batchnorm is for the torch backend; tensorflow workers normalise per worker",
            "drop --sync-batchnorm, or train with --backend torch",
        )
    state.replicas = strategy()
    state.jit = False  # no XLA around the collectives


def _step_function(state: TFState, augment: Augment | None) -> Any:
    key = f"replicated:{augment is not None}"
    if key in state._functions:
        return state._functions[key]
    replicas = state.replicas
    head = probability_fn(state.plan.train.loss)

    def step(x: tf.Tensor, y: tf.Tensor, idx: tf.Tensor, lr: tf.Tensor, *params: tf.Tensor):  # type: ignore[no-untyped-def]
        xb = tf.gather(x, idx)
        if augment is not None:
            xb = augment_images(xb, augment, *params)
        with tf.GradientTape() as tape:
            out = state.keras.forward(xb, training=True, logits=True)
            loss = state.loss(tf.cast(out, tf.float32), tf.gather(y, idx))
        grads = tape.gradient(loss, state.trainable)
        grads = tf.distribute.get_replica_context().all_reduce("mean", grads)
        state.optimizer.apply(grads, lr)
        return loss, head(tf.cast(out, tf.float32))  # the outputs for the train metrics

    fn = tf.function(lambda *args: replicas.run(step, args=args), reduce_retracing=True)
    state._functions[key] = fn
    return fn


def run_epoch(
    state: TFState,
    data: TFData,
    order: np.ndarray,
    batch_size: int,
    lrs: np.ndarray,
    augment: Augment | None,
    rng_seed: int,
    keep_outputs: bool = False,
) -> Any:
    """`len(lrs)` steps of this worker's slices (`order`, `batch_size` per step);
    `keep_outputs`: also the training passes' outputs (probabilities), as `train.run_epoch`."""
    steps = len(lrs)
    order = np.asarray(order, dtype=np.int32)
    params = draw_params(augment, [batch_size] * steps, data.x.shape[1:], rng_seed)
    _seed_dropout(state, rng_seed)
    fn = _step_function(state, augment)
    rates = np.asarray(lrs, dtype=np.float32)
    losses, outputs = [], []
    local = state.replicas.experimental_local_results
    with tf.device(state.device):
        for i in range(steps):
            idx = order[i * batch_size : (i + 1) * batch_size]
            loss, probs = fn(data.x, data.y, idx, rates[i], *(p[i] for p in params))
            losses.append(float(local(loss)[0]))
            if keep_outputs:
                outputs.append(np.asarray(local(probs)[0]))
    result = np.asarray(losses, dtype=np.float64)
    return (result, np.concatenate(outputs)) if keep_outputs else result
