"""`data synthetic` for a model with several inputs: one array per input, from one label.

Each example gets one label (balanced, i mod classes, shuffled), written in the mixed radix
`r`, the smallest integer with r ** inputs >= classes: input j (in the model's order) shows
only digit j of its label, `(label // r**j) % r`. So each input carries part of the label
and all of them together carry all of it: on its own, input j can be right for at most
(distinct values of its digit) / classes of the examples (with 10 classes and two inputs,
r = 4: 4/10 and 3/10), while the inputs together name the label exactly.

How an input shows its digit d depends on its declared shape:
- flat (`input meta 12`): Gaussian clusters, as one-input `synthetic` makes them: r centres
  drawn from N(0, 1) per feature, each example its digit's centre plus N(0, noise²);
- image-shaped (two or more axes, `input image 1x28x28`): a grating over the last two axes
  (the same in every channel), sin(2π/4 · (row·sin θ + col·cos θ) + φ) at angle
  θ = π·d / r, a random phase φ per example, plus N(0, noise²) per value.

The same `data_seed` gives the same arrays on every machine; the inputs are drawn in the
model's order, each from its own generator seeded (data_seed, j).
"""

from __future__ import annotations

import numpy as np

from specc.data.dataset import Inputs
from specc.ir.data import Synthetic

Shape = tuple[int, ...]

PERIOD = 4
"""Pixels per cycle of an image input's grating."""


def radix(classes: int, inputs: int) -> int:
    """The smallest r with r ** inputs >= classes: each input shows one base-r digit."""
    r = 2
    while r**inputs < classes:
        r += 1
    return r


def digits(labels: np.ndarray, inputs: int, r: int) -> list[np.ndarray]:
    """Digit j of each label in base r, for j in 0..inputs-1 (the share input j shows)."""
    return [(labels // r**j) % r for j in range(inputs)]


def generate_inputs(node: Synthetic, shapes: dict[str, Shape]) -> tuple[Inputs, np.ndarray]:
    """One float32 array per input (its declared shape per example) and int64 labels."""
    n = int(node.samples)
    k = int(node.classes) if node.task == "classification" else 2
    labels = np.random.default_rng(node.data_seed).permutation(np.arange(n) % k)
    r = radix(k, len(shapes))
    arrays = {}
    for j, ((name, shape), digit) in enumerate(
        zip(shapes.items(), digits(labels, len(shapes), r), strict=True)
    ):
        rng = np.random.default_rng((int(node.data_seed), j))
        make = _image if len(shape) >= 2 else _clusters
        arrays[name] = make(rng, digit, r, shape, float(node.noise)).astype(np.float32)
    return Inputs(arrays), labels.astype(np.int64)


def _clusters(
    rng: np.random.Generator, digit: np.ndarray, r: int, shape: Shape, noise: float
) -> np.ndarray:
    centres = rng.normal(size=(r, *shape))
    return centres[digit] + rng.normal(scale=noise, size=(len(digit), *shape))


def _image(
    rng: np.random.Generator, digit: np.ndarray, r: int, shape: Shape, noise: float
) -> np.ndarray:
    n, (height, width) = len(digit), shape[-2:]
    angle = np.pi * digit / r
    phase = rng.uniform(0.0, 2.0 * np.pi, size=n)
    rows = np.arange(height)[None, :, None]
    cols = np.arange(width)[None, None, :]
    along = rows * np.sin(angle)[:, None, None] + cols * np.cos(angle)[:, None, None]
    grating = np.sin(2.0 * np.pi / PERIOD * along + phase[:, None, None])
    lead = (1,) * (len(shape) - 2)
    pattern = grating.reshape(n, *lead, height, width)
    return np.broadcast_to(pattern, (n, *shape)) + rng.normal(scale=noise, size=(n, *shape))
