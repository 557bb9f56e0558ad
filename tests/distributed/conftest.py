"""Run tests use one torch thread.

The models here are tiny, and on a shared 2-core machine two OpenMP threads spin against
other processes and run ~10x slower; subprocess runs inherit OMP_NUM_THREADS=1.
"""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
