"""Train metrics come from the training forward passes (no second pass over the data), are
shown on the epoch line, recorded in metrics.jsonl and metrics.json, and plotted; the
plots have titles, labelled axes, whole-epoch ticks and a log scale when the loss spans
decades."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from click.testing import CliRunner

from specc import metrics as M
from specc.analysis import analyze
from specc.cli import main
from specc.data import load
from specc.executors import get
from specc.init_weights import initial_weights
from specc.plan import RunOptions, make_plan
from specc.run import plots

SPECS = Path(__file__).resolve().parents[2] / "specs"
QUICK = str(SPECS / "quickstart.nn")


def test_the_epoch_line_and_the_records_carry_train_accuracy(tmp_path: Path) -> None:
    out = tmp_path / "r"
    result = CliRunner().invoke(
        main, ["run", QUICK, "--epochs", "2", "--limit", "600", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    lines = [line for line in result.stderr.splitlines() if line.startswith("epoch ")]
    assert len(lines) == 2 and all("  accuracy 0." in line for line in lines), lines
    records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
    epochs = [r for r in records if "step" not in r]
    assert [sorted(r) for r in epochs] == [["accuracy", "epoch", "loss", "lr", "seconds"]] * 2
    assert 0.1 < epochs[0]["accuracy"] < epochs[1]["accuracy"] < 1.0  # it learns
    final = json.loads((out / "metrics.json").read_text())
    assert final["accuracy"] == epochs[1]["accuracy"] and "test_accuracy" in final


TINY = """
model m {
    input 8
    dense 16 relu
    dense 3 softmax
}
data synthetic classification samples=300 features=8 classes=3 { batch 32 shuffle; test 0.2 }
train {
    loss sparse_categorical_crossentropy
    optimizer sgd lr=LR
    epochs 1
    metrics accuracy f1
    early_stopping monitor=accuracy patience=3
}
"""


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_train_metrics_are_those_of_the_training_passes_without_another_pass(
    backend: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With a learning rate of ~0 the weights do not move, so the accuracy of the training
    passes must equal the accuracy of the model on the train split; `predict` runs once
    (test split) although early stopping watches `accuracy`."""
    from specc.run import run

    analysis = analyze(TINY.replace("LR", "1e-30"), str(tmp_path / "tiny.nn"))
    options = RunOptions(backend=backend, out=str(tmp_path / backend), quiet=True)
    executor = get(backend)
    calls: list[int] = []
    predict = executor.predict

    def counted(state: Any, data: Any) -> np.ndarray:
        calls.append(1)
        return predict(state, data)

    monkeypatch.setattr(executor, "predict", counted)
    result = run(analysis, options)
    assert len(calls) == 1  # the test split only: the train metrics cost no pass
    plan = make_plan(analysis, options)
    dataset = load(plan.data, spec_dir=plan.spec_dir, progress=False)
    state = executor.build(plan, initial_weights(plan.shapes, plan.seed), "cpu")
    outputs = predict(state, executor.load_data(state, dataset.x_train, dataset.y_train))
    expected = M.compute(list(plan.train.metrics), outputs, dataset.y_train)
    assert result.history[0]["accuracy"] == pytest.approx(expected["accuracy"], abs=1e-12)
    assert result.history[0]["f1"] == pytest.approx(expected["f1"], abs=1e-12)


def _records(losses: list[float], metric: list[float] | None = None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for epoch, loss in enumerate(losses, start=1):
        out += [{"step": 2 * epoch - 1 + i, "epoch": epoch, "loss": loss} for i in range(2)]
        record = {"epoch": epoch, "loss": loss, "val_loss": loss * 1.1, "lr": 0.1}
        if metric is not None:
            record |= {"accuracy": metric[epoch - 1], "val_accuracy": metric[epoch - 1] - 0.01}
        out.append(record)
    return out


def test_loss_plot_is_titled_labelled_counted_in_epochs_and_log_when_it_spans_decades() -> None:
    from matplotlib.ticker import MaxNLocator

    fig = plots.loss_figure(_records([2.0, 0.2, 0.01]), "model m, run r1")
    ax = fig.axes[0]
    assert ax.get_title() == "model m, run r1"
    assert ax.get_xlabel() == "epoch" and ax.get_ylabel() == "loss (log scale)"
    assert ax.get_yscale() == "log"
    assert isinstance(ax.xaxis.get_major_locator(), MaxNLocator)
    assert all(float(t).is_integer() for t in ax.get_xticks())
    steps = ax.lines[0].get_xdata()
    assert list(steps) == [0.5, 1.0, 1.5, 2.0, 2.5, 3.0]  # steps sit between epoch ticks
    labels = [line.get_label() for line in ax.lines]
    assert labels == ["loss (each step)", "train loss (epoch mean)", "validation loss"]
    flat = plots.loss_figure(_records([1.0, 0.6, 0.5]), "t").axes[0]
    assert flat.get_yscale() == "linear" and flat.get_ylabel() == "loss"


def test_metrics_plot_draws_train_solid_and_validation_dashed() -> None:
    fig = plots.metrics_figure(_records([1.0, 0.5], [0.6, 0.8]), "model m, run r1")
    ax = fig.axes[0]
    assert ax.get_title() == "model m, run r1" and ax.get_ylabel() == "metric value"
    lines = {line.get_label(): line for line in ax.lines}
    assert set(lines) == {"train accuracy", "validation accuracy"}
    assert list(lines["train accuracy"].get_ydata()) == [0.6, 0.8]
    assert lines["train accuracy"].get_linestyle() == "-"
    assert lines["validation accuracy"].get_linestyle() == "--"
    empty = plots.metrics_figure(_records([1.0]), "t").axes[0]
    assert "add e.g. `metrics accuracy`" in empty.texts[0].get_text()
