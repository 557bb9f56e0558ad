"""The PyTorch backend: the functions of the executor contract (`specc.executors.Executor`).

torch is imported inside the functions, so importing this module (for `unsupported`, from
`specc check --backend torch`) stays cheap. Training keeps whole splits on the device,
cuts batches by index, sets each step's learning rate from the shared schedule and
collects per-step losses in a device tensor read once per epoch: no host sync per step.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specc.data.dataset import Inputs, Outputs, X, Y
from specc.diagnostics import Diagnostic
from specc.errors import DeviceError
from specc.executors.policies import check_fits, input_dtype

if TYPE_CHECKING:
    from specc.executors.torch.train import TorchState
    from specc.plan import RunPlan

NAME = "torch"


def available() -> bool:
    return importlib.util.find_spec("torch") is not None


def resolve_device(requested: str) -> str:
    """cuda, then mps, then cpu for `auto`; a missing device is an error, never a fallback."""
    import torch

    wanted = (requested or "auto").strip().lower()
    if wanted == "gpu" or wanted.startswith("gpu:"):
        wanted = "cuda" + wanted[3:]
    if wanted == "auto":
        if torch.cuda.is_available():
            return "cuda"
        if _mps():
            return "mps"
        return "cpu"
    if wanted == "cpu":
        return "cpu"
    if wanted == "mps":
        if not _mps():
            raise DeviceError("--device mps: Apple's MPS is not available here", _fix())
        return "mps"
    if wanted == "cuda" or wanted.startswith("cuda:"):
        if not torch.cuda.is_available():
            raise DeviceError(f"--device {requested}: CUDA is not available here", _fix())
        index = wanted.partition(":")[2]
        if index and (not index.isdigit() or int(index) >= torch.cuda.device_count()):
            count = torch.cuda.device_count()
            raise DeviceError(
                f"--device {requested}: this machine has {count} CUDA device(s)",
                f"use cuda:0 .. cuda:{count - 1}",
            )
        return wanted
    raise DeviceError(f"unknown device `{requested}`", "use auto, cpu, cuda, cuda:N or mps")


def _mps() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _fix() -> str:
    return "use --device cpu (or --device auto to take the best device present)"


# What this backend cannot run, as the shared gate's feature -> reason
# (specc/lowering/capabilities.py); everything else in the vocabulary must work.
UNSUPPORTED: dict[str, str] = {
    "precision.fp16.cpu": "use `precision bf16` (works on CPU) or run with --device cuda",
}


def unsupported(plan: RunPlan) -> list[Diagnostic]:
    """E600 for what PyTorch cannot do as the spec says; decided without importing torch."""
    from specc.plan import unsupported as gate

    return gate(plan, UNSUPPORTED)


def build(plan: RunPlan, weights: dict[str, np.ndarray], device: str) -> TorchState:
    from specc.executors.torch.train import build_state

    return build_state(plan, weights, device)


def distribute(state: TorchState, sync_batchnorm: bool) -> None:
    """Data-parallel training over the process group (specc.run.distributed): DDP, and
    batch statistics over every rank's slice when `sync_batchnorm`."""
    from specc.executors.torch.distributed import wrap

    wrap(state, sync_batchnorm)


def load_data(state: TorchState, x: X, y: Y) -> Any:
    """One split as device tensors, inputs reshaped (row-major) to the model's input shape;
    several inputs (`Inputs`) become a dict of tensors by input name, several outputs'
    targets (`Outputs`) a dict by output name."""
    import torch

    def tensor(array: np.ndarray) -> Any:
        return torch.from_numpy(np.ascontiguousarray(array)).to(state.device)

    targets = (
        {name: tensor(array) for name, array in y.arrays.items()}
        if isinstance(y, Outputs)
        else tensor(y)
    )
    if isinstance(x, Inputs):
        return (
            {
                name: _tensor(state, x.arrays[name], shape)
                for name, shape in state.plan.shapes.inputs
            },
            targets,
        )
    dtype = input_dtype(state.plan.model)  # token ids stay int64
    return (_tensor(state, x, state.plan.shapes.input, dtype), targets)


def _tensor(
    state: TorchState, x: np.ndarray, shape: tuple[int, ...], dtype: type = np.float32
) -> Any:
    import torch

    x = np.ascontiguousarray(x, dtype=dtype).reshape(len(x), *shape)
    return torch.from_numpy(x).to(state.device)


def train_epoch(
    state: TorchState,
    data: Any,
    order: np.ndarray,
    batch_size: int,
    lrs: np.ndarray,
    augment: Any,
    rng_seed: int,
    progress: Any = None,
    keep_outputs: bool = False,
) -> Any:
    """`progress(done, loss)`, when given, is called every `progress.every` steps (a sync).

    `keep_outputs`: also return the training forward passes' outputs (probabilities).
    """
    from specc.executors.torch.train import run_epoch

    return run_epoch(state, data, order, batch_size, lrs, augment, rng_seed, progress, keep_outputs)


def will_compile(state: TorchState, steps_per_epoch: int) -> str | None:
    """The compiler the first epoch will run (`compile on`, or `auto` on a long CUDA run)."""
    from specc.executors.torch.train import will_compile as decide

    return decide(state, steps_per_epoch)


def compile_seconds(state: TorchState) -> float:
    """Seconds spent compiling so far (the first compiled step), kept out of training time."""
    return float(state.compile_seconds)


def predict(state: TorchState, data: Any) -> Any:
    """Probabilities (or values) per example; several outputs: a dict by output name."""
    from specc.executors.torch.train import outputs

    out = outputs(state, data[0], probabilities=True)
    if isinstance(out, dict):
        return {name: value.float().cpu().numpy() for name, value in out.items()}
    return out.float().cpu().numpy()


def evaluate_loss(state: TorchState, data: Any) -> Any:
    """The mean loss; several outputs: an array `[total, each output's loss]`."""
    from specc.executors.torch.train import mean_loss

    return mean_loss(state, data)


def get_weights(state: TorchState) -> dict[str, np.ndarray]:
    from specc.executors.torch.model import neutral_key

    return {
        neutral_key(key): value.detach().float().cpu().numpy().copy()
        for key, value in state.network.state_dict().items()
        if not key.endswith("num_batches_tracked")
    }


def set_weights(state: TorchState, weights: dict[str, np.ndarray]) -> None:
    import torch

    from specc.executors.torch.model import neutral_key

    own = state.network.state_dict()
    for own_key, value in own.items():
        key = neutral_key(own_key)
        if key.endswith("num_batches_tracked"):
            continue
        given = weights.get(key)
        check_fits(key, None if given is None else np.shape(given), tuple(value.shape))
        array = np.asarray(given)
        with torch.no_grad():
            value.copy_(torch.from_numpy(np.ascontiguousarray(array, dtype=np.float32)))


def optimizer_state(state: TorchState) -> dict[str, np.ndarray]:
    from specc.executors.torch.optimizers import optimizer_arrays

    return optimizer_arrays(state)


def load_optimizer_state(state: TorchState, blob: dict[str, np.ndarray]) -> None:
    from specc.executors.torch.optimizers import load_optimizer_arrays

    load_optimizer_arrays(state, blob)


def save_native(state: TorchState, directory: Path) -> list[Path]:
    """`model.pt`: the module's state_dict (load it into the same module: an nn.Sequential
    for a chain, `specc.executors.torch.graph.GraphNetwork` for a graph)."""
    import torch

    path = Path(directory) / "model.pt"
    tmp = path.with_suffix(".pt.tmp")
    torch.save(state.network.state_dict(), tmp)
    tmp.replace(path)
    return [path]


def versions() -> dict[str, str]:
    import torch

    return {"torch": torch.__version__, "cuda": str(torch.version.cuda or "none")}
