"""`specc.export(run, fmt) -> Exported`: a run's model as ONNX, torch.export, SavedModel or
.keras, verified numerically before it is kept. A model with several inputs gets one named
input per model input in every format (`export.json` lists them under `inputs`).

Steps: reopen the run (`specc.predict.trained`), refuse what the format cannot hold
(`capabilities`: E600 at the spec, with the reason), build its framework model in float32
from the final weights, take held-out examples (the run's test split, else validation,
else train; seeded random inputs when the data is gone), write the artifact into a
temporary folder (`writers`), load it back the way `specc predict` does and compare
(`verify`), then write `export.json` and move the folder into place. A failure removes
the temporary folder: nothing half-written is left, and an earlier export stays as it was.
"""

from __future__ import annotations

import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specc import __version__
from specc.data.dataset import Inputs, X
from specc.errors import RunError, UsageError
from specc.export.capabilities import exporter, refusals
from specc.export.verify import (
    BATCHES,
    TOLERANCE,
    Check,
    ExportError,
    compare,
    compare_outputs,
    difference_table,
)
from specc.export.writers import (
    INPUT_NAME,
    OUTPUT_NAME,
    WRITERS,
    output_names,
    torch_before_dynamo,
)
from specc.ir.sequence import vocabulary
from specc.predict.artifacts import ARTIFACTS, MANIFEST, load_runner, need
from specc.predict.trained import SPLITS, TrainedRun, open_run

__all__ = ["FORMATS", "ExportError", "Exported", "export", "formats_for"]

FORMATS = tuple(WRITERS)
RUNTIMES: dict[str, tuple[str, ...]] = {"onnx": ("onnx", "onnxruntime")}
EXAMPLES = max(BATCHES)


@dataclass
class Exported:
    folder: Path
    artifact: Path
    manifest: dict[str, Any]
    checks: list[Check] = field(default_factory=list)
    export_seconds: float = 0.0
    verify_seconds: float = 0.0


def formats_for(backend: str) -> list[str]:
    return [name for name, (needs, _) in WRITERS.items() if needs == backend]


def _examples(run: TrainedRun) -> tuple[X, str]:
    """Up to 64 held-out examples, preprocessed (token ids as int64, padding included), and
    where they came from (several inputs: `Inputs`, one array per input)."""
    from specc.data import DataError

    vocab = vocabulary(run.plan.shapes)
    dtype = np.float32 if vocab is None else np.int64
    problem = ""
    shapes = dict(run.plan.shapes.inputs)
    for split in SPLITS:
        try:
            x, _ = run.split(split)
        except DataError as err:
            problem = err.message
            break
        if len(x):
            return _shaped(x[:EXAMPLES], shapes, dtype), f"the run's {split} split"
    rng = np.random.default_rng(0)
    if vocab is not None:  # ids, the first quarter of each example padding with id 0
        ids = rng.integers(0, vocab, size=(EXAMPLES, *run.plan.shapes.input), dtype=np.int64)
        ids[:, : ids.shape[1] // 4] = 0
        return ids, f"seeded random inputs ({problem or 'the data has no examples'})"
    arrays = {name: rng.normal(size=(EXAMPLES, *shape)) for name, shape in shapes.items()}
    x = Inputs(arrays) if len(arrays) > 1 else next(iter(arrays.values()))
    return _shaped(
        x, shapes, dtype
    ), f"seeded random inputs ({problem or 'the data has no examples'})"


def _shaped(x: X, shapes: dict[str, tuple[int, ...]], dtype: type = np.float32) -> X:
    """Contiguous examples in each input's shape (float32, or int64 token ids)."""
    if isinstance(x, Inputs):
        return Inputs(
            {
                name: np.ascontiguousarray(x.arrays[name], dtype=np.float32).reshape(-1, *shape)
                for name, shape in shapes.items()
            }
        )
    shape = next(iter(shapes.values()))
    return np.ascontiguousarray(x, dtype=dtype).reshape(len(x), *shape)


def _batches(x: X) -> list[X]:
    """Batch 1 and batch 64 (repeating the examples when fewer are held out)."""
    reps = -(-EXAMPLES // len(x))
    order = np.arange(reps * len(x)) % len(x)
    full = x[order[:EXAMPLES]]
    return [full[:b] for b in BATCHES]


def _target(run: TrainedRun, fmt: str, out: str | Path | None) -> Path:
    return Path(out) if out is not None else run.path / "export" / fmt


def export(
    run_path: str | Path,
    fmt: str,
    out: str | Path | None = None,
    legacy_onnx: bool = False,
) -> Exported:
    if fmt not in WRITERS:
        raise UsageError(f"unknown format `{fmt}`", f"choose one of: {', '.join(FORMATS)}")
    run = open_run(run_path)
    needs, writer = WRITERS[fmt]
    if needs != run.backend:
        raise UsageError(
            f"`--format {fmt}` exports a {needs} model, but this run trained on {run.backend}",
            f"formats for {run.backend} runs: {', '.join(formats_for(run.backend))}",
        )
    if legacy_onnx and fmt != "onnx":
        raise UsageError("--legacy-onnx only applies to --format onnx")
    legacy_onnx = legacy_onnx or (fmt == "onnx" and torch_before_dynamo())
    how = exporter(fmt, legacy_onnx)
    refused = refusals(run, how)
    if refused:  # before any work: located E600s with the reasons, nothing written
        raise ExportError(
            f"`--format {how}` cannot export this run's model as written",
            "`specc explain E600` lists alternatives",
            refused,
            (run.plan.path, run.plan.text),
        )
    for module in RUNTIMES.get(fmt, ()):
        need(module)  # before any work: a missing package is a message, not a late failure
    target = _target(run, fmt, out)
    if target.exists() and not (target / MANIFEST).is_file():
        raise UsageError(
            f"-o {target} exists and is not an earlier export",
            "pick a new folder (an export folder is replaced as a whole)",
        )
    x, source = _examples(run)
    backend, state = run.build("cpu", fp32=True)
    expected = [run.reference_outputs(backend, state, b) for b in _batches(x)]
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.tmp{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir()
    try:
        began = time.perf_counter()
        artifact = tmp / ARTIFACTS[fmt]
        try:
            written_by = writer(state, x, artifact, {"legacy_onnx": legacy_onnx})
        except ExportError:
            raise
        except Exception as err:  # the framework's exporter refused the model
            raise ExportError(
                f"the {fmt} exporter failed: {type(err).__name__}: {_first_line(err)}",
                "nothing was written" + ("; try --legacy-onnx" if fmt == "onnx" else ""),
            ) from err
        written = time.perf_counter()
        checks = _verify(fmt, artifact, _batches(x), expected, _classes(run))
        verified = time.perf_counter()
        manifest = _manifest(run, fmt, written_by, source, checks)
        manifest["seconds"] = {
            "export": round(written - began, 3),
            "verify": round(verified - written, 3),
        }
        from specc.run.record import dumps

        (tmp / MANIFEST).write_text(dumps(manifest) + "\n", encoding="utf-8")
        _replace(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return Exported(
        target, target / ARTIFACTS[fmt], manifest, checks, written - began, verified - written
    )


def _classes(run: TrainedRun) -> bool | dict[str, bool]:
    """Whether the predicted classes must match: per output for several named outputs."""
    if run.outputs is not None:
        return {o.name: o.task != "regression" for o in run.outputs}
    return run.task != "regression"


def _verify(
    fmt: str, artifact: Path, batches: list[X], expected: list[Any], classes: bool | dict[str, bool]
) -> list[Check]:
    if fmt == "onnx":
        onnx = need("onnx")

        try:
            onnx.checker.check_model(str(artifact), full_check=True)
        except onnx.checker.ValidationError as err:
            raise ExportError(f"{ARTIFACTS[fmt]} fails onnx.checker: {err}") from None
    try:
        runner = load_runner(fmt, artifact)
    except RunError:
        raise
    except Exception as err:  # an artifact its own runtime cannot load
        raise ExportError(
            f"verification failed: the written {ARTIFACTS[fmt]} does not load: "
            f"{type(err).__name__}: {_first_line(err)}",
            "nothing was written",
        ) from err
    checks: list[Check] = []
    for batch, want in zip(batches, expected, strict=True):
        got = runner(batch)
        if isinstance(classes, dict):  # several named outputs: each compared on its own
            found = compare_outputs(len(batch), want, got, classes)
        else:
            found = [compare(len(batch), want, got, classes)]
        checks.extend(found)
        for check in found:
            if not check.ok:
                _disagree(fmt, check, want, got)
    return checks


def _disagree(fmt: str, check: Check, want: Any, got: Any) -> None:
    """The ExportError of a failed check, with the table of the largest differences."""
    what = "predicted classes differ" if check.same_classes is False else "outputs differ"
    if check.output is not None:
        what = f"output `{check.output}`: {what}"
        want = want[check.output]
        got = got.get(check.output, np.zeros((0,))) if isinstance(got, dict) else got
    raise ExportError(
        f"verification failed: the exported {fmt} model and the run's model disagree at "
        f"batch {check.batch}: {what} (max |diff| {check.max_abs_diff:.3g}, tolerance "
        f"{TOLERANCE:g})\n{difference_table(want, got)}",
        "nothing was written; report this with the spec and the versions in env.json"
        + (" (or try --legacy-onnx)" if fmt == "onnx" else ""),
    )


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else "(no message)"


def _replace(tmp: Path, target: Path) -> None:
    """Move the finished folder into place; an earlier export is removed only afterwards."""
    old = target.with_name(f".{target.name}.old{os.getpid()}")
    if target.exists():
        os.replace(target, old)
    os.replace(tmp, target)
    shutil.rmtree(old, ignore_errors=True)


def _manifest(
    run: TrainedRun, fmt: str, how: str, source: str, checks: list[Check]
) -> dict[str, Any]:
    shapes = run.plan.shapes.inputs
    if len(shapes) > 1:  # one named graph input per model input, in the model's order
        given: dict[str, Any] = {
            "inputs": [
                {"name": name, "shape": [None, *shape], "dtype": "float32", "layout": "the spec's"}
                for name, shape in shapes
            ]
        }
    else:
        model_input: dict[str, Any] = {
            "name": INPUT_NAME,
            "shape": [None, *run.plan.shapes.input],
            "dtype": "float32",
        }
        vocab = vocabulary(run.plan.shapes)
        if vocab is not None:  # token ids 0..vocab-1 (padding included: the model masks it)
            model_input.update(dtype="int64", vocab=vocab)
        given = {"input": {**model_input, "layout": "the spec's"}}
    return {
        "format": fmt,
        "artifact": ARTIFACTS[fmt],
        "exporter": how,
        **given,
        **_outputs(run),
        "task": run.task,
        "classes": run.classes,
        "class_names": run.class_names,
        "preprocessing": run.preprocessing(),
        "data": run.data_columns(),
        "model": run.plan.model.name,
        "spec_sha256": run.spec_sha256,
        "run": str(run.path.resolve()),
        "backend": run.backend,
        "versions": _versions(fmt),
        "verification": {
            "examples": source,
            "tolerance": TOLERANCE,
            "checks": [c.to_json() for c in checks],
        },
    }


def _outputs(run: TrainedRun) -> dict[str, Any]:
    """`output` (its name, shape, meaning), or for several named outputs `outputs`: one
    such entry per output, named as the graph names it, with its task and classes."""
    if run.outputs is None:
        one = {"name": OUTPUT_NAME, "shape": [None, *run.plan.shapes.output]}
        return {"output": {**one, "dtype": "float32", "meaning": _meaning(run.task)}}
    assert [o.name for o in run.outputs] == output_names(run.plan)
    return {
        "outputs": [
            {
                **o.to_json(),
                "dtype": "float32",
                "meaning": _meaning(o.task),
                "classes": o.classes,
            }
            for o in run.outputs
        ]
    }


MEANINGS: dict[str, str] = {
    "regression": "regression values",
    "binary": "probability of class 1",
    "classification": "class probabilities",
}


def _meaning(task: str) -> str:
    return MEANINGS.get(task, MEANINGS["classification"])


def _versions(fmt: str) -> dict[str, str]:
    out = {"specc": __version__, "python": sys.version.split()[0], "numpy": np.__version__}
    out["platform"] = platform.platform()
    for name in ("torch", "onnx", "onnxruntime", "onnxscript", "tensorflow", "keras"):
        module = sys.modules.get(name)
        if module is not None and hasattr(module, "__version__"):
            out[name] = str(module.__version__)
    return out
