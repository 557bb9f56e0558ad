"""A sweep of a model with several named inputs (specs/two_tower.nn, smaller): each trial's
data loader gets the model's named inputs, the trials train, and best.nn reproduces the best
trial exactly."""

from __future__ import annotations

import json
from pathlib import Path

from specc.plan import RunOptions
from specc.run import run
from specc.sweep import SweepOptions, sweep

EXAMPLE = Path(__file__).resolve().parents[2] / "specs" / "two_tower.nn"


def test_a_model_with_two_named_inputs_sweeps(tmp_path: Path) -> None:
    text = (
        EXAMPLE.read_text()
        .replace("dense 32 relu", "dense choice(8, 16) relu")
        .replace("samples=2000", "samples=400")
    )
    spec = tmp_path / "towers.nn"
    spec.write_text(text)
    folder = tmp_path / "sweep"
    result = sweep(
        str(spec),
        SweepOptions(
            trials=2, sampler="grid", run=RunOptions(epochs=1, out=str(folder)), quiet=True
        ),
    )
    assert result.counts()["complete"] == 2
    assert sorted(t["params"]["two_tower.layers[1].layers[0].units"] for t in result.trials) == [
        8,
        16,
    ]
    for trial in result.trials:
        info = json.loads((Path(trial["run_dir"]) / "run.json").read_text())
        assert info["status"] == "finished"
        assert "inputs image 1x28x28, meta 12" in info["data"]["source"]
        assert info["data"]["sizes"] == {"train": 288, "val": 32, "test": 80}
    best = result.best
    assert best is not None
    again = run(folder / "best.nn", RunOptions(epochs=1, quiet=True, out=str(tmp_path / "again")))
    assert again.metrics["val_accuracy"] == best["value"]
    assert again.metrics["test_accuracy"] == best["metrics"]["test_accuracy"]
