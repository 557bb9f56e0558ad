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
import os
import signal
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

from specc.analysis import Analysis, analyze, analyze_file
from specc.errors import DIVERGED, DivergenceError, InterruptedRun, PlanError, RunError, UsageError
from specc.metrics import is_minimised, metric_name
from specc.plan import RunOptions
from specc.sweep.job import JobResult, TrialJobError, run_job
from specc.sweep.report import trial_line
from specc.sweep.space import Param, concrete, find, grid, grid_size, suggest
from specc.sweep.storage import open_study

# Tests: "N" sends SIGKILL (a killed sweep) and "N:INT" SIGINT (Ctrl-C) during trial N.
KILL_TRIAL_ENV = "SPECC_TEST_SWEEP_KILL_TRIAL"
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
    nproc: int = 1  # ranks per trial: above 1, each trial is a `specc run --nproc` job


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
    for flag in ("trials", "jobs", "nproc"):
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
            study.optimize(objective, n_trials=1, catch=(TrialSpecError, TrialJobError))
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

        if found.options.nproc > 1:
            job = _job(found, spec, out, options, on_epoch_end, trial, outcome)
            pruned = pruned or job.pruned
            result_metrics, seconds = job.metrics, job.train_seconds
        else:
            from specc.run import run

            try:
                result = run(spec, options, on_epoch_end)
            except DivergenceError as err:
                _diverged(trial, outcome, err.message)
            result_metrics, seconds = result.metrics, result.train_seconds
        metrics = {k: v for k, v in result_metrics.items() if isinstance(v, (int, float))}
        trial.set_user_attr("metrics", {k: v for k, v in metrics.items() if v == v})
        trial.set_user_attr("train_seconds", round(seconds, 3))
        value = metrics.get(found.metric)
        outcome["value"] = value
        if pruned or value is None or value != value:
            outcome["state"] = "PRUNED"
            raise optuna.TrialPruned()
        outcome["state"] = "COMPLETE"
        return float(value)

    return objective


def _diverged(trial: Any, outcome: dict[str, Any], message: str) -> NoReturn:
    """A trial whose loss diverged is pruned (it has no value to rank)."""
    import optuna

    trial.set_user_attr("error", f"diverged: {message}")
    outcome.update(state="PRUNED", error="diverged")
    raise optuna.TrialPruned("diverged") from None


def _job(
    found: Setup,
    spec: Analysis,
    out: Path,
    options: RunOptions,
    on_epoch_end: Callable[[int, dict[str, Any]], bool],
    trial: Any,
    outcome: dict[str, Any],
) -> JobResult:
    """The trial as a `specc run --nproc N` job (specc/sweep/job.py); a pruned job's
    metrics are those of its last reported epoch."""
    try:
        return run_job(spec.text, found.path, found.options.nproc, out, options, on_epoch_end)
    except TrialJobError as err:
        if str(err).startswith(DIVERGED):
            _diverged(trial, outcome, str(err))
        outcome["error"] = str(err)
        trial.set_user_attr("error", outcome["error"])
        raise


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
