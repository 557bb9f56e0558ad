"""A finished run directory, reopened to use its model (`specc predict`, `specc export`).

Everything comes from the run record (specc/run/record.py): the spec as written
(`spec.nn`), the options it ran with (`run.json`) and the final weights
(`weights.safetensors`, framework-neutral). The plan is rebuilt exactly as `--resume`
rebuilds it, so the data block's preprocessing and the data split are the run's own, never
retyped by the user. Nothing here imports a framework; `reference_outputs` imports the
run's backend only when called.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from specc.data.dataset import X, Y
from specc.data.text_folder import saved_vocabulary
from specc.errors import UsageError
from specc.ir import strip_spans
from specc.ir.data import CSV
from specc.plan import RunOptions, RunPlan

WEIGHTS = "weights.safetensors"
SPLITS = ("test", "val", "train")
# what an output predicts, by the target its loss takes (`Loss.target`)
PREDICTION_TASKS: dict[str, str] = {
    "class": "classification",
    "onehot": "classification",
    "binary": "binary",
    "real": "regression",
}


@dataclass(frozen=True)
class OutputHead:
    """One of several named outputs as predictions report it: its name, what it predicts
    (class probabilities, the probability of class 1, or values), its shape per example
    and its number of classes (None for values)."""

    name: str
    task: str
    shape: tuple[int, ...]

    @property
    def classes(self) -> int | None:
        return {"classification": self.shape[-1], "binary": 2}.get(self.task)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "shape": [None, *self.shape], "task": self.task}

    @classmethod
    def from_json(cls, info: dict[str, Any]) -> OutputHead:
        shape = tuple(int(d) for d in info["shape"][1:])
        return cls(str(info["name"]), str(info["task"]), shape)


@dataclass(frozen=True)
class TrainedRun:
    path: Path
    info: dict[str, Any]
    plan: RunPlan

    @property
    def backend(self) -> str:
        return self.plan.backend

    @property
    def task(self) -> str:
        return str(self.info.get("data", {}).get("task") or "classification")

    @property
    def classes(self) -> int | None:
        value = self.info.get("data", {}).get("classes")
        return int(value) if value is not None else None

    @property
    def class_names(self) -> list[str] | None:
        names = self.info.get("data", {}).get("class_names")
        return [str(n) for n in names] if names else None

    @property
    def spec_sha256(self) -> str:
        return hashlib.sha256(self.plan.text.encode("utf-8")).hexdigest()

    def preprocessing(self) -> list[dict[str, Any]]:
        """The data block's transforms as JSON, in order (`specc.predict.prepare` applies them)."""
        return [strip_spans(t.model_dump(mode="json")) for t in self.plan.data.transforms]

    def weights(self) -> dict[str, np.ndarray]:
        from specc.run.record import load_arrays

        arrays, _ = load_arrays(self.path / WEIGHTS)
        return arrays

    @property
    def outputs(self) -> list[OutputHead] | None:
        """A model with several named outputs: each, in the model's order; None for one."""
        if not self.plan.outputs:
            return None
        return [
            OutputHead(o.name, PREDICTION_TASKS[o.loss.target], tuple(o.lowered.shape))
            for o in self.plan.outputs
        ]

    @property
    def inputs(self) -> dict[str, tuple[int, ...]] | None:
        """A model with several inputs: name -> one example's shape; None for one input."""
        shapes = dict(self.plan.shapes.inputs)
        return shapes if len(shapes) > 1 else None

    def split(self, name: str) -> tuple[X, Y]:
        """One split of the run's data, loaded and transformed exactly as the run did."""
        from specc.data import load
        from specc.ir.sequence import vocabulary
        from specc.token_checks import steps_predicted

        options = self.plan.options
        data = load(
            self.plan.data,
            override=options.data,
            spec_dir=self.plan.spec_dir,
            limit=options.limit,
            download=False,
            progress=False,
            vocab=vocabulary(self.plan.shapes),
            vocabulary=saved_vocabulary(self.path, self.plan.data),  # a text source's vocab.json
            steps=steps_predicted(self.plan.shapes),
            inputs=self.inputs,
            output_targets=self.plan.output_targets(),
        )
        x, y = {
            "test": (data.x_test, data.y_test),
            "val": (data.x_val, data.y_val),
            "train": (data.x_train, data.y_train),
        }[name]
        return x, y  # several outputs: `Outputs`, a target array per output

    def fp32_plan(self) -> RunPlan:
        """The plan in float32: exported models and their references run in float32."""
        return dataclasses.replace(self.plan, precision="fp32")

    def data_columns(self) -> dict[str, Any]:
        """The data block's column and array names (CSV features/target, .npz x/y).

        A CSV spec without `features=` trained on every column but the target, in the
        training file's order: that order is read from the file's header and kept, so a
        new file with its columns in another order is still read by name.
        """
        out = {
            k: v
            for k, v in self.plan.data.model_dump().items()
            if k in ("features", "target", "x", "y") and v is not None
        }
        if isinstance(self.plan.data, CSV) and "features" not in out:
            header = _csv_header(self._data_file())
            if header is not None:
                out["features"] = [n for n in header if n != self.plan.data.target]
        return out

    def _data_file(self) -> Path | None:
        """The training CSV as the run read it (`--data FILE.csv` or the spec's `path`)."""
        chosen = self.plan.options.data or self.plan.data.path
        if not chosen:
            return None
        path = Path(chosen).expanduser()
        if self.plan.options.data is None and not path.is_absolute():
            path = (self.plan.spec_dir or Path.cwd()) / path
        return path

    def build(self, device: str = "cpu", fp32: bool = True) -> tuple[Any, Any]:
        """(executor, state) of the run's backend holding the final weights.

        `fp32=False` keeps the run's precision, so predictions repeat its evaluation exactly.
        """
        from specc.executors import get

        backend = get(self.backend)
        plan = self.fp32_plan() if fp32 else self.plan
        return backend, backend.build(plan, self.weights(), backend.resolve_device(device))

    def reference_outputs(self, backend: Any, state: Any, x: X) -> Any:
        """What the run's own framework model predicts for inputs `x` (after preprocessing);
        several outputs: a dict of arrays by output name."""
        dummy = np.zeros((len(x),), dtype=np.int64)
        found = backend.predict(state, backend.load_data(state, x, dummy))
        if isinstance(found, dict):
            return {name: np.asarray(value) for name, value in found.items()}
        return np.asarray(found)


def _csv_header(path: Path | None) -> list[str] | None:
    import csv

    if path is None or not path.is_file():
        return None
    try:
        with open(path, encoding="utf-8-sig", newline="") as handle:
            return [name.strip() for name in next(csv.reader(handle), [])]
    except (OSError, UnicodeDecodeError, csv.Error):
        return None


def open_run(path: str | Path) -> TrainedRun:
    """A finished run directory; anything else is a UsageError saying what to pass."""
    from specc.analysis import analyze
    from specc.plan import make_plan

    folder = Path(path)
    if not (folder / "run.json").is_file():
        raise UsageError(
            f"{path}: not a specc run directory (no run.json)",
            "pass the folder `specc run` printed (runs/<model>-<time>) or an exported model",
        )
    info = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    if not (folder / WEIGHTS).is_file():
        status = info.get("status", "unknown")
        raise UsageError(
            f"{path}: the run has no final weights (status: {status})",
            f"finish it first: specc run --resume {path}",
        )
    saved = {
        k: v for k, v in info.get("options", {}).items() if k in RunOptions.__dataclass_fields__
    }
    options = dataclasses.replace(RunOptions(**saved), quiet=True, resume=None, out=None)
    text = (folder / "spec.nn").read_text(encoding="utf-8")
    plan = make_plan(analyze(text, info.get("spec_path", "<spec>")), options)
    return TrainedRun(folder, info, plan)
