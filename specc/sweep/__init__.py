"""`specc sweep` and `specc compare`: search a spec's spaces, or train models side by side.

    from specc.sweep import SweepOptions, sweep
    result = sweep("specs/search.nn", SweepOptions(trials=20))
    result.best  # {"trial": 7, "value": 0.93, "params": {"train.optimizer.lr": ...}, ...}

Both call `specc.run.run` for every training, so trials and compared models are ordinary
run directories. Importing this package imports no framework and no Optuna.
"""

from __future__ import annotations

import multiprocessing
import sys
from collections.abc import Callable
from typing import Any

from specc.sweep.report import SweepResult
from specc.sweep.study import SweepOptions

__all__ = ["SweepOptions", "SweepResult", "sweep"]


def sweep(path: str, options: SweepOptions | None = None) -> SweepResult:
    """Run (or resume) the sweep of the spec at `path` until it has `options.trials` trials."""
    from specc.sweep import report, storage, study

    options = options or SweepOptions()
    _not_under_torchrun()
    say = _say(options.quiet)
    found, analysis, params, notes = study.setup(path, options)
    opened = storage.open_study(found, params)
    for number in storage.recover(opened):
        say(f"trial {number} was interrupted (its worker is gone): marked failed, queued again")
    try:
        if options.jobs == 1:
            study.work(found, 0, say)
        else:
            _spawn(found, options.jobs)
    finally:
        result = report.write(opened, found, analysis, params, notes)
    return result


def _not_under_torchrun() -> None:
    """Every rank would ask Optuna for a trial of its own (docs/distributed.md#sweeps)."""
    from specc.errors import UsageError
    from specc.run.distributed import World

    world = World.from_env()
    if world.active:
        raise UsageError(
            f"specc sweep does not run under torchrun (WORLD_SIZE={world.size}): each rank "
            "would run trials of its own",
            "start the sweep itself without torchrun: `specc sweep FILE --nproc N` trains "
            "each trial on N ranks (docs/distributed.md#sweeps)",
        )


def _say(quiet: bool) -> Callable[[str], None]:
    """Progress lines go to stderr, so `--json` output on stdout stays one object."""

    def say(line: str) -> None:
        if not quiet:
            print(line, file=sys.stderr, flush=True)

    return say


def _spawn(found: Any, jobs: int) -> None:
    """K local worker processes on the shared storage (spawned: no forked framework state)."""
    from specc.errors import RunError

    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_worker, args=(found, i)) for i in range(jobs)]
    for process in workers:
        process.start()
    for process in workers:
        process.join()
    failed = [i for i, p in enumerate(workers) if p.exitcode != 0]
    if failed:
        raise RunError(
            f"{len(failed)} of {jobs} worker(s) stopped with an error (see above)",
            "re-run the same command to finish the missing trials",
        )


def _worker(found: Any, index: int) -> None:
    from specc.data import DataError
    from specc.errors import RunError
    from specc.sweep.study import work

    try:
        work(found, index, _say(found.options.quiet))
    except (RunError, DataError) as err:
        print(f"error: worker {index}: {err}", file=sys.stderr)
        sys.exit(1)
    except KeyboardInterrupt:
        sys.exit(130)
