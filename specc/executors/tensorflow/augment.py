"""`augment` in TensorFlow ops, numerically the reference `specc.data.augment.augment_batch`.

The random draws (flip, angle, shift per image) are made on the host with NumPy, for the
whole epoch at once, in exactly the reference's order from one generator seeded by the
loop's epoch seed; the compiled step then applies the same flip and the same affine map
(bilinear sampling, nearest-edge fill) to channels-first batches. So a TensorFlow batch
equals `augment_batch(batch, node, rng)` with that generator, which the tests check.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from specc.ir.data import Augment


def draw_params(
    augment: Augment | None, sizes: list[int], sample_shape: tuple[int, ...], seed: int
) -> list[np.ndarray]:
    """Per-step (flips, angles, shifts) arrays for batches of `sizes`, padded to the largest.

    Returns [] without augmentation. Shapes: flips (S, B) bool, angles (S, B) radians,
    shifts (S, B, 2) pixels (x, y); rows of short batches are padded with no-ops.
    """
    if augment is None or not sizes:
        return []
    h, w = int(sample_shape[-2]), int(sample_shape[-1])
    rng = np.random.default_rng(seed)
    width = max(sizes)
    flips = np.zeros((len(sizes), width), bool)
    angles = np.zeros((len(sizes), width), np.float32)
    shifts = np.zeros((len(sizes), width, 2), np.float32)
    for i, n in enumerate(sizes):  # the reference's draw order, batch after batch
        flips[i, :n] = rng.random(n) < 0.5
        angles[i, :n] = np.deg2rad(rng.uniform(-1.0, 1.0, n) * augment.rotation)
        shifts[i, :n] = rng.uniform(-1.0, 1.0, (n, 2)) * augment.shift * np.array([w, h])
    return [flips, angles, shifts]


def augment_images(
    x: tf.Tensor, augment: Augment, flips: tf.Tensor, angles: tf.Tensor, shifts: tf.Tensor
) -> tf.Tensor:
    """Flip then rotate/shift each image of `x` (N, C, H, W) or (N, H, W) by its own parameters."""
    if len(x.shape) == 3:  # `input 28x28`: images without a channel axis
        return augment_images(x[:, None], augment, flips, angles, shifts)[:, 0]
    n = tf.shape(x)[0]
    flips, angles, shifts = flips[:n], angles[:n], shifts[:n]
    if augment.flip:
        x = tf.where(flips[:, None, None, None], tf.reverse(x, axis=[3]), x)
    if augment.rotation == 0 and augment.shift == 0:
        return x
    return _affine(x, angles, shifts)


def _affine(x: tf.Tensor, angles: tf.Tensor, shifts: tf.Tensor) -> tf.Tensor:
    """The reference's inverse map: each output pixel samples the input bilinearly."""
    h, w = int(x.shape[2]), int(x.shape[3])
    rows, cols = tf.meshgrid(
        tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij"
    )
    cy, cx = (h - 1) / 2.0, (w - 1) / 2.0
    cos = tf.cos(angles)[:, None, None]
    sin = tf.sin(angles)[:, None, None]
    dx = cols[None] - cx - shifts[:, 0, None, None]  # (N, H, W)
    dy = rows[None] - cy - shifts[:, 1, None, None]
    src_x = tf.clip_by_value(cos * dx + sin * dy + cx, 0.0, w - 1.0)
    src_y = tf.clip_by_value(-sin * dx + cos * dy + cy, 0.0, h - 1.0)
    x0f, y0f = tf.floor(src_x), tf.floor(src_y)
    x0, y0 = tf.cast(x0f, tf.int32), tf.cast(y0f, tf.int32)
    x1, y1 = tf.minimum(x0 + 1, w - 1), tf.minimum(y0 + 1, h - 1)
    wx = (src_x - x0f)[:, None]  # (N, 1, H, W): broadcast over channels
    wy = (src_y - y0f)[:, None]
    flat = tf.reshape(x, [tf.shape(x)[0], tf.shape(x)[1], h * w])

    def at(yy: tf.Tensor, xx: tf.Tensor) -> tf.Tensor:
        index = tf.reshape(yy * w + xx, [tf.shape(x)[0], h * w])
        picked = tf.gather(flat, index, axis=2, batch_dims=1)  # (N, C, H*W)
        return tf.reshape(picked, tf.shape(x))

    top = at(y0, x0) * (1 - wx) + at(y0, x1) * wx
    bottom = at(y1, x0) * (1 - wx) + at(y1, x1) * wx
    return top * (1 - wy) + bottom * wy
