"""Collectives for a distributed run on torch.distributed (gloo on CPU, NCCL on CUDA): what
`specc.run.distributed.World` calls when torchrun started the ranks."""

from __future__ import annotations

import gc
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.distributed as dist

if TYPE_CHECKING:
    from specc.run.distributed import World


def start(world: World, requested: str, resolve: Callable[[str], str]) -> str:
    """Join the process group; the device this rank trains on (LOCAL_RANK's GPU)."""
    device = resolve(requested)
    if device.startswith("cuda"):
        device = f"cuda:{world.local_rank}"
        torch.cuda.set_device(world.local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.startswith("cuda") else "gloo")
    return device


def stop() -> None:
    """Leave the group while the interpreter is fully alive: DDP's reducer (freed by the
    collector: it sits in reference cycles) and the group itself go before exit, or gloo's
    threads may be torn down by the C++ runtime at exit (an abort)."""
    gc.collect()
    if dist.is_initialized():
        dist.destroy_process_group()
    gc.collect()


def barrier(world: World) -> None:
    dist.barrier()


def broadcast(world: World, value: Any) -> Any:
    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


def sum_arrays(world: World, values: np.ndarray) -> np.ndarray:
    tensor = torch.from_numpy(np.array(values, dtype=np.float64))
    dist.all_reduce(tensor)
    return tensor.numpy()


def gather(world: World, array: np.ndarray) -> np.ndarray:
    parts: list[Any] = [None] * world.size
    dist.all_gather_object(parts, np.asarray(array))
    return np.concatenate(parts)


def lost_peer(err: Exception) -> bool:
    """A collective failed because another rank is gone."""
    text = str(err)
    return isinstance(err, dist.DistError) or (
        isinstance(err, RuntimeError)
        and any(word in text for word in ("gloo", "Gloo", "NCCL", "Connection closed"))
    )
