"""Sweep tests use one torch thread: tiny models on a shared 2-core machine run ~10x slower
with two OpenMP threads spinning. Subprocess sweeps inherit OMP_NUM_THREADS=1 from here."""

from __future__ import annotations

import os

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)
