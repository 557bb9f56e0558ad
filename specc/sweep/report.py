"""What a sweep leaves in its directory besides the trials' run directories.

    <sweep dir>/
        study.db                      the Optuna study (resume by re-running the command)
        trials/trial-NNNN/            one normal run directory per trial
        leaderboard.md, leaderboard.json
        best.nn                       the spec with the best trial's values written in
        optimization_history.png, param_importances.png

Everything here is recomputed from the study on every invocation, so a resumed or shared
sweep always reports all of its trials, whichever worker ran them.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specc.analysis import Analysis
from specc.run.record import RunDir
from specc.sweep.space import Param, concrete

STATE_ORDER = {"COMPLETE": 0, "PRUNED": 1, "FAIL": 2, "RUNNING": 3, "WAITING": 4}


@dataclass
class SweepResult:
    sweep_dir: Path
    study: str
    storage: str
    metric: str
    direction: str
    target: int
    trials: list[dict[str, Any]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def best(self) -> dict[str, Any] | None:
        return next((t for t in self.trials if t["state"] == "COMPLETE"), None)

    def counts(self) -> dict[str, int]:
        out = {state.lower(): 0 for state in STATE_ORDER}
        for trial in self.trials:
            out[trial["state"].lower()] += 1
        return out

    def to_json(self) -> dict[str, Any]:
        """The `specc sweep --json` object (and leaderboard.json without the trial list)."""
        return {
            "sweep_dir": str(self.sweep_dir),
            "study": self.study,
            "metric": self.metric,
            "direction": self.direction,
            "target": self.target,
            "counts": self.counts(),
            "best": self.best,
            "notes": self.notes,
        }


def ranked(row: dict[str, Any]) -> bool:
    """A trial is ranked when it has the metric: complete, or pruned after reporting it
    (its last reported value); not a failed or diverged one."""
    return row["value"] is not None and not row["error"] and row["state"] != "FAIL"


def rows(study: Any) -> list[dict[str, Any]]:
    """One row per trial, best first: every trial with the metric by value (complete and
    pruned alike), then the others by state."""
    out = []
    for trial in study.get_trials(deepcopy=False):
        attrs = trial.user_attrs
        if attrs.get("surplus"):
            continue  # asked for but never run: the study already had its trials
        value = trial.value if trial.state.name == "COMPLETE" else None
        if trial.state.name == "PRUNED" and trial.intermediate_values:
            value = trial.intermediate_values[max(trial.intermediate_values)]
        out.append(
            {
                "trial": trial.number,
                "state": trial.state.name,
                "value": value,
                "params": dict(trial.params),
                "metrics": attrs.get("metrics", {}),
                "train_seconds": attrs.get("train_seconds"),
                "run_dir": attrs.get("run_dir"),
                "error": attrs.get("error"),
                "retry_of": attrs.get("retry_of"),
            }
        )
    sign = -1.0 if study.direction.name == "MAXIMIZE" else 1.0
    out.sort(
        key=lambda r: (
            0 if ranked(r) else 1,
            sign * r["value"] if ranked(r) else math.inf,
            STATE_ORDER.get(r["state"], 9),
            r["trial"],
        )
    )
    retried = {r["retry_of"]: r["trial"] for r in out if r["retry_of"] is not None}
    for row in out:
        if row["state"] == "FAIL" and row["trial"] in retried and not row["error"]:
            row["error"] = f"interrupted; retried as trial {retried[row['trial']]}"
    return out


def write(
    study: Any,
    found: Any,
    analysis: Analysis,
    params: list[Param],
    notes: list[str],
) -> SweepResult:
    """Leaderboard, best.nn and plots from the study's current trials."""
    result = SweepResult(
        found.sweep_dir,
        found.study,
        found.storage,
        found.metric,
        found.direction,
        found.target,
        rows(study),
        list(notes),
    )
    folder = RunDir(found.sweep_dir)
    best = result.best
    if best is not None:
        folder.write_text("best.nn", best_spec(analysis, params, best, found))
    else:
        result.notes.append("no trial completed yet, so there is no best.nn")
    result.notes.extend(plots(study, found.sweep_dir, len(params)))
    folder.write_json("leaderboard.json", {**result.to_json(), "trials": result.trials})
    folder.write_text("leaderboard.md", markdown(result, [p.name for p in params]))
    return result


def reproduce_flags(found: Any) -> str:
    """The `specc run` flags the trials ran with (so best.nn reruns the same thing)."""
    run = found.options.run
    flags = [f"--backend {run.backend}"] if run.backend != "torch" else []
    for name in ("device", "epochs", "batch_size", "seed", "data", "limit"):
        value = getattr(run, name)
        if value is not None:
            flags.append(f"--{name.replace('_', '-')} {value}")
    return " ".join(flags)


def best_spec(analysis: Analysis, params: list[Param], best: dict[str, Any], found: Any) -> str:
    spec = concrete(analysis, params, best["params"])
    value = f"{best['value']:.6g}" if best["value"] is not None else "?"
    command = " ".join(filter(None, ["specc run best.nn", reproduce_flags(found)]))
    header = (
        f"# The best trial ({best['trial']}, {found.metric} {value}) of `specc sweep "
        f"{found.path}`.\n# Reproduce it: {command}\n"
    )
    return header + spec.text


def plots(study: Any, folder: Path, n_params: int) -> list[str]:
    """Optuna's standard plots as PNG; returns notes for the plots it had to skip."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from optuna.visualization import matplotlib as vis

    complete = [t for t in study.get_trials(deepcopy=False) if t.state.name == "COMPLETE"]
    notes: list[str] = []
    wanted: dict[str, Callable[[Any], Any]] = {
        "optimization_history.png": vis.plot_optimization_history
    }
    if len(complete) >= 2 and n_params >= 2:
        wanted["param_importances.png"] = vis.plot_param_importances
    else:
        notes.append(
            "param_importances.png skipped: it needs at least 2 completed trials and 2 "
            f"searched values (have {len(complete)} and {n_params})"
        )
    if not complete:
        wanted.pop("optimization_history.png")
        notes.append("optimization_history.png skipped: no completed trial")
    for name, plot in wanted.items():
        try:
            # Optuna switches matplotlib to its own style; rc_context puts ours back after.
            with warnings.catch_warnings(), plt.rc_context():
                warnings.simplefilter("ignore")
                axes = plot(study)
                figure = axes.figure
                figure.set_size_inches(8, 5)
                figure.savefig(folder / name, dpi=100, bbox_inches="tight")
        except (ValueError, RuntimeError, ZeroDivisionError) as err:
            notes.append(f"{name} skipped: {err}")
        finally:
            plt.close("all")
    return notes


def markdown(result: SweepResult, names: list[str]) -> str:
    head = [
        f"# Sweep `{result.study}`",
        "",
        f"Ranked by `{result.metric}` ({result.direction}); {result.target} trials wanted; "
        + ", ".join(f"{n} {state}" for state, n in result.counts().items() if n),
        "",
        "| rank | trial | state | " + " | ".join([result.metric, *names]) + " | seconds | run |",
        "|" + " --- |" * (6 + len(names)),
    ]
    lines = []
    for rank, row in enumerate(result.trials, 1):
        cells = [
            str(rank) if ranked(row) else "",
            str(row["trial"]),
            row["state"].lower(),
            _cell(row["value"]),
            *(_cell(row["params"].get(n)) for n in names),
            _cell(row["train_seconds"]),
            row["error"] or row["run_dir"] or "",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    notes = ["", *(f"- {note}" for note in result.notes)] if result.notes else []
    return "\n".join([*head, *lines, *notes]) + "\n"


def _cell(value: Any) -> str:
    if value is None:
        return ""
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def trial_line(metric: str, target: int, outcome: dict[str, Any], position: int) -> str:
    """The progress line printed after each trial."""
    values = "  ".join(f"{k}={_short(v)}" for k, v in outcome.get("values", {}).items())
    state = outcome.get("state", "?")
    result = (
        f"{metric} {outcome['value']:.4f}"
        if state == "COMPLETE"
        else state.lower() + (f" ({outcome['error']})" if outcome.get("error") else "")
    )
    return f"trial {outcome.get('number', '?')} ({position}/{target}): {values} -> {result}"


def _short(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
