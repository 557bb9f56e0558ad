"""Generated data sets, identical for a given `data_seed` on every machine and backend.

classification / binary: `classes` Gaussian clusters in `features` dimensions, centres
drawn from N(0, 1) per feature, each point its centre plus N(0, noise²) per feature;
labels balanced (i mod classes), then shuffled. regression: inputs N(0, 1), target
x·w + b + N(0, noise²) with w ~ N(0, 1/features), b ~ N(0, 1). The order of the rows is
already random, so the `test`/`validation` tails are fair samples.

synthetic_text: per example a length uniform in [length/4, length], pre-padded with id 0
(Keras's `pad_sequences` default), ids uniform in [classes + 1, vocab), and the signal id
1 + label at one random unpadded position; labels balanced (i mod classes), shuffled.
"""

from __future__ import annotations

import numpy as np

from specc.data.tabular import Table
from specc.ir.data import Synthetic, SyntheticText


def generate(node: Synthetic) -> Table:
    """Features float32 (samples, features) and raw targets (class indices or reals)."""
    rng = np.random.default_rng(node.data_seed)
    n, f = int(node.samples), int(node.features)
    if node.task == "regression":
        x = rng.normal(size=(n, f))
        w = rng.normal(scale=1.0 / np.sqrt(f), size=f)
        b = rng.normal()
        y = x @ w + b + rng.normal(scale=node.noise, size=n)
        return Table(x.astype(np.float32), y.astype(np.float32))
    k = int(node.classes) if node.task == "classification" else 2
    centres = rng.normal(size=(k, f))
    labels = rng.permutation(np.arange(n) % k)
    x = centres[labels] + rng.normal(scale=node.noise, size=(n, f))
    return Table(x.astype(np.float32), labels.astype(np.int64))


def generate_text(node: SyntheticText) -> Table:
    """Token ids int64 (samples, length) and class indices."""
    rng = np.random.default_rng(node.data_seed)
    n, length, k = int(node.samples), int(node.length), int(node.classes)
    labels = rng.permutation(np.arange(n) % k)
    x = rng.integers(k + 1, int(node.vocab), size=(n, length))
    starts = length - rng.integers(max(1, length // 4), length + 1, size=n)
    x[np.arange(length)[None, :] < starts[:, None]] = 0
    signal_at = rng.integers(starts, length)
    x[np.arange(n), signal_at] = 1 + labels
    return Table(x.astype(np.int64), labels.astype(np.int64))
