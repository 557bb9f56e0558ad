"""A real, short sweep on the bundled sample (in-process): it beats a deliberately bad
learning rate, writes the leaderboard, plots and a best.nn that reproduces the best trial."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from sweep_helpers import tiny_spec

from specc.analysis import analyze
from specc.errors import UsageError
from specc.plan import RunOptions
from specc.run import run
from specc.sweep import SweepOptions, sweep

PNG = b"\x89PNG\r\n\x1a\n"
SMALL = RunOptions(epochs=1, limit=1000, quiet=True)


def test_a_short_sweep_finds_a_better_learning_rate_than_a_bad_one(tmp_path: Path) -> None:
    spec = tmp_path / "search.nn"
    spec.write_text(tiny_spec(units="choice(8, 16)"))
    bad = run(
        analyze(tiny_spec(lr="1e-5"), str(spec)),
        RunOptions(epochs=1, limit=1000, quiet=True, out=str(tmp_path / "bad")),
    )
    folder = tmp_path / "sweep"
    result = sweep(
        str(spec),
        SweepOptions(
            trials=4,
            sampler="random",
            run=RunOptions(epochs=1, limit=1000, out=str(folder)),
            quiet=True,
        ),
    )
    best = result.best
    assert best is not None and result.metric == "val_accuracy"
    assert result.counts()["complete"] + result.counts()["pruned"] == 4
    assert bad.metrics["val_accuracy"] < 0.3  # lr=1e-5 barely moves in one epoch
    assert best["value"] > bad.metrics["val_accuracy"] + 0.3
    assert best["params"]["train.optimizer.lr"] > 1e-3
    assert best["params"]["tiny.layers[1].units"] in (8, 16)

    board = json.loads((folder / "leaderboard.json").read_text())
    complete = [t for t in board["trials"] if t["state"] == "COMPLETE"]
    assert [t["value"] for t in complete] == sorted((t["value"] for t in complete), reverse=True)
    assert board["best"]["trial"] == best["trial"]
    for trial in complete:  # every trial is a normal, finished run directory
        run_dir = Path(trial["run_dir"])
        assert run_dir.parent == folder / "trials"
        assert json.loads((run_dir / "run.json").read_text())["status"] == "finished"
        metrics = json.loads((run_dir / "metrics.json").read_text())
        assert metrics["val_accuracy"] == trial["value"] == trial["metrics"]["val_accuracy"]
    markdown = (folder / "leaderboard.md").read_text()
    assert f"| 1 | {best['trial']} | complete | {best['value']:.4g} |" in markdown

    _intermediate_values_are_reported(folder, best)
    _best_nn_reproduces_the_best_trial(folder, best)
    for name in ("optimization_history.png", "param_importances.png"):
        assert (folder / name).read_bytes().startswith(PNG), name

    # Resuming under other training flags would mix trials that do not compare.
    with pytest.raises(UsageError, match="was started with a different set of overrides"):
        sweep(str(spec), SweepOptions(trials=5, run=RunOptions(epochs=2, out=str(folder))))


def _intermediate_values_are_reported(folder: Path, best: dict[str, Any]) -> None:
    """What the median pruner decides from: the metric after each epoch."""
    import optuna

    study = optuna.load_study(study_name="search", storage=f"sqlite:///{folder / 'study.db'}")
    trial = study.trials[best["trial"]]
    assert trial.intermediate_values == {1: best["value"]}


def _best_nn_reproduces_the_best_trial(folder: Path, best: dict[str, Any]) -> None:
    text = (folder / "best.nn").read_text()
    assert "# a tiny search" in text  # the spec's own comments survive
    assert re.search(r"^# Reproduce it: specc run best.nn --epochs 1 --limit 1000$", text, re.M)
    assert "choice" not in text and "loguniform" not in text
    again = run(
        folder / "best.nn", RunOptions(epochs=1, limit=1000, quiet=True, out=str(folder / "again"))
    )
    assert again.metrics["val_accuracy"] == best["value"]


def test_the_epoch_hook_sees_each_record_and_can_stop_the_run(tmp_path: Path) -> None:
    seen: list[tuple[int, float]] = []

    def stop_after_first(epoch: int, record: dict[str, Any]) -> bool:
        seen.append((epoch, record["val_accuracy"]))
        return True

    result = run(
        tiny_spec(lr="0.1"),
        RunOptions(limit=500, quiet=True, out=str(tmp_path / "r")),
        on_epoch_end=stop_after_first,
    )
    assert result.plan is not None and result.plan.epochs == 3
    assert result.epochs == 1 and len(result.history) == 1
    assert seen == [(1, result.history[0]["val_accuracy"])]
    assert json.loads((tmp_path / "r" / "run.json").read_text())["status"] == "finished"
    assert "test_accuracy" in result.metrics


def test_a_grid_sweep_tries_every_point_once_and_stops_at_the_grid_size(tmp_path: Path) -> None:
    spec = tmp_path / "grid.nn"
    spec.write_text(tiny_spec(lr="choice(0.05, 0.1)", units="int(8, 16, step=8)"))
    result = sweep(
        str(spec),
        SweepOptions(
            trials=10,
            sampler="grid",
            run=RunOptions(epochs=1, limit=500, out=str(tmp_path / "g")),
            quiet=True,
        ),
    )
    assert result.target == 4 and "the grid has 4 points" in result.notes[0]
    tried = sorted(
        (t["params"]["train.optimizer.lr"], t["params"]["tiny.layers[1].units"])
        for t in result.trials
    )
    assert tried == [(0.05, 8), (0.05, 16), (0.1, 8), (0.1, 16)]
    assert all(t["state"] == "COMPLETE" for t in result.trials)


def test_the_median_pruner_stops_a_trial_worse_than_the_median(tmp_path: Path) -> None:
    """Five good learning rates, then a hopeless one: pruned after its first epoch."""
    import optuna

    spec = tmp_path / "prune.nn"
    spec.write_text(tiny_spec(lr="loguniform(1e-5, 0.5)"))
    folder = tmp_path / "p"
    folder.mkdir()
    study = optuna.create_study(
        storage=f"sqlite:///{folder / 'study.db'}", study_name="prune", direction="maximize"
    )
    for lr in (0.05, 0.08, 0.1, 0.12, 0.15, 1e-5):
        study.enqueue_trial({"train.optimizer.lr": lr})
    result = sweep(
        str(spec),
        SweepOptions(
            trials=6,
            sampler="random",
            run=RunOptions(epochs=2, limit=500, out=str(folder)),
            quiet=True,
        ),
    )
    states = {t["trial"]: t["state"] for t in result.trials}
    assert states == {
        0: "COMPLETE",
        1: "COMPLETE",
        2: "COMPLETE",
        3: "COMPLETE",
        4: "COMPLETE",
        5: "PRUNED",
    }
    pruned = next(t for t in result.trials if t["trial"] == 5)
    records = (Path(pruned["run_dir"]) / "metrics.jsonl").read_text().splitlines()
    epochs = [json.loads(r) for r in records if '"step"' not in r]
    assert [e["epoch"] for e in epochs] == [1]  # stopped after one of its two epochs
    assert pruned["value"] == epochs[0]["val_accuracy"]
    complete = [t["value"] for t in result.trials if t["state"] == "COMPLETE"]
    assert pruned["value"] < sorted(complete)[2]
