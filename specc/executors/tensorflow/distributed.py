"""TensorFlow data parallelism (docs/distributed.md#tensorflow): TF_CONFIG's workers under
`MultiWorkerMirroredStrategy`, or several local devices under `MirroredStrategy`.

A step runs through `strategy.run`: each replica's loss is the mean over its slice of the
global batch, the gradients are all-reduced to their mean across replicas (the mean over
the global batch) and specc's optimizer applies them, so a step equals the single-process
step. A worker's slice of each step is cut again into equal slices for its local replicas
(one per worker under TF_CONFIG; one per device under MirroredStrategy), and the training
data is copied once to every local replica's device. TensorFlow cannot all-reduce inside
the compiled epoch loop, so a replicated epoch is one compiled call per step. Batchnorm
normalises per replica.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import tensorflow as tf

from specc.errors import UsageError
from specc.executors.tensorflow.augment import augment_images, draw_params
from specc.executors.tensorflow.comm import strategy
from specc.executors.tensorflow.outputs import float32, several_head
from specc.executors.tensorflow.train import (
    TFData,
    TFState,
    _seed_dropout,
    each_input,
    probability_fn,
)
from specc.ir.data import Augment


def wrap(state: TFState, sync_batchnorm: bool) -> None:
    """Train across TF_CONFIG's workers (one device each: `comm.start` refuses several)."""
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
    replicas, plan = state.replicas, state.plan
    head = several_head(plan) if plan.outputs else probability_fn(plan.train.main_loss)

    def step(x: tf.Tensor, y: Any, idx: tf.Tensor, lr: tf.Tensor, *params: tf.Tensor):  # type: ignore[no-untyped-def]
        xb = each_input(x, lambda t: tf.gather(t, idx))
        if augment is not None:
            xb = augment_images(xb, augment, *params)
        yb = tf.nest.map_structure(lambda t: tf.gather(t, idx), y)  # several outputs: a dict
        with tf.GradientTape() as tape:
            out = float32(state.keras.forward(xb, training=True, logits=True))
            loss = state.loss(out, yb)  # several outputs: [total, each output's loss]
            total = loss[0] if plan.outputs else loss
        grads = tape.gradient(total, state.trainable)
        grads = tf.distribute.get_replica_context().all_reduce("mean", grads)
        state.optimizer.apply(grads, lr)
        return loss, head(out)  # the outputs for the train metrics

    fn = tf.function(lambda *args: replicas.run(step, args=args), reduce_retracing=True)
    state._functions[key] = fn
    return fn


def _local_replicas(state: TFState) -> int:
    return len(state.replicas.extended.worker_devices)


def _per_replica(state: TFState, array: Any, parts: int) -> Any:
    """`array` cut into `parts` equal slices along its first axis, slice r on local replica r."""
    if parts == 1:
        return array
    slices = np.split(np.asarray(array), parts)

    def value(context: Any) -> tf.Tensor:  # called under each replica's device
        return tf.constant(slices[context.replica_id_in_sync_group % parts])

    return state.replicas.experimental_distribute_values_from_function(value)


def _replica_data(state: TFState, data: TFData, parts: int) -> tuple[Any, Any]:
    """The split's tensors on every local replica's device (copied once per split)."""
    if parts == 1:
        return data.x, data.y
    if id(data) not in state.replica_data:

        def copy(tensor: tf.Tensor) -> Any:
            return state.replicas.experimental_distribute_values_from_function(
                lambda _: tf.identity(tensor)
            )

        state.replica_data[id(data)] = (
            data,
            each_input(data.x, copy),
            tf.nest.map_structure(copy, data.y),  # several outputs: a dict
        )  # data: keeps the id
    return state.replica_data[id(data)][1:]  # type: ignore[no-any-return]


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
    """`len(lrs)` steps of this worker's slices (`order`, `batch_size` per step); the losses
    are the means over this worker's slices (over its local replicas' equal slices);
    `keep_outputs`: also the training passes' outputs (probabilities), as `train.run_epoch`."""
    steps, plan = len(lrs), state.plan
    order = np.asarray(order, dtype=np.int32)
    params = draw_params(augment, [batch_size] * steps, data.sample_shape, rng_seed)
    _seed_dropout(state, rng_seed)
    fn = _step_function(state, augment)
    rates = np.asarray(lrs, dtype=np.float32)
    losses, outputs = [], []
    local = state.replicas.experimental_local_results
    parts = _local_replicas(state)
    x, y = _replica_data(state, data, parts)
    with tf.device(state.device):
        for i in range(steps):
            idx = _per_replica(state, order[i * batch_size : (i + 1) * batch_size], parts)
            loss, probs = fn(
                x, y, idx, rates[i], *(_per_replica(state, p[i], parts) for p in params)
            )
            # several outputs: each replica's row [total, each output's loss], averaged
            losses.append(np.mean([np.asarray(v, np.float64) for v in local(loss)], axis=0))
            if keep_outputs:  # the replicas' slices in order: the step's batch in order
                outputs.append(_joined(probs, local))
    result = np.asarray(losses, dtype=np.float64)
    if not keep_outputs:
        return result
    if plan.outputs:
        return result, {o.name: np.concatenate([d[o.name] for d in outputs]) for o in plan.outputs}
    return result, np.concatenate(outputs)


def _joined(probs: Any, local: Any) -> Any:
    """The local replicas' outputs of one step joined in replica order (a dict: per key)."""
    if isinstance(probs, dict):
        return {name: _joined(value, local) for name, value in probs.items()}
    return np.concatenate([np.asarray(v) for v in local(probs)])
