"""A sweep ranks every trial that has the metric (pruned ones too, by the value they
reported), and never prunes after the last epoch, when there is nothing left to save."""

from __future__ import annotations

import json
from pathlib import Path

from sweep_helpers import tiny_spec

from specc.plan import RunOptions
from specc.sweep import SweepOptions, sweep

RATES = (0.05, 0.08, 0.1, 0.12, 0.15, 1e-5)  # five good learning rates, then a hopeless one


def _sweep(tmp_path: Path, epochs: int) -> object:
    import optuna

    spec = tmp_path / "prune.nn"
    spec.write_text(tiny_spec(lr="loguniform(1e-5, 0.5)"))
    folder = tmp_path / "p"
    folder.mkdir()
    study = optuna.create_study(
        storage=f"sqlite:///{folder / 'study.db'}", study_name="prune", direction="maximize"
    )
    for lr in RATES:
        study.enqueue_trial({"train.optimizer.lr": lr})
    options = RunOptions(epochs=epochs, limit=500, out=str(folder))
    return sweep(str(spec), SweepOptions(trials=6, sampler="random", run=options, quiet=True))


def test_a_one_epoch_sweep_prunes_nothing_and_ranks_every_trial(tmp_path: Path) -> None:
    result = _sweep(tmp_path, epochs=1)
    trials = result.trials  # type: ignore[attr-defined]
    assert {t["trial"]: t["state"] for t in trials} == dict.fromkeys(range(6), "COMPLETE")
    values = [t["value"] for t in trials]
    assert values == sorted(values, reverse=True) and None not in values
    hopeless = next(t for t in trials if t["trial"] == 5)
    assert trials[-1] is hopeless  # ranked, last: lr=1e-5 learns nothing in one epoch
    board = (tmp_path / "p" / "leaderboard.md").read_text()
    assert "| 6 | 5 | complete |" in board


def test_a_pruned_trial_is_ranked_by_the_value_it_reported(tmp_path: Path) -> None:
    result = _sweep(tmp_path, epochs=2)
    trials = result.trials  # type: ignore[attr-defined]
    pruned = next(t for t in trials if t["trial"] == 5)
    assert pruned["state"] == "PRUNED"
    records = (Path(pruned["run_dir"]) / "metrics.jsonl").read_text().splitlines()
    epochs = [json.loads(r) for r in records if '"step"' not in r]
    assert [e["epoch"] for e in epochs] == [1]  # it was pruned with an epoch left to save
    assert pruned["value"] == epochs[0]["val_accuracy"]
    values = [t["value"] for t in trials]
    assert values == sorted(values, reverse=True)  # one ranking, whatever the state
    rank = trials.index(pruned) + 1
    board = (tmp_path / "p" / "leaderboard.md").read_text()
    assert f"| {rank} | 5 | pruned | {pruned['value']:.4g} |" in board
    assert result.best["state"] == "COMPLETE"  # type: ignore[attr-defined]  # best.nn: trained fully
