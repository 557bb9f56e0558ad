"""Where a sweep's study lives: opening its Optuna storage (SQLite or a database server)
with a heartbeat, refusing a resumed study that searches something else, seeding each
worker's sampler, and failing and re-queueing the trials of workers that died."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import warnings
from typing import TYPE_CHECKING, Any

from specc.errors import UsageError
from specc.sweep.space import Param, grid

if TYPE_CHECKING:
    from specc.sweep.study import Setup

HEARTBEAT_SECONDS, GRACE_SECONDS = 30, 120  # a remote worker silent for 2 min is dead


def _retry(study: Any, trial: Any) -> None:
    """Queue a dead trial's values again (a fresh trial number; the old one stays FAIL)."""
    study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})


def open_study(found: Setup, params: list[Param], worker: int = 0) -> Any:
    """Create or load the study; refuse one started from a different spec or metric."""
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    storage = _storage(found.storage)
    study = optuna.create_study(
        storage=storage,
        study_name=found.study,
        direction=found.direction,  # type: ignore[arg-type]  # checked in resolve_metric
        pruner=optuna.pruners.MedianPruner()
        if found.options.pruner == "median"
        else optuna.pruners.NopPruner(),
        load_if_exists=True,
    )
    _same_study(study, found)
    study.sampler = _sampler(found, params, worker, len(study.get_trials(deepcopy=False)))
    return study


def _storage(url: str, attempts: int = 5) -> Any:
    """The RDB storage with a heartbeat. Workers started together on a new database race to
    create its tables (the loser sees "table already exists"), so opening is retried."""
    import optuna

    for attempt in range(attempts):
        try:
            return optuna.storages.RDBStorage(
                url,
                engine_kwargs={"connect_args": {"timeout": 60}}
                if url.startswith("sqlite:")
                else None,
                heartbeat_interval=HEARTBEAT_SECONDS,
                grace_period=GRACE_SECONDS,
                heartbeat_stale_trial_callback=_retry,
            )
        except Exception as err:  # sqlalchemy/driver errors: a bad URL, a server not there
            if attempt == attempts - 1:
                raise UsageError(f"cannot open the study storage {url}: {err}") from None
            time.sleep(0.3 * (attempt + 1))
    raise AssertionError("unreachable")


def _same_study(study: Any, found: Setup) -> None:
    """A resumed study must be the same search: same spec text, metric, direction and
    training overrides (trials under `--epochs 1` and `--epochs 5` do not compare). The
    device is left out: machines with and without a GPU may share a study; so is `--nproc`
    (N ranks train the single-process model)."""
    digest = hashlib.sha256(found.text.encode()).hexdigest()[:16]
    run = found.options.run
    flags = {
        k: getattr(run, k) for k in ("backend", "epochs", "batch_size", "seed", "data", "limit")
    }
    mine = {"spec_sha": digest, "metric": found.metric, "overrides": flags}
    theirs = {k: study.user_attrs.get(k) for k in mine}
    if all(v is None for v in theirs.values()):
        for key, value in mine.items():
            study.set_user_attr(key, value)
        theirs = mine
    direction = study.direction.name.lower()
    if theirs != mine or direction != found.direction:
        words = {"spec_sha": "spec text", "metric": "metric", "overrides": "set of overrides"}
        differ = [words[k] for k in mine if theirs[k] != mine[k]] + (
            ["direction"] if direction != found.direction else []
        )
        raise UsageError(
            f"study `{found.study}` in {found.storage} was started with a different "
            f"{' and '.join(differ)} (it ranks by {theirs['metric']}, {direction}; "
            f"overrides {theirs['overrides']})",
            "re-run it as it started, or pass --study NAME (or --out DIR) for a new sweep",
        )


def _sampler(found: Setup, params: list[Param], worker: int, existing: int) -> Any:
    """Seeded from the run seed, so a one-worker sweep is reproducible; each worker (and each
    resumption) gets its own stream so concurrent workers do not propose the same values."""
    import optuna

    base = found.options.run.seed if found.options.run.seed is not None else 0
    parts = [base, worker, existing]
    if found.options.storage is not None:  # other machines may share it: mix in this process
        parts += [os.getpid(), hash(socket.gethostname())]
    seed = int.from_bytes(hashlib.sha256(repr(parts).encode()).digest()[:4], "little")
    if found.options.sampler == "grid":
        return optuna.samplers.GridSampler(grid(params, found.path), seed=seed)
    if found.options.sampler == "random":
        return optuna.samplers.RandomSampler(seed=seed)
    return optuna.samplers.TPESampler(seed=seed)


def recover(study: Any) -> list[int]:
    """Fail the RUNNING trials whose worker process on this host is gone; queue a retry."""
    import optuna
    from optuna.trial import TrialState

    host, failed = socket.gethostname(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker = trial.user_attrs.get("worker") or {}
        if worker.get("host") != host or _alive(int(worker.get("pid", 0))):
            continue
        try:
            study.tell(trial.number, state=TrialState.FAIL)
        except (ValueError, optuna.exceptions.UpdateFinishedTrialError):
            continue  # another worker got there first
        _retry(study, trial)
        failed.append(trial.number)
    return failed


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
