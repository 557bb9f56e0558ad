"""The TensorFlow backend: the functions of the executor contract (`specc.executors.Executor`).

Same names as `specc.executors.torch`; the shared loop only calls these. TensorFlow is
imported inside the functions (via `specc.executors.tensorflow.train`), so importing this module
for `unsupported` (from `specc check`/`make_plan`) stays cheap. The model is Keras 3 layers
(channels last inside, transposed at the input boundary); the train step, loss and
optimizer updates are our own TensorFlow ops compiled with `tf.function` (XLA when the
plan's `compile` says so), because Keras's optimizers and batchnorm do not implement
docs/semantics.md exactly. docs/parity.md says why each choice was made.
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specc.data.dataset import Inputs, Outputs, X, Y
from specc.diagnostics import Diagnostic
from specc.errors import DeviceError
from specc.executors.policies import input_dtype
from specc.executors.tensorflow.devices import cpu_replicas, several, split_cpu, tf_devices

if TYPE_CHECKING:
    from specc.executors.tensorflow.train import TFData, TFState
    from specc.plan import RunPlan

NAME = "tensorflow"


def _tf() -> Any:
    """Import TensorFlow quietly (its C++ start-up log is noise on a user's terminal)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules:
        # absl/oneDNN print start-up lines straight to file descriptor 2 while the native
        # libraries load, whatever TF_CPP_MIN_LOG_LEVEL says; Python errors still raise.
        with _native_stderr_silenced():
            import tensorflow  # noqa: F401
    import tensorflow as tf

    split_cpu(tf)  # SPECC_TF_CPU_REPLICAS: logical CPU devices, before TensorFlow starts

    # Each build makes fresh tf.functions; TF's "retracing" hint about that is noise here.
    tf.get_logger().setLevel("ERROR")
    return tf


@contextlib.contextmanager
def _native_stderr_silenced() -> Iterator[None]:
    sys.stderr.flush()
    saved = os.dup(2)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def available() -> bool:
    return importlib.util.find_spec("tensorflow") is not None and (
        importlib.util.find_spec("keras") is not None
    )


def resolve_device(requested: str) -> str:
    """`cpu` or `gpu:N` (`cuda` is a synonym of `gpu`); absent devices raise DeviceError.

    Several local devices (`auto` or `gpu` on a machine with several GPUs, `cpu` under
    SPECC_TF_CPU_REPLICAS) give `gpu:0,1,...`: a MirroredStrategy run (`devices`).
    """
    wanted = (requested or "auto").strip().lower()
    if wanted == "cuda" or wanted.startswith("cuda:"):
        wanted = "gpu" + wanted[4:]
    if wanted not in ("auto", "cpu", "gpu") and not wanted.startswith("gpu:"):
        raise DeviceError(
            f"unknown device `{requested}` for the tensorflow backend",
            "use auto, cpu, gpu or gpu:N",
        )
    if wanted == "cpu":
        _tf()  # splits the CPU when SPECC_TF_CPU_REPLICAS asks
        return several("cpu", cpu_replicas())
    gpus = _tf().config.list_physical_devices("GPU")
    if wanted in ("auto", "gpu") and len(gpus) > 1:
        return several("gpu", len(gpus))
    if wanted == "auto":
        return "gpu:0" if gpus else resolve_device("cpu")
    if not gpus:
        raise DeviceError(
            f"--device {requested}: TensorFlow sees no GPU here",
            "use --device cpu (or --device auto to take the best device present)",
        )
    index = wanted.partition(":")[2] or "0"
    if not index.isdigit() or int(index) >= len(gpus):
        raise DeviceError(
            f"--device {requested}: TensorFlow sees {len(gpus)} GPU(s)",
            f"use gpu:0 .. gpu:{len(gpus) - 1}",
        )
    return f"gpu:{int(index)}"


# What this backend cannot run, as the shared gate's feature -> reason
# (specc/lowering/capabilities.py); everything else in the vocabulary must work.
UNSUPPORTED: dict[str, str] = {
    "precision.fp16": "fp16 needs loss scaling, which this backend does not implement; use "
    "`precision bf16` (no loss scaling needed) or `precision fp32`",
}


def replicas(device: str) -> int:
    """The local replicas a run on `device` trains (several: MirroredStrategy)."""
    return len(tf_devices(device))


def unsupported(plan: RunPlan) -> list[Diagnostic]:
    """E600 for what this backend cannot do as the spec says; decided without importing TF."""
    from specc.plan import unsupported as gate

    return gate(plan, UNSUPPORTED)


def build(plan: RunPlan, weights: dict[str, np.ndarray], device: str) -> TFState:
    _tf()
    from specc.executors.tensorflow.train import build_state

    return build_state(plan, weights, device)


def distribute(state: TFState, sync_batchnorm: bool) -> None:
    """Data-parallel training across TF_CONFIG's workers (specc.run.distributed)."""
    from specc.executors.tensorflow.distributed import wrap

    wrap(state, sync_batchnorm)


def load_data(state: TFState, x: X, y: Y) -> TFData:
    """One split as device tensors, inputs reshaped (row-major) to the model's input shape;
    several inputs (`Inputs`) become a dict of tensors by input name, several outputs'
    targets (`Outputs`) a dict by output name."""
    tf = _tf()
    from specc.executors.tensorflow.train import TFData

    dtype = input_dtype(state.plan.model)  # token ids stay int64

    def tensor(x: np.ndarray, shape: tuple[int, ...]) -> Any:
        return tf.constant(np.ascontiguousarray(x, dtype=dtype).reshape(len(x), *shape))

    with tf.device(state.device):
        targets = (
            {name: tf.constant(np.ascontiguousarray(a)) for name, a in y.arrays.items()}
            if isinstance(y, Outputs)
            else tf.constant(np.ascontiguousarray(y))
        )
        if isinstance(x, Inputs):
            inputs = {
                name: tensor(x.arrays[name], shape) for name, shape in state.plan.shapes.inputs
            }
            return TFData(inputs, targets)
        return TFData(tensor(x, state.plan.shapes.input), targets)


def train_epoch(
    state: TFState,
    data: TFData,
    order: np.ndarray,
    batch_size: int,
    lrs: np.ndarray,
    augment: Any,
    rng_seed: int,
    progress: Any = None,
    keep_outputs: bool = False,
) -> Any:
    """The epoch is one compiled call: `progress` hears of it once, at the end.
    `keep_outputs`: also return the training forward passes' outputs (probabilities)."""
    from specc.executors.tensorflow import distributed, train

    run = train.run_epoch if state.replicas is None else distributed.run_epoch
    result = run(state, data, order, batch_size, lrs, augment, rng_seed, keep_outputs)
    losses = result[0] if keep_outputs else result
    if progress is not None and len(losses):
        progress(len(losses), float(losses[-1]))
    return result


def will_compile(state: TFState, steps_per_epoch: int) -> str | None:
    """XLA when the first epoch will compile the epoch function with `jit_compile`."""
    from specc.executors.tensorflow.train import use_xla

    if state.jit is None and use_xla(state.plan, steps_per_epoch, state.device):
        return "XLA (jit_compile)"
    return None


def compile_seconds(state: TFState) -> float:
    """Seconds XLA spent compiling so far, kept out of the training time: each epoch
    function shape is compiled by a call that runs no step, and each evaluation chunk
    shape's first call is counted whole (specc.executors.tensorflow.train)."""
    return float(state.compile_seconds)


def predict(state: TFState, data: TFData) -> Any:
    from specc.executors.tensorflow.train import predict as run_predict

    return run_predict(state, data)


def evaluate_loss(state: TFState, data: TFData) -> Any:
    from specc.executors.tensorflow.train import mean_loss

    return mean_loss(state, data)


def get_weights(state: TFState) -> dict[str, np.ndarray]:
    from specc.executors.tensorflow.train import get_weights as read

    return read(state.keras)


def set_weights(state: TFState, weights: dict[str, np.ndarray]) -> None:
    from specc.executors.tensorflow.train import set_weights as write

    write(state.keras, weights)


def optimizer_state(state: TFState) -> dict[str, np.ndarray]:
    """Slots keyed `<weight key>/<slot>` in the neutral layout, like the torch backend's."""
    slots = [slot for slot in state.keras.slots if slot.trainable]
    out: dict[str, np.ndarray] = {}
    for (i, name), array in state.optimizer.state().items():
        out[f"{slots[i].key}/{name}"] = slots[i].to_neutral(array)
    step = float(state.optimizer.step.numpy())
    for slot in slots if state.optimizer.saves_step else ():
        out[f"{slot.key}/step"] = np.asarray(step, dtype=np.float32)
    return out


def load_optimizer_state(state: TFState, blob: dict[str, np.ndarray]) -> None:
    from specc.errors import WeightsError

    slots = [slot for slot in state.keras.slots if slot.trainable]
    arrays = {}
    for i, slot in enumerate(slots):
        prefix = f"{slot.key}/"
        for key, value in blob.items():
            if key.startswith(prefix) and key != f"{slot.key}/step":
                arrays[(i, key[len(prefix) :])] = slot.to_keras(np.asarray(value))
    steps = [blob[f"{s.key}/step"] for s in slots if f"{s.key}/step" in blob]
    try:
        # a scalar comes back from a .safetensors checkpoint with shape (1,)
        state.optimizer.load_state(int(np.asarray(steps[0]).item()) if steps else 0, arrays)
    except (KeyError, ValueError) as err:
        raise WeightsError(
            "the saved optimizer state does not fit this model and optimizer",
            "resume with the spec (and optimizer) the checkpoint was written with",
        ) from err


def save_native(state: TFState, directory: Path) -> list[Path]:
    """`model.keras`: the whole Keras model (channels-first input, like the spec).

    Stock Keras layers only (`portable`), so `keras.saving.load_model` loads it without
    specc installed.
    """
    from specc.executors.tensorflow.portable import stock_model

    path = Path(directory) / "model.keras"
    tmp = Path(directory) / "model.tmp.keras"  # Keras insists on the .keras suffix
    stock_model(state.keras).save(tmp)
    tmp.replace(path)
    return [path]


def versions() -> dict[str, str]:
    tf = _tf()
    import keras

    gpus = tf.config.list_physical_devices("GPU")
    return {"tensorflow": tf.__version__, "keras": keras.__version__, "gpus": str(len(gpus))}
