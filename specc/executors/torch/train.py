"""PyTorch training internals: state, losses, optimizers, augmentation and the epoch loop.

Imported only by `specc.executors.torch` once a run needs torch. Meanings follow
docs/semantics.md; each table below maps an IR class to the torch function or optimizer
that has that meaning when given the settings written here.
"""

from __future__ import annotations

import contextlib
import math
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from specc.errors import RunError
from specc.executors.policies import EVAL_CHUNK, compile_pays
from specc.executors.torch.augment import augment_batch
from specc.executors.torch.graph import GraphNetwork
from specc.executors.torch.losses import LOSSES, LossFn, probability_fn
from specc.executors.torch.model import Network, build_network, frozen_names, neutral_key, trunk
from specc.executors.torch.optimizers import OPTIMIZERS
from specc.executors.torch.outputs import several_head, several_loss
from specc.ir.data import Augment
from specc.plan import RunPlan


@dataclass
class TorchState:
    plan: RunPlan
    device: str
    network: Network  # every layer, named as in the spec (state_dict = neutral keys)
    body: nn.Module  # the network minus a final activation fused into the loss
    step_body: Any  # `body`, possibly torch.compile'd, for training steps (set on first epoch)
    optimizer: torch.optim.Optimizer
    param_names: list[str]  # optimizer parameter order -> weight key
    loss_fn: LossFn  # several outputs: a SeveralLoss, giving [total, each output's loss]
    head: Callable[[Any], Any]  # logits -> probabilities for predict (a dict: several outputs)
    autocast_dtype: torch.dtype | None
    scaler: Any  # torch.amp.GradScaler for fp16 on CUDA, else None
    # torch.compile works during the first step of each new batch size (dynamic=False): those
    # steps are timed apart, so compiling is not counted as training
    compile_seconds: float = 0.0
    compiled_sizes: set[int] = field(default_factory=set)


# ---- building ----------------------------------------------------------------------------


COMPILE_MIN_STEPS = 2000  # below this, torch.compile's start-up costs more than it saves


def _should_compile(plan: RunPlan, device: str, steps_per_epoch: int) -> bool:
    """`compile auto`: only on CUDA and only for runs long enough to repay the compile."""
    if plan.compile == "auto" and not device.startswith("cuda"):
        return False
    return compile_pays(plan, steps_per_epoch, COMPILE_MIN_STEPS)


_DTYPES = {"bf16": torch.bfloat16, "fp16": torch.float16}


def build_state(plan: RunPlan, weights: dict[str, np.ndarray], device: str) -> TorchState:
    from specc.executors import torch as backend

    if plan.precision == "fp16" and not device.startswith("cuda"):
        raise RunError(
            f"`precision fp16` needs a CUDA GPU with the torch backend (device: {device})",
            "use `precision bf16` on CPU, or --device cuda",
            code="E600",
        )
    torch.manual_seed(plan.seed)
    if device.startswith("cuda"):
        torch.backends.cudnn.deterministic = True
        torch.backends.cudnn.benchmark = False
    network = build_network(plan.shapes).to(device)
    state_placeholder = _Partial(network)
    backend.set_weights(state_placeholder, weights)  # type: ignore[arg-type]
    frozen = frozen_names(plan.shapes)
    everything = [(neutral_key(name), p) for name, p in network.named_parameters()]
    named = [(name, p) for name, p in everything if name.split(".")[0] not in frozen]
    for name, p in everything:
        p.requires_grad_(name.split(".")[0] not in frozen)
    node = plan.train.optimizer
    params = [p for _, p in named]  # never empty: make_plan refuses a model with nothing to train
    optimizer = OPTIMIZERS[type(node)](node, params, device)
    if plan.outputs:
        assert isinstance(network, GraphNetwork)
        body: nn.Module = network.without_heads(
            {o.name: o.lowered.head is not None for o in plan.outputs}
        )
    else:
        body = trunk(network, plan.fused_activation is not None)
    dtype = _DTYPES.get(plan.precision)
    scaler = torch.amp.GradScaler("cuda") if plan.precision == "fp16" else None
    return TorchState(
        plan=plan,
        device=device,
        network=network,
        body=body,
        step_body=None,
        optimizer=optimizer,
        param_names=[n for n, _ in named],
        loss_fn=several_loss(plan)  # type: ignore[arg-type]
        if plan.outputs
        else LOSSES[type(plan.train.main_loss)](plan.train.main_loss),
        head=several_head(plan) if plan.outputs else probability_fn(plan.train.main_loss),
        autocast_dtype=dtype,
        scaler=scaler,
    )


@dataclass
class _Partial:
    """Enough of a state for `set_weights` while the state is being built."""

    network: Network


# ---- training ----------------------------------------------------------------------------


def _autocast(state: TorchState) -> contextlib.AbstractContextManager[Any]:
    if state.autocast_dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(state.device.split(":")[0], dtype=state.autocast_dtype)


def _clip(state: TorchState) -> None:
    node = state.plan.train.optimizer
    params = state.optimizer.param_groups[0]["params"]
    if node.clip_norm is not None:
        torch.nn.utils.clip_grad_norm_(params, float(node.clip_norm))
    if node.clip_value is not None:
        torch.nn.utils.clip_grad_value_(params, float(node.clip_value))


def _batches(order: torch.Tensor, batch_size: int, steps: int) -> Iterator[torch.Tensor]:
    for i in range(steps):
        yield order[i * batch_size : (i + 1) * batch_size]


Batch = torch.Tensor | dict[str, torch.Tensor]
"""A split's or a batch's inputs: one tensor, or one per input name (several inputs)."""


def _rows(x: Batch, idx: torch.Tensor) -> Batch:
    if isinstance(x, dict):
        return {name: value.index_select(0, idx) for name, value in x.items()}
    return x.index_select(0, idx)


def _slice(x: Batch, start: int, stop: int) -> Batch:
    if isinstance(x, dict):
        return {name: value[start:stop] for name, value in x.items()}
    return x[start:stop]


def _float(out: Batch) -> Batch:
    """Outputs as float32 (autocast may compute them in bf16); a dict per output name."""
    if isinstance(out, dict):
        return {name: value.float() for name, value in out.items()}
    return out.float()


def _detached(out: Batch) -> Batch:
    if isinstance(out, dict):
        return {name: value.detach() for name, value in out.items()}
    return out.detach()


def _joined(parts: list[Any]) -> Any:
    """Per-batch outputs concatenated (per output name for several) and read back."""
    if parts and isinstance(parts[0], dict):
        return {name: torch.cat([p[name] for p in parts]).cpu().numpy() for name in parts[0]}
    return torch.cat(parts).cpu().numpy() if parts else np.zeros((0,), np.float32)


def _first(x: Batch) -> torch.Tensor:
    """A tensor with the split's device and row count."""
    return next(iter(x.values())) if isinstance(x, dict) else x


def run_epoch(
    state: TorchState,
    data: tuple[Batch, Batch],
    order: np.ndarray,
    batch_size: int,
    lrs: np.ndarray,
    augment: Augment | None,
    rng_seed: int,
    progress: Callable[[int, float], None] | None = None,
    keep_outputs: bool = False,
) -> Any:
    """`len(lrs)` optimizer steps; per-step losses are read back once, at the end.

    Only a progress bar (a terminal) reads a loss mid-epoch, every `progress.every` steps.
    `keep_outputs`: return `(losses, outputs)`, the outputs being the training forward
    passes' own (probabilities, in `order`), kept on the device until the epoch ends; the
    loop computes the train metrics from them without another pass over the data.
    Several outputs: each step's losses are a row `[total, each output's loss]`, and the
    outputs a dict by output name.
    """
    x, y = data
    device = _first(x).device
    torch.manual_seed(rng_seed)  # dropout: a fresh, reproducible stream per epoch
    generator = torch.Generator(device=device).manual_seed(rng_seed + 1)
    index = torch.from_numpy(np.ascontiguousarray(order, dtype=np.int64)).to(device)
    steps = len(lrs)
    width = (1 + len(state.plan.outputs),) if state.plan.outputs else ()
    losses = torch.zeros((steps, *width), device=device)
    optimizer, scaler = state.optimizer, state.scaler
    clipping = (
        state.plan.train.optimizer.clip_norm is not None
        or state.plan.train.optimizer.clip_value is not None
    )
    if state.step_body is None:
        compiled = _should_compile(state.plan, state.device, steps)
        began = time.perf_counter()  # torch.compile itself imports the compiler (seconds)
        state.step_body = torch.compile(state.body, dynamic=False) if compiled else state.body
        state.compile_seconds += time.perf_counter() - began if compiled else 0.0
    compiling = state.step_body is not state.body
    every = int(getattr(progress, "every", 10))
    kept: list[torch.Tensor] = []
    state.network.train()
    for step, idx in enumerate(_batches(index, batch_size, steps)):
        fresh = compiling and len(idx) not in state.compiled_sizes
        began = _synchronized(device) if fresh else 0.0
        xb, yb = _rows(x, idx), _rows(y, idx)
        if augment is not None:  # `specc check` refuses `augment` with several inputs
            assert isinstance(xb, torch.Tensor)
            xb = augment_batch(xb, augment, generator)
        for group in optimizer.param_groups:
            group["lr"] = float(lrs[step])
        with _autocast(state):
            out = state.step_body(xb)
        every_loss = state.loss_fn(_float(out), yb)  # type: ignore[arg-type]
        loss = every_loss[0] if width else every_loss
        optimizer.zero_grad(set_to_none=True)
        if scaler is not None:
            scaler.scale(loss).backward()
            if clipping:
                scaler.unscale_(optimizer)
                _clip(state)
            scaler.step(optimizer)
            scaler.update()
        else:
            loss.backward()
            if clipping:
                _clip(state)
            optimizer.step()
        losses[step] = every_loss.detach()
        if fresh:
            state.compile_seconds += _synchronized(device) - began
            state.compiled_sizes.add(len(idx))
        if keep_outputs:
            kept.append(state.head(_float(_detached(out))))
        if progress is not None and (step + 1) % every == 0:
            progress(step + 1, float(losses[step][0] if width else losses[step]))
    read = losses.cpu().numpy().astype(np.float64)
    if not keep_outputs:
        return read
    return read, _joined(kept)


def _synchronized(device: torch.device) -> float:
    """The time once the device has finished its queued work."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter()


def will_compile(state: TorchState, steps_per_epoch: int) -> str | None:
    """What compiles the train step before its first epoch (None: nothing)."""
    if state.step_body is None and _should_compile(state.plan, state.device, steps_per_epoch):
        return "torch.compile"
    return None


# ---- evaluation --------------------------------------------------------------------------


@torch.no_grad()
def outputs(state: TorchState, x: Batch, probabilities: bool) -> Any:
    """Model outputs over a whole split in evaluation mode (logits unless `probabilities`);
    several outputs: a dict of them by output name."""
    state.network.eval()
    parts = []
    for start in range(0, len(_first(x)), EVAL_CHUNK):
        with _autocast(state):
            out = _float(state.body(_slice(x, start, start + EVAL_CHUNK)))
        parts.append(state.head(out) if probabilities else out)
    if not parts:
        device = _first(x).device
        if state.plan.outputs:
            return {
                o.name: torch.zeros((0, *o.lowered.shape), device=device)
                for o in state.plan.outputs
            }
        return torch.zeros((0, *state.plan.shapes.output), device=device)
    first = parts[0]
    if isinstance(first, dict):
        return {name: torch.cat([p[name] for p in parts]) for name in first}  # type: ignore[index]
    return torch.cat(parts)  # type: ignore[arg-type]


@torch.no_grad()
def mean_loss(state: TorchState, data: tuple[Batch, Batch]) -> Any:
    """The split's mean loss; several outputs: `[total, each output's loss]` (an array)."""
    x, y = data
    n = len(_first(y))
    width = (1 + len(state.plan.outputs),) if state.plan.outputs else ()
    if n == 0:
        return np.full(width, math.nan) if width else math.nan
    state.network.eval()
    device = _first(x).device
    wide = torch.float32 if device.type == "mps" else torch.float64  # MPS has no float64
    total = torch.zeros(width, device=device, dtype=wide)
    for start in range(0, n, EVAL_CHUNK):
        with _autocast(state):
            out = _float(state.body(_slice(x, start, start + EVAL_CHUNK)))
        part = _slice(y, start, start + EVAL_CHUNK)
        total += state.loss_fn(out, part).to(wide) * len(_first(part))  # type: ignore[arg-type]
    if width:
        return total.cpu().numpy() / n
    return float(total.item() / n)
