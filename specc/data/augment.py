"""Reference numpy implementation of `augment`: random flips, shifts and rotations.

Executors apply `augment` per batch to the training set only (the loader never does).
They may call `augment_batch` directly or use their framework's layers; tests compare
against this. Each image gets: a horizontal flip with probability 1/2 (if `flip`), then
one affine map: a rotation by U(-rotation, rotation) degrees about the centre and a
shift by U(-shift, shift) of the width and height. Pixels are sampled bilinearly and
positions outside the image take the nearest edge pixel ("nearest" fill), which is right
whatever `normalize` did to the background value.
"""

from __future__ import annotations

import numpy as np

from specc.data.errors import DataError
from specc.ir.data import Augment


def augment_batch(x: np.ndarray, node: Augment, rng: np.random.Generator) -> np.ndarray:
    """A randomly augmented copy of the images `x` (N, C, H, W), float32.

    The random draws are always, in order: flips (N), angles (N), shifts (N, 2), so a
    given generator state gives the same batch whichever options are on.
    """
    if x.ndim != 4:
        raise DataError(
            f"`augment` needs images (N, C, H, W), but the inputs have shape {x.shape}",
            "remove `augment` from the data block for non-image data",
        )
    n, _, h, w = x.shape
    flips = np.less(rng.random(n), 0.5)
    angles = np.deg2rad(rng.uniform(-1.0, 1.0, n) * node.rotation)
    shifts = rng.uniform(-1.0, 1.0, (n, 2)) * node.shift * np.array([w, h])
    out = np.asarray(x, dtype=np.float32)
    if node.flip:
        out = np.where(flips[:, None, None, None], out[..., ::-1], out)
    if node.rotation == 0 and node.shift == 0:
        return out.copy() if out is x else out
    return _affine(out, angles, shifts)


def _affine(x: np.ndarray, angles: np.ndarray, shifts: np.ndarray) -> np.ndarray:
    """Rotate each image by its angle about the centre, then move it by its shift."""
    n, _, h, w = x.shape
    rows, cols = np.meshgrid(
        np.arange(h, dtype=np.float32), np.arange(w, dtype=np.float32), indexing="ij"
    )
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    cos = np.cos(angles).astype(np.float32)[:, None, None]
    sin = np.sin(angles).astype(np.float32)[:, None, None]
    # Inverse map: for each output pixel, where it comes from in the input, (N, H, W).
    dx = cols[None] - cx - shifts[:, 0, None, None].astype(np.float32)
    dy = rows[None] - cy - shifts[:, 1, None, None].astype(np.float32)
    # Positive angles turn the picture clockwise as displayed (rows grow downwards); the
    # TensorFlow executor's augment.py mirrors this exactly, so keep the two in step.
    src_x = np.clip(cos * dx + sin * dy + cx, 0, w - 1)
    src_y = np.clip(-sin * dx + cos * dy + cy, 0, h - 1)
    x0 = np.floor(src_x).astype(np.intp)
    y0 = np.floor(src_y).astype(np.intp)
    x1 = np.minimum(x0 + 1, w - 1)
    y1 = np.minimum(y0 + 1, h - 1)
    wx = (src_x - x0)[:, None]  # (N, 1, H, W), broadcast over channels
    wy = (src_y - y0)[:, None]
    batch = np.arange(n)[:, None, None]

    def at(yy: np.ndarray, xx: np.ndarray) -> np.ndarray:
        return x[batch, :, yy, xx].transpose(0, 3, 1, 2)  # (N, H, W, C) -> (N, C, H, W)

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return (top * (1 - wy) + bottom * wy).astype(np.float32)
