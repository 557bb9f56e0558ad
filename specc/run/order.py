"""The order of training examples: one documented draw, used by `specc run`, `specc
parity` and the emitted scripts alike (docs/semantics.md#training).

Each epoch's order is the next `permutation(n)` of one NumPy generator seeded with the
train `seed` (`np.random.default_rng(seed)`), or file order without `shuffle`. The seed of
each epoch's dropout and augmentation streams comes from a second generator, seeded with
`(seed, 0x5EED)`, so drawing it never moves the order: a program written from the docs
replays the batches a run really uses.
"""

from __future__ import annotations

from typing import Any

import numpy as np

SEED_STREAM = 0x5EED


class ExampleOrder:
    """Epoch after epoch: the examples' order and the epoch's random-stream seed."""

    def __init__(self, seed: int, n: int, shuffle: bool) -> None:
        self.n, self.shuffle = n, shuffle
        self.orders = np.random.default_rng(seed)
        self.seeds = np.random.default_rng((seed, SEED_STREAM))

    def next_epoch(self) -> tuple[np.ndarray, int]:
        """(order of the examples, seed for the epoch's dropout and augmentation)."""
        order = self.orders.permutation(self.n) if self.shuffle else np.arange(self.n)
        return order, int(self.seeds.integers(0, 2**31 - 1))

    def state(self) -> dict[str, Any]:
        return {"orders": self.orders.bit_generator.state, "seeds": self.seeds.bit_generator.state}

    def load(self, state: dict[str, Any]) -> None:
        self.orders.bit_generator.state = state["orders"]
        self.seeds.bit_generator.state = state["seeds"]
