"""Shared test helpers: paths and a spec-analysis shortcut."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

# Tests stand in for a terminal's Ctrl-C by having runs send themselves SIGINT. A suite
# started with SIGINT ignored (a shell's `cmd &` without job control, `nohup`) would hand
# that on to every process it starts, and those runs would train on; a Python handler
# here is reset to the default in each child instead.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def root() -> Path:
    return ROOT


# Property tests explore new examples on every local run; in CI they replay a fixed set
# (derandomize) so a submission's result does not depend on the draw.
from hypothesis import settings  # noqa: E402

settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")
