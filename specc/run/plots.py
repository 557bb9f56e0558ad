"""`loss.png` and `metrics.png` from a run's records (matplotlib, Agg: no display needed).

Both figures are titled with the model and the run, count epochs on the x axis (whole-epoch
ticks; the per-step loss sits between them), label their axes, and draw the loss on a log
scale once it spans two decades or more. Train curves are solid, validation curves dashed
in the same colour. `loss_figure`/`metrics_figure` build the figures (tests read them);
`write_plots` saves them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from specc.run.record import _atomic

LOG_SCALE_RATIO = 100.0  # max/min of the plotted losses from which the y axis is logarithmic
NOT_METRICS = ("epoch", "seconds", "lr")


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _epoch_axis(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel("epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))


def _finite(values: list[Any]) -> list[float]:
    return [float(v) for v in values if isinstance(v, (int, float)) and math.isfinite(v)]


def spans_decades(values: list[float]) -> bool:
    """True when positive values range over LOG_SCALE_RATIO or more (log scale reads better)."""
    positive = [v for v in _finite(values) if v > 0]
    return (
        bool(positive)
        and len(positive) == len(_finite(values))
        and (max(positive) / min(positive) >= LOG_SCALE_RATIO)
    )


def loss_figure(records: list[dict[str, Any]], title: str) -> Any:
    """Per-step loss (thin) and per-epoch train/validation loss, against epochs."""
    plt = _pyplot()
    steps = [r for r in records if "step" in r]
    epochs = [r for r in records if "step" not in r and "epoch" in r]
    fig, ax = plt.subplots(figsize=(7, 4))
    plotted: list[float] = []
    if steps:
        per_epoch: dict[int, int] = {}
        for r in steps:
            per_epoch[r["epoch"]] = per_epoch.get(r["epoch"], 0) + 1
        seen: dict[int, int] = {}
        xs = []
        for r in steps:  # step i of epoch e (1-based) sits at e - 1 + i / steps_in_e
            seen[r["epoch"]] = seen.get(r["epoch"], 0) + 1
            xs.append(r["epoch"] - 1 + seen[r["epoch"]] / per_epoch[r["epoch"]])
        ys = [r["loss"] for r in steps]
        ax.plot(xs, ys, lw=0.6, alpha=0.5, color="C0", label="loss (each step)")
        plotted += ys
    for key, style in (("loss", "-"), ("val_loss", "--")):
        points = [(r["epoch"], r[key]) for r in epochs if _finite([r.get(key)])]
        if points:
            label = "train loss (epoch mean)" if key == "loss" else "validation loss"
            colour = "C0" if key == "loss" else "C1"
            ax.plot(*zip(*points, strict=True), style, marker="o", color=colour, label=label)
            plotted += [y for _, y in points]
    # several outputs: each output's own loss (`kind_loss`, `val_kind_loss`), thinner
    parts = sorted(
        {k.removeprefix("val_") for r in epochs for k in r if k.endswith("_loss")}
        - {"loss", "val_loss"}
    )
    for i, name in enumerate(parts, start=2):
        for key, style, split in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            points = [(r["epoch"], r[key]) for r in epochs if _finite([r.get(key)])]
            if points:
                colour = f"C{i % 10}"
                ax.plot(
                    *zip(*points, strict=True), style, lw=1, color=colour, label=f"{split} {name}"
                )
                plotted += [y for _, y in points]
    if spans_decades(plotted):
        ax.set_yscale("log")
    _epoch_axis(ax)
    ax.set_ylabel("loss" + (" (log scale)" if ax.get_yscale() == "log" else ""))
    ax.set_title(title)
    if ax.lines:
        ax.legend()
    fig.tight_layout()
    return fig


def metrics_figure(records: list[dict[str, Any]], title: str) -> Any:
    """Every per-epoch metric but the loss: train solid, validation dashed, same colour."""
    plt = _pyplot()
    epochs = [r for r in records if "step" not in r and "epoch" in r]
    keys = {k for r in epochs for k in r if k not in NOT_METRICS and "loss" not in k}
    names = sorted({k.removeprefix("val_") for k in keys})
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, name in enumerate(names):
        for key, style, split in ((name, "-", "train"), (f"val_{name}", "--", "validation")):
            points = [(r["epoch"], r[key]) for r in epochs if _finite([r.get(key)])]
            if points:
                xs, ys = zip(*points, strict=True)
                colour = f"C{i % 10}"
                ax.plot(xs, ys, style, marker="o", color=colour, label=f"{split} {name}")
    _epoch_axis(ax)
    ax.set_ylabel("metric value")
    ax.set_title(title)
    if ax.lines:
        ax.legend()
    else:
        ax.text(
            0.5,
            0.5,
            "no metrics recorded: add e.g. `metrics accuracy` to the train block",
            ha="center",
            va="center",
            transform=ax.transAxes,
        )
    fig.tight_layout()
    return fig


def write_plots(folder: Path, records: list[dict[str, Any]], title: str = "") -> list[Path]:
    """loss.png and metrics.png in `folder`; `title` names the model and the run."""
    plt = _pyplot()
    title = title or folder.name
    written = [
        _save(loss_figure(records, title), folder / "loss.png"),
        _save(metrics_figure(records, title), folder / "metrics.png"),
    ]
    plt.close("all")
    return written


def _save(fig: Any, path: Path) -> Path:
    _atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path
