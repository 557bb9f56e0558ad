"""`specc.sweep.sweep(path, SweepOptions) -> SweepResult`: an Optuna study over a spec's spaces.

Every trial is a normal `specc.run` of the spec with the sampled values written in (a run
directory under `<sweep dir>/trials/`). The study lives in a storage, by default an SQLite
file inside the sweep directory, so that:

- re-running the same command resumes: `--trials N` is the number of finished (complete or
  pruned) trials the study should reach, and only the missing ones run;
- a trial whose worker died (Ctrl-C, SIGKILL, a lost machine) is marked FAIL and its values
  are queued again: at start for dead processes of this host (their pid is recorded on the
  trial), and by Optuna's heartbeat for other machines sharing a database storage;
- several workers (`--jobs K` here, or `specc sweep --storage postgresql://...` on several
  machines) share one study. Before training, a trial claims one of the N slots by trial
  number, so concurrent workers together run exactly N trials and never the same one twice.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import signal
import socket
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specc.analysis import Analysis, analyze, analyze_file
from specc.errors import DivergenceError, InterruptedRun, PlanError, RunError, UsageError
from specc.metrics import is_minimised, metric_name
from specc.plan import RunOptions
from specc.sweep.report import trial_line
from specc.sweep.space import Param, concrete, find, grid, grid_size, suggest

# Tests: "N" sends SIGKILL (a killed sweep) and "N:INT" SIGINT (Ctrl-C) during trial N.
KILL_TRIAL_ENV = "SPECC_TEST_SWEEP_KILL_TRIAL"
HEARTBEAT_SECONDS, GRACE_SECONDS = 30, 120  # a remote worker silent for 2 min is dead
SAMPLERS = ("tpe", "random", "grid")
PRUNERS = ("median", "none")


@dataclass(frozen=True)
class SweepOptions:
    """What `specc sweep` takes besides the spec; `run` holds the `specc run` overrides."""

    trials: int = 10
    sampler: str = "tpe"
    metric: str | None = None
    direction: str | None = None
    storage: str | None = None
    study: str | None = None
    jobs: int = 1
    pruner: str = "median"
    run: RunOptions = field(default_factory=RunOptions)
    quiet: bool = False


@dataclass(frozen=True)
class Setup:
    """Everything a worker needs (picklable: `--jobs` sends it to new processes)."""

    path: str
    text: str  # the spec as read once: every worker samples the same search
    sweep_dir: Path
    storage: str
    study: str
    metric: str
    direction: str
    target: int
    options: SweepOptions


class TrialSpecError(Exception):
    """The sampled values make an invalid spec: this trial fails, the sweep goes on."""


class _Surplus(Exception):
    """The study already has its N trials (claimed by other workers): stop this worker."""


def read_file(path: str) -> Analysis:
    """The analysed spec file; a missing file or a spec with errors is refused."""
    if not Path(path).is_file():
        raise UsageError(f"no such spec file: {path}")
    analysis = analyze_file(path)
    if analysis.errors:
        raise PlanError(
            f"{path} has {len(analysis.errors)} error(s); nothing was trained",
            analysis.errors,
            "fix them (`specc check` shows the same list)",
        )
    return analysis


def read_spec(path: str) -> Analysis:
    """The analysed spec file; errors or a spec without search spaces are refused."""
    analysis = read_file(path)
    if not find(analysis.spec):
        raise UsageError(
            f"{path} has no search space to sweep",
            "write one in place of a number, e.g. `lr=loguniform(1e-4, 1e-2)`",
        )
    return analysis


def resolve_metric(
    analysis: Analysis, metric: str | None, direction: str | None
) -> tuple[str, str]:
    """The metric trials are ranked by (default `val_<first metric>`) and its direction."""
    spec = analysis.spec
    assert spec.train is not None and spec.data is not None
    names = [metric_name(m) for m in spec.train.metrics]
    has_val = float(getattr(spec.data, "validation", 0.0) or 0.0) > 0
    known = ["loss", *(f"{split}_{n}" for split in ("val", "test") for n in ["loss", *names])]
    if metric is None:
        if not has_val:
            raise UsageError(
                f"{analysis.path} holds out no validation data to rank trials on",
                "add `validation 0.1` to the data block, or pass --metric (e.g. loss)",
            )
        metric = f"val_{names[0]}" if names else "val_loss"
    if metric not in known:
        raise UsageError(f"--metric {metric}: not a metric of this spec", f"one of {known}")
    if metric.startswith("val_") and not has_val:
        raise UsageError(f"--metric {metric} needs validation data", "add `validation 0.1`")
    if direction is None:
        direction = "minimize" if is_minimised(metric) else "maximize"
    if direction not in ("minimize", "maximize"):
        raise UsageError(f"--direction {direction}: use minimize or maximize")
    return metric, direction


def setup(path: str, options: SweepOptions) -> tuple[Setup, Analysis, list[Param], list[str]]:
    """Check everything that can be checked before any training; notes are for the report."""
    for flag in ("trials", "jobs"):
        if getattr(options, flag) < 1:
            raise UsageError(f"--{flag} must be at least 1, got {getattr(options, flag)}")
    if options.sampler not in SAMPLERS:
        raise UsageError(f"--sampler {options.sampler}: use one of {', '.join(SAMPLERS)}")
    if options.pruner not in PRUNERS:
        raise UsageError(f"--pruner {options.pruner}: use one of {', '.join(PRUNERS)}")
    analysis = read_spec(path)
    params = find(analysis.spec)
    metric, direction = resolve_metric(analysis, options.metric, options.direction)
    target, notes = options.trials, []
    if options.sampler == "grid":
        size = grid_size(grid(params, path))
        if size < target:
            notes.append(f"the grid has {size} points, so the sweep stops at {size} trials")
            target = size
    stem = Path(path).stem
    sweep_dir = Path(options.run.out or Path("runs") / f"sweep-{stem}")
    try:
        sweep_dir.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise UsageError(f"cannot create the sweep directory {sweep_dir}: {err.strerror}") from None
    storage = options.storage or f"sqlite:///{(sweep_dir / 'study.db').resolve()}"
    found = Setup(
        path,
        analysis.text,
        sweep_dir,
        storage,
        options.study or stem,
        metric,
        direction,
        target,
        options,
    )
    return found, analysis, params, notes


# ---- the study ---------------------------------------------------------------------------


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
    device is left out: machines with and without a GPU may share a study."""
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


# ---- one worker --------------------------------------------------------------------------


def work(found: Setup, worker: int = 0, say: Callable[[str], None] = print) -> None:
    """Run trials until the study has `found.target` finished ones (or others are on it)."""
    import optuna
    from optuna.trial import TrialState

    analysis = analyze(found.text, found.path)
    params = find(analysis.spec)
    study = open_study(found, params, worker)
    done_states = (TrialState.COMPLETE, TrialState.PRUNED)
    failed_here = 0
    while True:
        # A remote worker gone silent holds a RUNNING trial; fail it (and queue its values)
        # before counting, or every worker would wait on it and stop short of the target.
        optuna.storages.fail_stale_trials(study)
        trials = study.get_trials(deepcopy=False)
        done = sum(t.state in done_states for t in trials)
        running = sum(t.state == TrialState.RUNNING for t in trials)
        if done + running >= found.target:
            return
        outcome: dict[str, Any] = {}
        objective = _objective(found, analysis, params, outcome, study)
        try:
            study.optimize(objective, n_trials=1, catch=(TrialSpecError,))
        except _Surplus:
            return
        except (KeyboardInterrupt, InterruptedRun):  # Ctrl-C (a run reports it as InterruptedRun)
            # Optuna marked the trial FAIL; queue its values again, as for a killed worker.
            if "number" in outcome:
                study.enqueue_trial(outcome["values"], user_attrs={"retry_of": outcome["number"]})
            raise KeyboardInterrupt from None  # the sweep continues by re-running its command
        say(trial_line(found.metric, found.target, outcome, done + 1))
        if outcome.get("state") == "FAIL":
            failed_here += 1
            if failed_here >= max(3, found.target):
                raise RunError(
                    f"{failed_here} trials failed in a row; last: {outcome.get('error')}",
                    "check the search ranges (`specc check` the spec with a value written in)",
                )
        else:
            failed_here = 0


def _objective(
    found: Setup, analysis: Analysis, params: list[Param], outcome: dict[str, Any], study: Any
) -> Callable[[Any], float]:
    import optuna

    def objective(trial: Any) -> float:
        _claim(study, trial, found.target)
        trial.set_user_attr("worker", {"host": socket.gethostname(), "pid": os.getpid()})
        values = suggest(trial, params)
        outcome.update(number=trial.number, values=values, state="FAIL")
        spec = concrete(analysis, params, values)
        if spec.errors:
            first = spec.errors[0]
            outcome["error"] = f"{first.code}: {first.message}"
            trial.set_user_attr("error", outcome["error"])
            raise TrialSpecError(outcome["error"])
        out = found.sweep_dir / "trials" / f"trial-{trial.number:04d}"
        trial.set_user_attr("run_dir", str(out))
        options = dataclasses.replace(
            found.options.run, out=str(out), quiet=True, json=False, resume=None
        )
        pruned = False
        train = spec.spec.train
        epochs = options.epochs or (int(train.epochs) if train is not None else 0)

        def on_epoch_end(epoch: int, record: dict[str, Any]) -> bool:
            nonlocal pruned
            number, _, how = os.environ.get(KILL_TRIAL_ENV, "").partition(":")
            if number == str(trial.number):
                os.kill(os.getpid(), signal.SIGINT if how == "INT" else signal.SIGKILL)
            value = record.get(found.metric)
            if isinstance(value, float) and value == value:
                trial.report(value, epoch)
                # after the last epoch, pruning would save nothing and hide a trained trial
                pruned = epoch < epochs and trial.should_prune()
            return pruned

        from specc.run import run

        try:
            result = run(spec, options, on_epoch_end)
        except DivergenceError as err:
            trial.set_user_attr("error", f"diverged: {err.message}")
            outcome.update(state="PRUNED", error="diverged")
            raise optuna.TrialPruned("diverged") from None
        metrics = {k: v for k, v in result.metrics.items() if isinstance(v, (int, float))}
        trial.set_user_attr("metrics", {k: v for k, v in metrics.items() if v == v})
        trial.set_user_attr("train_seconds", round(result.train_seconds, 3))
        value = metrics.get(found.metric)
        outcome["value"] = value
        if pruned or value is None or value != value:
            outcome["state"] = "PRUNED"
            raise optuna.TrialPruned()
        outcome["state"] = "COMPLETE"
        return float(value)

    return objective


def _claim(study: Any, trial: Any, target: int) -> None:
    """Keep this trial only if it is among the first `target` by number: with several
    workers asking at once, the lowest numbers win and the rest stand down."""
    from optuna.trial import TrialState

    trials = study.get_trials(deepcopy=False)
    done = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in trials)
    ahead = sum(t.state == TrialState.RUNNING and t.number < trial.number for t in trials)
    if done + ahead >= target:
        trial.set_user_attr("surplus", True)
        raise _Surplus()
