"""Collectives for a distributed run on TensorFlow's MultiWorkerMirroredStrategy: what
`specc.run.distributed.World` calls when TF_CONFIG names the workers.

The strategy is created first thing (TensorFlow configures its collective ops at start-up);
the executor's training steps all-reduce their gradients through it. The loop's own
collectives (sums, a broadcast object, gathered shards) are sums of tensors: each worker
contributes its part in its own slot and zeros elsewhere, so the sum is exact.
"""

from __future__ import annotations

import pickle
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from specc.errors import UsageError
from specc.executors.tensorflow import _native_stderr_silenced, _tf

_tf()  # import quietly: TensorFlow's native start-up lines are noise on a user's terminal
import tensorflow as tf  # noqa: E402

if TYPE_CHECKING:
    from specc.run.distributed import World

_STRATEGY: list[Any] = []  # the one strategy of this process
_SUM: dict[str, Any] = {}


def start(world: World, requested: str, resolve: Callable[[str], str]) -> str:
    """Join the workers; the one device this worker trains on."""
    if not _STRATEGY:
        with _native_stderr_silenced():  # its gRPC server logs its start-up to fd 2
            _STRATEGY.append(tf.distribute.MultiWorkerMirroredStrategy())
    device = resolve(requested)
    if "," in device:
        raise UsageError(
            f"a TF_CONFIG worker trains on one device, and `--device {requested}` gives "
            f"several here ({device})",
            "start one worker per device, each with --device gpu:N (and without "
            "SPECC_TF_CPU_REPLICAS); docs/distributed.md#tensorflow",
        )
    return device


def strategy() -> Any:
    return _STRATEGY[0]


def stop() -> None:
    return None  # the strategy lives as long as the process


def _sum(tensor: np.ndarray) -> np.ndarray:
    if "fn" not in _SUM:

        def reduce(v: tf.Tensor) -> tf.Tensor:  # an input has no device yet: identity places it
            return tf.distribute.get_replica_context().all_reduce("sum", tf.identity(v))

        _SUM["fn"] = tf.function(lambda v: strategy().run(reduce, args=(v,)), reduce_retracing=True)
    out = _SUM["fn"](tf.constant(tensor))
    return np.asarray(strategy().experimental_local_results(out)[0])


def barrier(world: World) -> None:
    _sum(np.zeros(1, np.float32))


def sum_arrays(world: World, values: np.ndarray) -> np.ndarray:
    return _sum(np.array(values, dtype=np.float64))


def _sizes(world: World, size: int) -> np.ndarray:
    mine = np.zeros(world.size, np.int64)
    mine[world.rank] = size
    return _sum(mine)


def broadcast(world: World, value: Any) -> Any:
    payload = np.frombuffer(pickle.dumps(value), dtype=np.uint8) if world.main else None
    length = int(_sizes(world, 0 if payload is None else len(payload))[0])
    box = np.zeros(length, np.int32)
    if payload is not None:
        box[:] = payload
    return pickle.loads(_sum(box).astype(np.uint8).tobytes())


def gather(world: World, array: np.ndarray) -> np.ndarray:
    array = np.asarray(array)
    rows = _sizes(world, len(array))
    slots = np.zeros((world.size, int(rows.max()), *array.shape[1:]), dtype=np.float64)
    slots[world.rank, : len(array)] = array
    summed = _sum(slots)
    parts = [summed[r, : int(rows[r])] for r in range(world.size)]
    return np.concatenate(parts).astype(array.dtype)


# How a collective reports a worker that is gone: the connection to it failed...
PEER_DOWN = (tf.errors.UnavailableError, tf.errors.DeadlineExceededError)
# ...or, when another thread aborted the collectives first (TensorFlow's health-check thread,
# which runs once a run is 30 s old, so mostly on a loaded machine), how the next step or
# collective ends: a step started after the abort is "cancelled before it was started". These
# are the peer's loss only when a probe finds a peer down.
AFTER_ABORT = (
    tf.errors.UnknownError,  # gRPC's "Stream removed"
    tf.errors.CancelledError,
    tf.errors.AbortedError,
    tf.errors.InternalError,
    tf.errors.FailedPreconditionError,
)
PROBE_MS = 3000


def lost_peer(err: Exception) -> bool:
    """A collective failed because another worker is gone."""
    return isinstance(err, PEER_DOWN) or (isinstance(err, AFTER_ABORT) and _a_peer_is_down())


def _a_peer_is_down() -> bool:
    """Whether any other worker fails TensorFlow's own health probe."""
    from tensorflow.python.eager import context

    from specc.run.distributed import World

    world = World.from_env()
    for index in range(world.size):
        if index == world.rank:
            continue
        try:
            context.context().check_collective_ops_peer_health(
                f"/job:worker/replica:0/task:{index}", timeout_in_ms=PROBE_MS
            )
        except tf.errors.OpError:
            return True
    return False
