"""Generated data sets, identical for a given `data_seed` on every machine and backend.

classification / binary: `classes` Gaussian clusters in `features` dimensions, centres
drawn from N(0, 1) per feature, each point its centre plus N(0, noise²) per feature;
labels balanced (i mod classes), then shuffled. regression: inputs N(0, 1), target
x·w + b + N(0, noise²) with w ~ N(0, 1/features), b ~ N(0, 1). The order of the rows is
already random, so the `test`/`validation` tails are fair samples.
"""

from __future__ import annotations

import numpy as np

from specc.data.tabular import Table
from specc.ir.data import Synthetic


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
