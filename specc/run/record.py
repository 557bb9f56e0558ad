"""The run directory: everything a run leaves behind, each file written atomically.

    runs/<model>-<YYYYmmdd-HHMMSS>/
        spec.nn            the spec exactly as written
        ir.json            the resolved IR (no source positions)
        run.json           resolved settings, the options used, and the status
        env.json           versions, device, backend
        metrics.jsonl      one record per step ({"step", "loss"}) and per epoch ({"epoch", ...})
        metrics.json       the final metrics
        weights.safetensors / best.safetensors      final / best-epoch weights (neutral layout)
        model.pt | model.keras                      the framework's own model file
        loss.png, metrics.png
        checkpoints/last.safetensors                weights + optimizer + loop state, each epoch

Every write goes to a temporary file in the same folder and is renamed over the target, so a
killed run never leaves a half-written file. Nothing is written outside the run directory.
"""

from __future__ import annotations

import errno
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from specc.errors import UsageError, WeightsError

CHECKPOINT = "checkpoints/last.safetensors"
# metrics.json's keys besides the final metrics (how the run went, not what it scored)
RUN_FACTS = (
    "epochs",
    "train_seconds",
    "train_cpu_seconds",
    "compile_seconds",
    "stopped_early",
    "best_epoch",
    "restored_epoch",
)
OPTIMIZER_PREFIX = "optimizer/"


def _file_mode() -> int:
    """The mode an ordinary new file gets here (0644 under the usual umask 022)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def _atomic(path: Path, write: Any) -> None:
    """Write through a temporary file renamed over `path`; the result gets the ordinary
    file mode (safetensors creates its files 0600, which would hide weights from others)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(tmp)
        os.chmod(tmp, _file_mode())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def save_arrays(path: Path, arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> None:
    from safetensors.numpy import save_file

    contiguous = {k: np.ascontiguousarray(v) for k, v in arrays.items()}

    def write(tmp: Path) -> None:
        try:
            save_file(contiguous, str(tmp), metadata=metadata)
        except Exception as err:  # safetensors' own error, also for a full disk: an OSError
            raise OSError(errno.EIO, str(err), str(path)) from None

    _atomic(path, write)


def load_arrays(path: Path) -> tuple[dict[str, np.ndarray], dict[str, str]]:
    """Arrays and metadata of a safetensors file; unreadable files are a WeightsError."""
    from safetensors import safe_open

    try:
        with safe_open(str(path), framework="numpy") as handle:
            metadata = dict(handle.metadata() or {})
            arrays = {key: handle.get_tensor(key) for key in handle.keys()}  # noqa: SIM118
    except (OSError, ValueError, RuntimeError) as err:
        raise WeightsError(
            f"cannot read weights file {path}: {err}", "is it a .safetensors file?"
        ) from None
    except Exception as err:  # safetensors raises its own SafetensorError
        raise WeightsError(
            f"cannot read weights file {path}: {err}", "is it a .safetensors file?"
        ) from None
    return arrays, metadata


def json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any, indent: int | None = 2) -> str:
    return json.dumps(value, indent=indent, default=json_default, allow_nan=True)


class RunDir:
    """One run's folder. Create with `RunDir.create(...)` or reopen with `specc.run.resume.reopen`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.records: list[dict[str, Any]] = []

    # ---- creating / reopening ---------------------------------------------------------

    @classmethod
    def create(cls, out: str | None, model_name: str) -> RunDir:
        """`--out DIR` exactly, else a fresh `runs/<model>-<timestamp>` under the cwd."""
        if out is not None:
            path = Path(out)
            if path.exists() and (path / "run.json").exists():
                raise UsageError(
                    f"{out} already holds a run", f"continue it with --resume {out}, or pick --out"
                )
            if path.exists() and not path.is_dir():
                raise UsageError(f"--out {out} is a file, not a folder")
        else:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            base = Path("runs") / f"{model_name}-{stamp}"
            path, n = base, 1
            while path.exists():  # two runs in the same second
                n += 1
                path = base.with_name(f"{base.name}-{n}")
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise UsageError(f"cannot create the run directory {path}: {err.strerror}") from None
        return cls(path)

    # ---- files ------------------------------------------------------------------------

    def write_text(self, name: str, text: str) -> Path:
        target = self.path / name
        _atomic(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
        return target

    def write_json(self, name: str, value: Any) -> Path:
        return self.write_text(name, dumps(value) + "\n")

    def read_json(self, name: str) -> Any:
        return json.loads((self.path / name).read_text(encoding="utf-8"))

    def add_records(self, records: list[dict[str, Any]]) -> None:
        """Append step/epoch records and rewrite metrics.jsonl (atomic, so never torn)."""
        self.records.extend(records)
        text = "".join(dumps(r, indent=None) + "\n" for r in self.records)
        self.write_text("metrics.jsonl", text)

    def read_records(self) -> list[dict[str, Any]]:
        """The records of metrics.jsonl; ValueError naming the line when one is damaged."""
        path = self.path / "metrics.jsonl"
        if not path.exists():
            return []
        records = []
        text = path.read_bytes().decode("utf-8", errors="replace")
        for number, line in enumerate(text.splitlines(), start=1):
            if not line:
                continue
            try:
                record = json.loads(line)
            except ValueError:
                record = None
            if not isinstance(record, dict):
                raise ValueError(f"line {number} is not a JSON record")
            records.append(record)
        return records

    def truncate_records(self, epochs_done: int) -> None:
        """Forget records past the checkpoint's epoch (they are recomputed on resume).

        Records are in order (an epoch's steps, then its epoch record), so everything after
        the record of epoch `epochs_done` belongs to the epoch that was interrupted.
        """
        end = 0
        for i, record in enumerate(self.records):
            if record.get("epoch") == epochs_done and "step" not in record:
                end = i + 1
        self.records = self.records[:end]
        self.write_text(
            "metrics.jsonl", "".join(dumps(r, indent=None) + "\n" for r in self.records)
        )

    def save_weights(self, name: str, weights: dict[str, np.ndarray], layers: list[str]) -> Path:
        """Neutral weights with the layer order in the metadata (for matching by position)."""
        target = self.path / name
        save_arrays(target, weights, {"format": "specc", "layers": json.dumps(layers)})
        return target

    def save_checkpoint(
        self,
        weights: dict[str, np.ndarray],
        optimizer: dict[str, np.ndarray],
        loop_state: dict[str, Any],
    ) -> None:
        arrays = dict(weights)
        arrays.update({OPTIMIZER_PREFIX + k: v for k, v in optimizer.items()})
        save_arrays(self.path / CHECKPOINT, arrays, {"state": dumps(loop_state, indent=None)})

    def load_checkpoint(
        self,
    ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, Any]]:
        arrays, metadata = load_arrays(self.path / CHECKPOINT)
        if "state" not in metadata:
            raise WeightsError(f"{self.path / CHECKPOINT} is not a specc checkpoint")
        weights = {k: v for k, v in arrays.items() if not k.startswith(OPTIMIZER_PREFIX)}
        optimizer = {
            k[len(OPTIMIZER_PREFIX) :]: v
            for k, v in arrays.items()
            if k.startswith(OPTIMIZER_PREFIX)
        }
        return weights, optimizer, json.loads(metadata["state"])
