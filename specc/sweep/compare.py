"""`specc.sweep.compare(paths, CompareOptions) -> CompareResult`: models side by side.

Every model named (several `model` blocks of one file, or several files) is trained by
`specc.run.run` under the same overrides, seed and epochs, each into its own run directory
inside one comparison directory:

    runs/compare-<name>-<time>/
        <model>/                    a normal run directory per model
        loss.png                    train (solid) and validation (dashed) loss, one colour each
        metrics.png                 every other per-epoch metric, one panel each
        comparison.md, comparison.json
"""

from __future__ import annotations

import dataclasses
import math
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from specc.analysis import Analysis
from specc.errors import UsageError
from specc.metrics import is_minimised, metric_name
from specc.plan import RunOptions, make_plan
from specc.run.record import RunDir


@dataclass(frozen=True)
class CompareOptions:
    models: tuple[str, ...] = ()
    """Model names to train (default: every model of every file)."""
    run: RunOptions = field(default_factory=RunOptions)


@dataclass(frozen=True)
class Entry:
    label: str
    path: str
    model: str
    analysis: Analysis


@dataclass
class CompareResult:
    out_dir: Path
    rows: list[dict[str, Any]]
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)

    def columns(self) -> list[str]:
        """Final metrics present in any row: train loss first, then validation, then test."""
        keys = {k for row in self.rows for k in row["metrics"]}
        order = {"": 0, "val_": 1, "test_": 2}
        return sorted(
            (k for k in keys if k not in ("lr",)),
            key=lambda k: (order[next(p for p in ("val_", "test_", "") if k.startswith(p))], k),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "settings": self.settings,
            "models": self.rows,
            "notes": self.notes,
        }


def entries(paths: list[str], wanted: tuple[str, ...]) -> list[Entry]:
    """(label, file, model) for every model to train; names clash -> `file.model` labels."""
    from specc.sweep.study import read_file

    found: list[tuple[str, str, Analysis]] = []
    for path in paths:
        analysis = read_file(path)
        found.extend((path, model.name, analysis) for model in analysis.spec.models)
    available = [name for _, name, _ in found]
    missing = [name for name in wanted if name not in available]
    if missing:
        raise UsageError(
            f"no model named {', '.join(f'`{m}`' for m in missing)}", f"models: {available}"
        )
    chosen = [item for item in found if not wanted or item[1] in wanted]
    if len(chosen) < 2:
        raise UsageError(
            f"compare needs at least two models; found {len(chosen)}",
            "give a file with several `model` blocks, or several files",
        )
    clash = len({name for _, name, _ in chosen}) < len(chosen)
    return [
        Entry(f"{Path(path).stem}.{name}" if clash else name, path, name, analysis)
        for path, name, analysis in chosen
    ]


def compare(paths: list[str], options: CompareOptions | None = None) -> CompareResult:
    """Train each model under the same settings and write the plots and the table."""
    from specc.run import run

    options = options or CompareOptions()
    todo = entries(paths, options.models)
    first = todo[0].analysis.spec.train
    assert first is not None  # read_file refuses specs with errors (E204 without train)
    seed = options.run.seed if options.run.seed is not None else int(first.seed)
    epochs = options.run.epochs or int(first.epochs)
    notes = _differences(todo)
    out_dir = _out_dir(options.run.out, todo[0].path)
    jobs = [
        dataclasses.replace(
            options.run, model=entry.model, seed=seed, epochs=epochs, out=str(out_dir / entry.label)
        )
        for entry in todo
    ]
    for entry, job in zip(todo, jobs, strict=True):  # refuse before training anything
        make_plan(entry.analysis, job)  # a PlanError names the spec it came from
    warm_up(todo[0], jobs[0], out_dir)
    rows = [_row(entry, run(entry.analysis, job)) for entry, job in zip(todo, jobs, strict=True)]
    settings = {
        "backend": options.run.backend,
        "seed": seed,
        "epochs": epochs,
        "data": options.run.data,
        "limit": options.run.limit,
    }
    compared = CompareResult(out_dir, rows, settings, notes)
    write(compared)
    return compared


WARM_UP_EXAMPLES = 64


def warm_up(entry: Entry, job: RunOptions, out_dir: Path) -> None:
    """One short untimed run of the first model, thrown away, before the timed ones.

    The first run in a process pays once for what every later run reuses (the framework's
    lazy start-up, kernel selection, thread pools); without this the `train s` column would
    charge all of it to whichever model comes first.
    """
    from specc.run import run

    scratch = out_dir / ".warm-up"
    limit = min(job.limit or WARM_UP_EXAMPLES, WARM_UP_EXAMPLES)
    try:
        run(
            entry.analysis,
            dataclasses.replace(job, epochs=1, limit=limit, out=str(scratch), quiet=True),
        )
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _differences(todo: list[Entry]) -> list[str]:
    """Several files may differ in data or recipe; the table is only fair if they do not."""
    from specc.ir import strip_spans

    notes = []
    base = todo[0].analysis.spec
    for entry in todo[1:]:
        spec = entry.analysis.spec
        for block in ("data", "train"):
            if strip_spans(getattr(spec, block)) != strip_spans(getattr(base, block)):
                notes.append(
                    f"{entry.path} has a different `{block}` block than {todo[0].path}; "
                    "only --seed, --epochs, --data and --limit are made equal"
                )
    return sorted(set(notes))


def _out_dir(out: str | None, first_path: str) -> Path:
    if out is not None:
        return Path(out)
    base = Path("runs") / f"compare-{Path(first_path).stem}-{time.strftime('%Y%m%d-%H%M%S')}"
    path, n = base, 1
    while path.exists():
        n += 1
        path = base.with_name(f"{base.name}-{n}")
    return path


def _row(entry: Entry, result: Any) -> dict[str, Any]:
    plan = result.plan
    names = [metric_name(m) for m in plan.train.metrics]
    history = result.history
    monitor = next(
        (
            k
            for k in (*(f"val_{n}" for n in names), "val_loss", "loss")
            if history and k in history[0]
        ),
        None,
    )
    best_epoch = None
    if monitor is not None:
        scored = [(r[monitor], r["epoch"]) for r in history if _finite(r.get(monitor))]
        if scored:
            pick = min if is_minimised(monitor) else max
            best_epoch = pick(scored, key=lambda s: s[0])[1]
    return {
        "model": entry.label,
        "file": entry.path,
        "params": plan.shapes.params,
        "flops": plan.shapes.flops,
        "train_seconds": round(result.train_seconds, 3),
        "epochs": result.epochs,
        "metrics": {k: v for k, v in result.metrics.items() if _finite(v)},
        "best_epoch": best_epoch,
        "best_epoch_by": monitor,
        "run_dir": str(result.run_dir),
        "history": history,
    }


def _finite(value: Any) -> bool:
    return isinstance(value, (int, float)) and math.isfinite(value)


# ---- outputs -----------------------------------------------------------------------------


def write(result: CompareResult) -> None:
    folder = RunDir(result.out_dir)
    plot(result)
    slim = {**result.to_json(), "models": [_slim(r) for r in result.rows]}
    folder.write_json("comparison.json", slim)
    folder.write_text("comparison.md", markdown(result))


def _slim(row: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != "history"}  # the run dirs hold the history


def table(result: CompareResult) -> tuple[list[str], list[list[str]]]:
    """Header and cells shared by the markdown file and the printed (rich) table."""
    metrics = result.columns()
    header = ["model", "params", "FLOPs", "train s", *metrics, "best epoch"]
    cells = [
        [
            row["model"],
            f"{row['params']:,}",
            _si(row["flops"]),
            f"{row['train_seconds']:.1f}",
            *(_num(row["metrics"].get(k)) for k in metrics),
            "" if row["best_epoch"] is None else str(row["best_epoch"]),
        ]
        for row in result.rows
    ]
    return header, cells


def markdown(result: CompareResult) -> str:
    header, cells = table(result)
    s = result.settings
    lines = [
        "# Comparison",
        "",
        f"Same seed ({s['seed']}), epochs ({s['epochs']}), backend ({s['backend']})"
        + (f", data {s['data']}" if s["data"] else "")
        + (f", first {s['limit']} examples" if s["limit"] else "")
        + ". FLOPs are per example, forward pass.",
        "",
        "| " + " | ".join(header) + " |",
        "|" + " --- |" * len(header),
        *("| " + " | ".join(row) + " |" for row in cells),
        "",
        "![loss](loss.png)",
        "",
        "![metrics](metrics.png)",
    ]
    lines += ["", *(f"- {n}" for n in result.notes)] if result.notes else []
    return "\n".join(lines) + "\n"


def _num(value: Any) -> str:
    return "" if value is None else f"{value:.4f}"


def _si(n: int) -> str:
    for unit, size in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if n >= size:
            return f"{n / size:.2f}{unit}"
    return str(n)


def plot(result: CompareResult) -> list[Path]:
    """Overlaid per-epoch curves: loss.png (train solid, val dashed) and metrics.png."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    written = []
    fig, ax = plt.subplots(figsize=(8, 5))
    for i, row in enumerate(result.rows):
        colour = colours[i % len(colours)]
        for key, style in (("loss", "-"), ("val_loss", "--")):
            points = [(r["epoch"], r[key]) for r in row["history"] if _finite(r.get(key))]
            if points:
                xs, ys = zip(*points, strict=True)
                label = f"{row['model']} {'train' if key == 'loss' else 'val'}"
                ax.plot(xs, ys, style, color=colour, marker="o", label=label)
    ax.set(xlabel="epoch", ylabel="loss", title="loss per epoch")
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.legend()
    written.append(_save(fig, result.out_dir / "loss.png"))

    names = sorted(
        {
            k
            for row in result.rows
            for r in row["history"]
            for k in r
            if "loss" not in k and k not in ("epoch", "seconds", "lr")
        }
    )
    finals = [k for k in result.columns() if k.startswith("test_") and "loss" not in k]
    panels = len(names) + (1 if finals else 0)
    fig, axes = plt.subplots(1, max(1, panels), figsize=(6 * max(1, panels), 4.5), squeeze=False)
    for ax, name in zip(axes[0], names, strict=False):
        for i, row in enumerate(result.rows):
            points = [(r["epoch"], r[name]) for r in row["history"] if _finite(r.get(name))]
            if points:
                xs, ys = zip(*points, strict=True)
                ax.plot(xs, ys, color=colours[i % len(colours)], marker="o", label=row["model"])
        ax.set(xlabel="epoch", ylabel=name, title=f"{name} per epoch")
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.legend()
    if finals:  # test metrics exist only after training: grouped bars, one colour per model
        _bars(axes[0][len(names)], result, finals, colours)
    written.append(_save(fig, result.out_dir / "metrics.png"))
    plt.close("all")
    return written


CLOSE_VALUES = 0.2  # bars whose spread is below this share of the largest start above 0


def _bars(ax: Any, result: CompareResult, finals: list[str], colours: list[str]) -> None:
    """Grouped bars with their values written on them and the legend outside the axes.

    When every value is close (say accuracies 0.93 to 0.95), bars from 0 would all look
    equal: the axis then starts just below the smallest value, and the title says so.
    """
    width = 0.8 / len(result.rows)
    values: list[float] = []
    for i, row in enumerate(result.rows):
        slots = [j + i * width for j in range(len(finals))]
        heights = [row["metrics"].get(k, math.nan) for k in finals]
        bars = ax.bar(slots, heights, width, color=colours[i % len(colours)], label=row["model"])
        ax.bar_label(bars, fmt="%.4f", fontsize=8, padding=2)
        values += [h for h in heights if _finite(h)]
    ax.set_xticks([j + width * (len(result.rows) - 1) / 2 for j in range(len(finals))])
    ax.set_xticklabels(finals)
    title = "after training (test split)"
    if values and min(values) > 0:
        low, high = min(values), max(values)
        if high - low < CLOSE_VALUES * high:
            margin = max(high - low, 0.02 * high)
            ax.set_ylim(low - margin, high + margin)
            title += f"\naxis starts at {low - margin:.3g}, not 0"
    ax.set(title=title, ylabel="value")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0.0)


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)
    return path
