"""`specc compare`'s bar plot reads at a glance, and its `train s` column does not charge
the first model for the process's warm-up."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sweep_helpers import tiny_spec

from specc.sweep import compare as C


def _result(tmp_path: Path, accuracies: list[float]) -> C.CompareResult:
    rows = [
        {
            "model": f"model_{i}",
            "history": [{"epoch": 1, "loss": 0.5, "accuracy": a}],
            "metrics": {"test_accuracy": a, "test_loss": 0.3},
        }
        for i, a in enumerate(accuracies)
    ]
    return C.CompareResult(tmp_path, rows, {}, [])  # type: ignore[arg-type]


def _bars(tmp_path: Path, accuracies: list[float]) -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    C._bars(ax, _result(tmp_path, accuracies), ["test_accuracy"], ["C0", "C1", "C2"])
    fig.canvas.draw()
    return fig, ax


def test_close_values_are_labelled_and_the_axis_does_not_start_at_zero(tmp_path: Path) -> None:
    fig, ax = _bars(tmp_path, [0.9385, 0.9412, 0.9521])
    assert [t.get_text() for t in ax.texts] == ["0.9385", "0.9412", "0.9521"]
    bottom, top = ax.get_ylim()
    margin = 0.02 * 0.9521  # the spread (0.0136) is below 2 % of the top: 2 % of it
    assert (bottom, top) == pytest.approx((0.9385 - margin, 0.9521 + margin))
    assert "axis starts at 0.919, not 0" in ax.get_title()
    # the legend is outside the axes, so it covers no bar and no label
    renderer = fig.canvas.get_renderer()
    legend = ax.get_legend().get_window_extent(renderer)
    assert legend.x0 >= ax.get_window_extent(renderer).x1
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "model_0",
        "model_1",
        "model_2",
    ]


def test_values_far_apart_start_at_zero(tmp_path: Path) -> None:
    _, ax = _bars(tmp_path, [0.2, 0.9])
    assert ax.get_ylim()[0] == 0.0 and "not 0" not in ax.get_title()


def test_a_throwaway_warm_up_run_comes_before_the_timed_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import specc.run

    one, two = tmp_path / "one.nn", tmp_path / "two.nn"
    one.write_text(tiny_spec(lr="0.1"))
    two.write_text(tiny_spec(lr="0.1", units="8"))
    seen: list[tuple[str | None, int | None, int | None, bool]] = []
    real = specc.run.run

    def spy(analysis: Any, options: Any, *rest: Any) -> Any:
        seen.append((options.out, options.epochs, options.limit, Path(options.out).exists()))
        return real(analysis, options, *rest)

    monkeypatch.setattr(specc.run, "run", spy)
    out = tmp_path / "cmp"
    options = C.CompareOptions(run=specc.run.RunOptions(limit=300, epochs=2, out=str(out)))
    result = C.compare([str(one), str(two)], options)
    assert [s[:3] for s in seen] == [
        (str(out / ".warm-up"), 1, 64),  # the first model, 1 epoch on 64 examples, untimed
        (str(out / "one.tiny"), 2, 300),
        (str(out / "two.tiny"), 2, 300),
    ]
    assert not (out / ".warm-up").exists()  # thrown away
    assert [r["model"] for r in result.rows] == ["one.tiny", "two.tiny"]
