"""Data augmentation on the device for the PyTorch backend (docs/semantics.md#training)."""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from specc.ir.data import Augment


def augment_batch(xb: torch.Tensor, node: Augment, generator: torch.Generator) -> torch.Tensor:
    """Random flips, shifts and rotations of a batch of images, on the device (bilinear)."""
    if xb.dim() not in (3, 4) or not (node.flip or node.shift or node.rotation):
        return xb
    images = xb if xb.dim() == 4 else xb.unsqueeze(1)  # (B, C, H, W)
    n = images.shape[0]

    def uniform(scale: float) -> torch.Tensor:
        draw = torch.rand(n, generator=generator, device=xb.device) * 2.0 - 1.0
        return draw * scale

    angle = uniform(math.radians(float(node.rotation)))
    flip = torch.ones(n, device=xb.device)
    if node.flip:
        flip = torch.where(torch.rand(n, generator=generator, device=xb.device) < 0.5, -1.0, 1.0)
    # affine_grid works in [-1, 1] coordinates: a shift of f of the width is 2f there.
    tx, ty = uniform(2.0 * float(node.shift)), uniform(2.0 * float(node.shift))
    cos, sin = torch.cos(angle), torch.sin(angle)
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, tx], 1), torch.stack([sin * flip, cos, ty], 1)], 1
    )
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    moved = F.grid_sample(images, grid, mode="bilinear", padding_mode="border", align_corners=False)
    return moved if xb.dim() == 4 else moved.squeeze(1)
