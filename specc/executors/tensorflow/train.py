"""The TensorFlow backend's state and compiled functions: one epoch is one `tf.function` call.

Whole splits live on the device as tensors; an epoch's full batches run inside a single
compiled function (a graph `while` loop: gather the batch by index, forward, loss,
gradients, our own optimizer update, store the loss), the short last batch in a second
call, and the per-step losses come back once at the end: no host round trip per step.
`jit_compile` (XLA) is decided once per run from the plan's `compile` mode. XLA compiles
an epoch function once per batch-grid shape; a warm-up call that runs zero steps (`n` is a
run-time argument) compiles it before the real call, and is timed as `compile_seconds`.

Importing this module imports TensorFlow: only `specc.executors.tensorflow` does, lazily.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import tensorflow as tf

from specc.executors.policies import EVAL_CHUNK, check_fits, compile_pays
from specc.executors.tensorflow.augment import augment_images, draw_params
from specc.executors.tensorflow.devices import tf_devices
from specc.executors.tensorflow.losses import LossFn, loss_function
from specc.executors.tensorflow.model import KerasModel, build_keras_model
from specc.executors.tensorflow.optimizers import Optimizer, make_optimizer
from specc.executors.tensorflow.outputs import float32, pack, several_head, several_loss, unpack
from specc.ir import losses as LS
from specc.ir.data import Augment
from specc.lowering import probability_head
from specc.plan import RunPlan

# `compile auto`: XLA's extra compile time (~5 s on 2 CPU cores) is repaid after about 700
# steps of the MNIST MLP (7 ms saved per step); measured in docs/parity.md#performance.
AUTO_XLA_MIN_STEPS = 1000


@dataclass
class TFData:
    """One split on the device: inputs already in the model's (channels-first) input shape;
    a model with several inputs has a dict of them by input name."""

    x: tf.Tensor | dict[str, tf.Tensor]
    y: tf.Tensor | dict[str, tf.Tensor]  # several outputs: by output name

    @property
    def size(self) -> int:
        return int(tf.nest.flatten(self.x)[0].shape[0])

    @property
    def sample_shape(self) -> tuple[int, ...]:
        """One example's shape (what `augment` needs; several inputs have no single one)."""
        return () if isinstance(self.x, dict) else tuple(self.x.shape[1:])


def each_input(x: Any, fn: Any) -> Any:
    """`fn` applied to the input tensor, or to each of several inputs (a dict)."""
    return {name: fn(value) for name, value in x.items()} if isinstance(x, dict) else fn(x)


@dataclass
class TFState:
    plan: RunPlan
    device: str  # a TensorFlow device string: "/CPU:0", "/GPU:1"
    keras: KerasModel
    optimizer: Optimizer
    loss: LossFn
    trainable: list[tf.Variable]
    jit: bool | None = None  # decided by the first epoch (it knows the steps per epoch)
    # the strategy of a run on several replicas (`distributed`): MultiWorkerMirroredStrategy
    # for TF_CONFIG's workers, MirroredStrategy for several local devices
    replicas: Any = None
    replica_data: dict[int, Any] = field(default_factory=dict)  # per-replica copies of splits
    # XLA's compile time: warm-up calls of the epoch function (zero steps) and the first
    # evaluation call of each chunk shape; kept out of the training time
    compile_seconds: float = 0.0
    compiled: set[tuple[Any, ...]] = field(default_factory=set)  # (function, shapes) done
    _functions: dict[str, Any] = field(default_factory=dict)


def build_state(plan: RunPlan, weights: dict[str, np.ndarray], device: str) -> TFState:
    """The model and optimizer on `device`; on several local devices (`gpu:0,1`), mirrored on
    each under a MirroredStrategy (trained by `distributed.run_epoch`, without XLA)."""
    devices = tf_devices(device)
    replicas = tf.distribute.MirroredStrategy(devices) if len(devices) > 1 else None
    with _building(devices[0], replicas):
        km = build_keras_model(plan.shapes, plan.lowered, plan.precision)
        set_weights(km, weights)
        # never empty: make_plan refuses a model with nothing to train
        trainable = [slot.variable.value for slot in km.slots if slot.trainable]
        optimizer = make_optimizer(plan.train.optimizer, trainable)
    return TFState(
        plan=plan,
        device=devices[0],  # evaluation runs here (on the first replica's copy)
        keras=km,
        optimizer=optimizer,
        loss=several_loss(plan) if plan.outputs else loss_function(plan.train.main_loss),
        trainable=trainable,
        jit=None if replicas is None else False,  # no XLA around the collectives
        replicas=replicas,
    )


@contextlib.contextmanager
def _building(device: str, replicas: Any) -> Iterator[None]:
    """Variables made here live on `device`, or under `replicas` are mirrored on each of its
    devices. A mirrored variable updated inside a replica takes the first replica's value:
    every replica computes the same update (the gradients are all-reduced first); batchnorm's
    running statistics and the dropout generator's state are the first replica's."""
    if replicas is None:
        with tf.device(device):
            yield
        return

    def first_replica(next_creator: Any, **kwargs: Any) -> Any:
        kwargs["aggregation"] = tf.VariableAggregation.ONLY_FIRST_REPLICA
        return next_creator(**kwargs)

    with replicas.scope(), tf.variable_creator_scope(first_replica):
        yield


def use_xla(plan: RunPlan, steps_per_epoch: int, device: str) -> bool:
    """`compile on|off` as written; `auto`: XLA once the run is long enough to repay it.

    Never automatically for convolutions on the CPU: XLA's CPU convolution gradients ran
    ~200x slower than TensorFlow's own kernels here (docs/parity.md#performance).
    """
    # windowed kinds (convolutions, pools) share the conv parity group
    convs = any(type(info.layer).parity_group == "conv" for info in plan.shapes.layers)
    if plan.compile == "auto" and convs and "GPU" not in device:
        return False
    return compile_pays(plan, steps_per_epoch, AUTO_XLA_MIN_STEPS)


# ---- weights ---------------------------------------------------------------------------


def get_weights(km: KerasModel) -> dict[str, np.ndarray]:
    return {slot.key: slot.to_neutral(slot.variable.value.numpy()) for slot in km.slots}


def set_weights(km: KerasModel, weights: dict[str, np.ndarray]) -> None:
    for slot in km.slots:
        given = weights.get(slot.key)
        wanted = slot.to_neutral(np.zeros(slot.variable.shape)).shape
        check_fits(slot.key, None if given is None else np.shape(given), wanted)
        array = slot.to_keras(np.asarray(given, dtype=np.float32))
        slot.variable.assign(np.ascontiguousarray(array))


# ---- the compiled functions ------------------------------------------------------------


def _train_step(
    state: TFState, xb: tf.Tensor, yb: tf.Tensor, lr: tf.Tensor
) -> tuple[tf.Tensor, tf.Tensor]:
    """One optimizer step: (the batch's loss, its float32 outputs before the head)."""
    with tf.GradientTape() as tape:
        out = float32(state.keras.forward(xb, training=True, logits=True))
        loss = state.loss(out, yb)  # several outputs: [total, each output's loss]
        total = loss[0] if state.plan.outputs else loss
    grads = tape.gradient(total, state.trainable)
    state.optimizer.apply(grads, lr)
    return loss, out


def _epoch_function(state: TFState, augment: Augment | None, keep: bool = False) -> Any:
    """`fn(x, y, idx (S, B), lrs (S,), n, *augment params) -> losses (S,)`, compiled once
    per shape; it runs the first `n` of the S steps (n = 0: compile only, no update).

    With `keep`, `-> (losses (S,), outputs (S, B, ...))`: the training passes' own
    probabilities, for the train metrics (no second pass over the data).
    """
    key = f"epoch:{augment is not None}:{keep}"
    if key in state._functions:
        return state._functions[key]
    plan = state.plan
    head = several_head(plan) if plan.outputs else probability_fn(plan.train.main_loss)

    def run(  # type: ignore[no-untyped-def]
        x: tf.Tensor, y: tf.Tensor, idx: tf.Tensor, lrs: tf.Tensor, n: tf.Tensor, *params: tf.Tensor
    ):
        steps = tf.shape(idx)[0]
        losses = tf.TensorArray(tf.float32, size=steps)
        outs = tf.TensorArray(tf.float32, size=steps if keep else 0)
        # a `while` on a run-time bound: `for i in tf.range(n)` would make XLA take n as a
        # compile-time constant (one compile per n); this way n = 0 compiles the epoch
        i = tf.constant(0)
        while i < n:
            xb = each_input(x, lambda t: tf.gather(t, idx[i]))  # noqa: B023 (called at once)
            if augment is not None:
                xb = augment_images(xb, augment, *(p[i] for p in params))
            yb = tf.nest.map_structure(lambda t: tf.gather(t, idx[i]), y)  # noqa: B023
            loss, out = _train_step(state, xb, yb, lrs[i])
            losses = losses.write(i, loss)
            if keep:
                kept = head(out)
                outs = outs.write(i, pack(plan, kept) if plan.outputs else kept)
            i += 1
        return (losses.stack(), outs.stack()) if keep else losses.stack()

    fn = tf.function(run, jit_compile=bool(state.jit), reduce_retracing=True)
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
    """`len(lrs)` steps over `order` in batches of `batch_size`; per-step losses (float32).

    `keep_outputs`: `(losses, outputs)`, the outputs of the training passes in `order`.
    """
    steps = len(lrs)
    if steps == 0:
        empty = np.zeros(0, np.float32)
        return (empty, empty) if keep_outputs else empty
    order = np.asarray(order, dtype=np.int32)
    batches = [order[i * batch_size : (i + 1) * batch_size] for i in range(steps)]
    full = [b for b in batches if len(b) == batch_size]
    tail = [b for b in batches if len(b) != batch_size]
    rates = np.asarray(lrs, dtype=np.float32)
    params = draw_params(augment, [len(b) for b in batches], data.sample_shape, rng_seed)
    _seed_dropout(state, rng_seed)
    if state.jit is None:
        state.jit = use_xla(state.plan, steps, state.device)
    fn = _epoch_function(state, augment, keep_outputs)
    calls = [(np.stack(full), slice(0, len(full)))] if full else []
    calls += [(batch[None], slice(j, j + 1)) for j, batch in enumerate(tail, start=len(full))]
    out: list[Any] = []
    with tf.device(state.device):
        for idx, sel in calls:
            args = (data.x, data.y, idx, rates[sel])
            if state.jit:  # XLA compiles each new shape: apart, with a call of zero steps
                shapes = (id(fn), idx.shape, *(np.shape(p[sel]) for p in params))
                _compile_once(state, shapes, fn, *args, _steps(0), *(p[sel] for p in params))
            out.append(fn(*args, _steps(len(idx)), *(p[sel] for p in params)))
    if not keep_outputs:
        return np.concatenate([t.numpy() for t in out]).astype(np.float64)
    losses = np.concatenate([t[0].numpy() for t in out]).astype(np.float64)
    outputs = [t[1].numpy() for t in out]  # (steps, batch, ...) per call
    joined = np.concatenate([o.reshape(-1, *o.shape[2:]) for o in outputs])
    return losses, unpack(state.plan, joined) if state.plan.outputs else joined


def _steps(n: int) -> tf.Tensor:
    return tf.constant(n, tf.int32)  # a tensor, not a Python int: no retrace per value


def _compile_once(state: TFState, shapes: tuple[Any, ...], fn: Any, *args: Any) -> Any:
    """`fn(*args)`, timed as compile time the first time `shapes` is seen (else not called).

    For the epoch function `args` asks for zero steps, so the call only compiles; for an
    evaluation function it is that chunk's first evaluation (as torch times the first step
    of each batch size), and its result is returned for use.
    """
    if shapes in state.compiled:
        return None
    began = time.perf_counter()
    result = fn(*args)
    _ = tf.nest.map_structure(lambda t: t.numpy(), result)  # wait for the device
    state.compile_seconds += time.perf_counter() - began
    state.compiled.add(shapes)
    return result


def _seed_dropout(state: TFState, rng_seed: int) -> None:
    """Each epoch's dropout masks follow from the loop's seed for that epoch (reproducible)."""
    for i, layer in enumerate(state.keras.dropouts):
        generator = getattr(layer, "seed_generator", None)  # Keras makes none for rate 0
        if generator is not None:
            generator.state.assign(np.array([rng_seed % 2**31, i], dtype=np.int64))


def _eval_function(state: TFState, what: str) -> Any:
    key = f"eval:{what}"
    if key not in state._functions:
        plan = state.plan
        head = several_head(plan) if plan.outputs else probability_fn(plan.train.main_loss)

        def outputs(x: tf.Tensor) -> Any:
            return head(float32(state.keras.forward(x, training=False, logits=True)))

        def loss(x: tf.Tensor, y: Any) -> tf.Tensor:
            out = state.keras.forward(x, training=False, logits=True)
            return state.loss(float32(out), y)

        chosen = outputs if what == "outputs" else loss
        jit = bool(state.jit)
        state._functions[key] = tf.function(chosen, jit_compile=jit, reduce_retracing=True)
    return state._functions[key]


_HEADS: dict[str | None, Any] = {"sigmoid": tf.sigmoid, "softmax": tf.nn.softmax, None: tf.identity}


def probability_fn(loss: LS.Loss) -> Any:
    """What `predict` applies to the training outputs (specc.lowering.probability_head)."""
    return _HEADS[probability_head(loss)]


def _chunks(data: TFData) -> list[tuple[int, int]]:
    return [(s, min(s + EVAL_CHUNK, data.size)) for s in range(0, data.size, EVAL_CHUNK)]


def _evaluate(state: TFState, fn: Any, *args: tf.Tensor) -> tf.Tensor:
    """`fn(*args)`; under XLA a chunk shape's first call is counted as compile time."""
    if state.jit:
        shapes = (id(fn), *(tuple(t.shape) for a in args for t in tf.nest.flatten(a)))
        first = _compile_once(state, shapes, fn, *args)
        if first is not None:
            return first
    return fn(*args)


def predict(state: TFState, data: TFData) -> Any:
    """Probabilities (or values) per example; several outputs: a dict by output name."""
    fn = _eval_function(state, "outputs")
    with tf.device(state.device):
        parts = [
            tf.nest.map_structure(
                lambda t: t.numpy(),
                _evaluate(state, fn, each_input(data.x, lambda t: t[a:b])),  # noqa: B023
            )
            for a, b in _chunks(data)
        ]
    if state.plan.outputs:
        return {
            o.name: np.concatenate([p[o.name] for p in parts])
            if parts
            else np.zeros((0, *o.lowered.shape), np.float32)
            for o in state.plan.outputs
        }
    if not parts:
        return np.zeros((0, *state.plan.shapes.output), np.float32)
    return np.concatenate(parts)


def mean_loss(state: TFState, data: TFData) -> Any:
    """The training loss over a whole split in evaluation mode (chunk means weighted by
    size); several outputs: an array `[total, each output's loss]`."""
    width = (1 + len(state.plan.outputs),) if state.plan.outputs else ()
    if data.size == 0:
        return np.full(width, math.nan) if width else math.nan
    fn = _eval_function(state, "loss")
    total = np.zeros(width, np.float64)
    with tf.device(state.device):
        for a, b in _chunks(data):
            x = each_input(data.x, lambda t: t[a:b])  # noqa: B023 (called at once)
            y = tf.nest.map_structure(lambda t: t[a:b], data.y)  # noqa: B023
            total += _evaluate(state, fn, x, y).numpy().astype(np.float64) * (b - a)
    return total / max(data.size, 1) if width else float(total) / max(data.size, 1)
