"""What a trained `synthetic_text` classifier reads: the planted token, or the others.

    python benchmarks/signal_probe.py RUN [RUN...]

For each run directory (a binary `synthetic_text` model, e.g. specs/imdb_bilstm.nn trained
with `specc run`) it prints the accuracy on each split, the test accuracy by where the
signal token sits (tokens before it, after it), and two probes on the test split: swap
the signal (id 1 <-> 2, which flips the label) and count how often the predicted class
flips; redraw every other token (a fresh random id, the signal and the padding kept) and
count how often the prediction changes. A model that reads only the signal flips every
time and never changes when the other tokens are redrawn. docs/parity.md reports the
masked and unmasked imdb_bilstm measured with it.
"""

from __future__ import annotations

import sys

import numpy as np

from specc.predict.trained import open_run

BINS = ((0, 50), (50, 100), (100, 150), (150, 201))


def probe(path: str) -> None:
    run = open_run(path)
    backend, state = run.build("cpu", fp32=True)

    def positive(x: np.ndarray) -> np.ndarray:
        batches = [
            run.reference_outputs(backend, state, x[i : i + 256]) for i in range(0, len(x), 256)
        ]
        return np.concatenate(batches)[:, 0] > 0.5

    print(path)
    for split in ("train", "val", "test"):
        x, y = run.split(split)
        y = np.asarray(y).reshape(-1).astype(bool)
        print(f"  {split}: {len(y)} examples, accuracy {(positive(x) == y).mean():.4f}")
    x, y = run.split("test")
    y = np.asarray(y).reshape(-1).astype(bool)
    p = positive(x)
    at = np.argmax((x == 1) | (x == 2), axis=1)
    before = at - (x.shape[1] - (x != 0).sum(axis=1))
    after = x.shape[1] - 1 - at
    for name, count in (("before", before), ("after", after)):
        cells = [
            f"{lo}-{hi}: {(p == y)[(count >= lo) & (count < hi)].mean():.3f}" for lo, hi in BINS
        ]
        print(f"  test accuracy by tokens {name} the signal: " + ", ".join(cells))
    swapped = positive(np.where(x == 1, 2, np.where(x == 2, 1, x)))
    print(f"  signal swapped: the prediction flips for {(swapped != p).mean():.4f}")
    rng = np.random.default_rng(0)
    redrawn = x.copy()
    other = x > 2
    redrawn[other] = rng.integers(3, int(x.max()) + 1, size=int(other.sum()))
    changed = positive(redrawn) != p
    print(f"  other tokens redrawn: the prediction changes for {changed.mean():.4f}")


if __name__ == "__main__":
    for path in sys.argv[1:]:
        probe(path)
