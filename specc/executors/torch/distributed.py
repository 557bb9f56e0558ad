"""PyTorch data parallelism for a distributed run (specc.run.distributed, docs/distributed.md).

`wrap` puts the training body under `DistributedDataParallel`: each rank's loss is the mean
over its slice of the global batch and DDP averages the gradients, so a step equals the
single-process step on the whole batch (clipping sees the averaged gradients). Batchnorm
normalises per rank unless `sync_batchnorm` asks for statistics over every rank's slice:
torch's `SyncBatchNorm` on CUDA; on CPU, where torch has no kernels for it, `GlobalBatchNorm`
computes the same statistics with differentiable all-reduces.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

import torch
from torch import nn

from specc.executors.torch.graph import GraphNetwork
from specc.executors.torch.model import trunk

if TYPE_CHECKING:
    from specc.executors.torch.train import TorchState

PLAIN_BATCHNORM = (nn.BatchNorm1d, nn.BatchNorm2d)  # not FrozenBatchNorm: it never updates
# The autograd-aware all_reduce is marked deprecated in favour of a private module.
warnings.filterwarnings("ignore", "torch.distributed.nn.functional.all_reduce", FutureWarning)


class GlobalBatchNorm(nn.modules.batchnorm._BatchNorm):
    """Batchnorm whose training statistics cover the global batch (every rank's slice)."""

    def _check_input_dim(self, input: torch.Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not self.training:
            return super().forward(x)
        from torch.distributed.nn.functional import all_reduce

        dims = [0, *range(2, x.dim())]  # every axis but the channels
        shape = [1, -1] + [1] * (x.dim() - 2)
        count = torch.full((1,), x.numel() / x.shape[1], dtype=x.dtype, device=x.device)
        total = all_reduce(torch.cat([x.sum(dims), count]))
        n = total[-1].detach()
        mean = total[:-1] / n
        centred = x - mean.reshape(shape)
        var = all_reduce((centred * centred).sum(dims)) / n  # biased, as torch normalises
        if self.track_running_stats and self.running_mean is not None:
            assert self.running_var is not None and self.num_batches_tracked is not None
            self.num_batches_tracked.add_(1)
            m = (
                1.0 / float(self.num_batches_tracked)
                if self.momentum is None
                else float(self.momentum)
            )
            with torch.no_grad():
                self.running_mean.mul_(1 - m).add_(mean.detach() * m)
                self.running_var.mul_(1 - m).add_(var.detach() * (n / (n - 1)) * m)
        out = centred / torch.sqrt(var + self.eps).reshape(shape)
        if self.affine:
            out = out * self.weight.reshape(shape) + self.bias.reshape(shape)
        return out


def _sync_kind(device: str) -> type[nn.Module]:
    return nn.SyncBatchNorm if device.startswith("cuda") else GlobalBatchNorm


def _convert(module: nn.Module, kind: type[nn.Module]) -> None:
    """Swap plain batchnorms for `kind`, keeping the same parameter and buffer tensors (the
    optimizer holds the parameters)."""
    for name, child in module.named_children():
        if type(child) in PLAIN_BATCHNORM:
            assert isinstance(child, nn.modules.batchnorm._BatchNorm)
            synced: Any = kind(child.num_features, child.eps, child.momentum, child.affine)
            if child.affine:
                synced.weight, synced.bias = child.weight, child.bias
            synced.running_mean, synced.running_var = child.running_mean, child.running_var
            synced.num_batches_tracked = child.num_batches_tracked
            synced.train(child.training)
            setattr(module, name, synced)
        else:
            _convert(child, kind)


def wrap(state: TorchState, sync_batchnorm: bool) -> None:
    """Train through DDP from now on (the same weights on every rank: DDP also broadcasts
    rank 0's at construction); evaluation keeps using the plain body."""
    from torch.nn.parallel import DistributedDataParallel

    if sync_batchnorm:
        _convert(state.network, _sync_kind(state.device))
        state.body = trunk(state.network, state.plan.fused_activation is not None)
    on_gpu = state.device.startswith("cuda")
    index = torch.device(state.device).index if on_gpu else None
    # A graph's dead branch (W507) has weights no step reads: DDP must not wait for them.
    idle = isinstance(state.body, GraphNetwork) and state.body.idle_parameters()
    state.step_body = DistributedDataParallel(
        state.body,
        device_ids=None if index is None else [index],
        find_unused_parameters=idle,
    )
