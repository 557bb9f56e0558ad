"""Training a spec: `run(path_or_text, options) -> RunResult` and the pieces behind it.

from specc.run import run, RunOptions
result = run("specs/quickstart.nn", RunOptions(epochs=1, quiet=True))
result.metrics["test_accuracy"], result.run_dir
"""

from __future__ import annotations

from specc.plan import RunOptions
from specc.run.api import RunResult, run

__all__ = ["RunOptions", "RunResult", "run"]
