"""`loss.png` and `metrics.png` from a run's records (matplotlib, Agg: no display needed)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from specc.run.record import _atomic


def write_plots(folder: Path, records: list[dict[str, Any]]) -> list[Path]:
    """Per-step and per-epoch loss; every other per-epoch metric in a second figure."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r for r in records if "step" in r]
    epochs = [r for r in records if "step" not in r and "epoch" in r]
    written: list[Path] = []

    fig, ax = plt.subplots(figsize=(7, 4))
    if steps:
        ax.plot(
            [r["step"] for r in steps],
            [r["loss"] for r in steps],
            lw=0.6,
            alpha=0.5,
            label="loss (step)",
        )
    if epochs and steps:
        per_epoch = len(steps) / max(1, len(epochs))
        xs = [r["epoch"] * per_epoch for r in epochs]
        for key in ("loss", "val_loss"):
            ys = [r.get(key, float("nan")) for r in epochs]
            if any(key in r for r in epochs):
                ax.plot(xs, ys, marker="o", label=f"{key} (epoch)")
    ax.set_xlabel("step")
    ax.set_ylabel("loss")
    ax.legend()
    fig.tight_layout()
    written.append(_save(fig, folder / "loss.png"))

    names = sorted(
        {k for r in epochs for k in r if k not in ("epoch", "seconds", "lr") and "loss" not in k}
    )
    fig, ax = plt.subplots(figsize=(7, 4))
    for name in names:
        ax.plot(
            [r["epoch"] for r in epochs],
            [r.get(name, float("nan")) for r in epochs],
            marker="o",
            label=name,
        )
    ax.set_xlabel("epoch")
    if names:
        ax.legend()
    fig.tight_layout()
    written.append(_save(fig, folder / "metrics.png"))
    plt.close("all")
    return written


def _save(fig: Any, path: Path) -> Path:
    _atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=100))
    return path
