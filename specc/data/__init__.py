"""The data layer: every source a spec can declare, loaded as numpy arrays (no framework).

Shared by the PyTorch and TensorFlow executors and `specc sweep`:

    from specc.data import load, Dataset, DataError
    dataset = load(spec.data, spec_dir=Path("specs"))

See docs/data.md for sources, the search order, splits and transforms.
"""

from __future__ import annotations

from specc.data.dataset import Dataset
from specc.data.errors import DataError
from specc.data.loader import load

__all__ = ["DataError", "Dataset", "load"]
