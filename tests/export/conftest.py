"""Export tests use one torch thread and share a folder of runs trained once per session."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("OMP_NUM_THREADS", "1")


@pytest.fixture(autouse=True, scope="session")
def _one_thread() -> None:
    import torch

    torch.set_num_threads(1)


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """The folder holding the session's runs (the working directory while one trains)."""
    yield tmp_path_factory.mktemp("runs_root")
