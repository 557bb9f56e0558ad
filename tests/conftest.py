"""Shared test helpers: paths and a spec-analysis shortcut."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"


@pytest.fixture
def root() -> Path:
    return ROOT


# Property tests explore new examples on every local run; in CI they replay a fixed set
# (derandomize) so a submission's result does not depend on the draw.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
