"""PyTorch optimizers (docs/semantics.md#optimizers): one builder per IR optimizer,
torch's formulas with the IR's defaults, and their state as flat arrays for `--resume`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from specc.ir import optimizers as O

if TYPE_CHECKING:
    from specc.executors.torch.train import TorchState


# ---- optimizers (docs/semantics.md#optimizers): torch's formulas, IR defaults -----------


def _kernels(device: str, fused_on: tuple[str, ...]) -> dict[str, bool]:
    """The fused kernel where torch has one for this device (Adam's is ~4x faster on CPU
    too), else the multi-tensor (foreach) path on accelerators, else torch's default."""
    kind = device.split(":")[0]
    if kind in fused_on:
        return {"fused": True}
    return {"foreach": True} if kind in ("cuda", "mps") else {}


FUSED_CPU_CUDA = ("cpu", "cuda")


def _sgd(node: O.SGD, params: list[Any], device: str) -> torch.optim.Optimizer:
    return torch.optim.SGD(
        params,
        lr=float(node.lr),
        momentum=float(node.momentum),
        nesterov=bool(node.nesterov),
        weight_decay=float(node.weight_decay),
        **_kernels(device, FUSED_CPU_CUDA),
    )


def _adam(node: O.Adam, params: list[Any], device: str) -> torch.optim.Optimizer:
    kind = torch.optim.AdamW if isinstance(node, O.AdamW) else torch.optim.Adam
    return kind(
        params,
        lr=float(node.lr),
        betas=(float(node.beta1), float(node.beta2)),
        eps=float(node.eps),
        weight_decay=float(node.weight_decay),
        amsgrad=bool(node.amsgrad),
        **_kernels(device, FUSED_CPU_CUDA),
    )


def _rmsprop(node: O.RMSprop, params: list[Any], device: str) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(
        params,
        lr=float(node.lr),
        alpha=float(node.rho),
        eps=float(node.eps),
        momentum=float(node.momentum),
        centered=bool(node.centered),
        weight_decay=float(node.weight_decay),
        **_kernels(device, ()),  # torch has no fused RMSprop
    )


def _adagrad(node: O.Adagrad, params: list[Any], device: str) -> torch.optim.Optimizer:
    return torch.optim.Adagrad(
        params,
        lr=float(node.lr),
        initial_accumulator_value=float(node.initial_accumulator),
        eps=float(node.eps),
        weight_decay=float(node.weight_decay),
        **_kernels(device, ("cpu",)),  # torch's fused Adagrad is CPU-only
    )


OPTIMIZERS: dict[type, Callable[[Any, list[Any], str], torch.optim.Optimizer]] = {
    O.SGD: _sgd,
    O.Adam: _adam,
    O.AdamW: _adam,
    O.RMSprop: _rmsprop,
    O.Adagrad: _adagrad,
}


# ---- optimizer state for --resume ---------------------------------------------------------


def optimizer_arrays(state: TorchState) -> dict[str, np.ndarray]:
    """Per-parameter slots keyed `<weight key>/<slot>` (e.g. `dense_1.weight/square_avg`)."""
    saved = state.optimizer.state_dict()["state"]
    out: dict[str, np.ndarray] = {}
    for index, name in enumerate(state.param_names):
        for slot, value in saved.get(index, {}).items():
            if isinstance(value, torch.Tensor):
                out[f"{name}/{slot}"] = value.detach().cpu().numpy().copy()
            elif value is not None:
                out[f"{name}/{slot}"] = np.asarray(value)
    if state.scaler is not None:
        out["__scaler__/scale"] = np.asarray(state.scaler.get_scale(), dtype=np.float64)
    return out


def load_optimizer_arrays(state: TorchState, blob: dict[str, np.ndarray]) -> None:
    current = state.optimizer.state_dict()
    slots: dict[int, dict[str, torch.Tensor]] = {}
    for index, name in enumerate(state.param_names):
        prefix = f"{name}/"
        found = {k[len(prefix) :]: v for k, v in blob.items() if k.startswith(prefix)}
        if found:
            slots[index] = {k: torch.from_numpy(np.array(v)) for k, v in found.items()}
    current["state"] = slots
    state.optimizer.load_state_dict(current)
    if state.scaler is not None and "__scaler__/scale" in blob:
        state.scaler.update(float(blob["__scaler__/scale"]))
