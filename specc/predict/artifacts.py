"""Exported models (`specc export`) and how each is loaded and run, one loader per format.

An export folder holds the artifact and `export.json` (input shape, preprocessing, class
names, versions, verification). A loader returns `run(x) -> outputs` on float32 NumPy
arrays; it imports only its own runtime, so predicting from `model.onnx` needs onnxruntime
and NumPy, never torch or TensorFlow. `specc export` verifies what it wrote through these
same loaders, so a verified artifact is one `specc predict` can use.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from specc import DISTRIBUTION
from specc.data.dataset import Inputs, X
from specc.errors import BackendError, UsageError

MANIFEST = "export.json"
CHUNK = 1024  # examples per call: bounded memory for any input size

Runner = Callable[[X], Any]
"""Examples (several inputs: `Inputs`, one array per input name) -> outputs (an array;
a model with several named outputs: a dict of arrays by output name, in the model's order)."""

# format -> the artifact's name inside the export folder
ARTIFACTS: dict[str, str] = {
    "onnx": "model.onnx",
    "torch": "model.pt2",
    "savedmodel": "savedmodel",
    "keras": "model.keras",
}


def _float32(found: Any) -> Any:
    """A runtime's outputs as float32 NumPy: an array, or a dict of them by output name."""
    if isinstance(found, dict):
        return {str(name): np.asarray(value, dtype=np.float32) for name, value in found.items()}
    return np.asarray(found, dtype=np.float32)


def _joined(parts: list[Any]) -> Any:
    if not parts:
        return np.zeros((0,), np.float32)
    if isinstance(parts[0], dict):
        return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}
    return np.concatenate(parts)


def _chunked(fn: Callable[[Any], Any]) -> Runner:
    def run(x: X) -> Any:
        return _joined([_float32(fn(x[i : i + CHUNK])) for i in range(0, len(x), CHUNK)])

    return run


def need(module: str) -> Any:
    """Import an optional runtime, or say how to install it (never a traceback)."""
    import importlib

    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as err:
        if err.name != module:
            raise
        raise BackendError(
            f"this needs `{module}`, which is not installed",
            f'install it: pip install "{DISTRIBUTION}[export]"',
        ) from None


def _onnx(path: Path) -> Runner:
    ort = need("onnxruntime")

    options = ort.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    names = [i.name for i in session.get_inputs()]

    def feed(x: X) -> dict[str, np.ndarray]:
        """One array per graph input: a model's several inputs by their names."""
        if isinstance(x, Inputs):
            return {name: np.ascontiguousarray(x.arrays[name]) for name in names}
        return {names[0]: x}

    outputs = [o.name for o in session.get_outputs()]

    def run(x: X) -> Any:
        found = session.run(None, feed(x))
        if len(outputs) > 1:  # several named outputs: one graph output each
            return dict(zip(outputs, found, strict=True))
        return found[0]

    return _chunked(run)


def _torch(path: Path) -> Runner:
    import torch

    module = torch.export.load(str(path)).module()

    def run(x: X) -> Any:
        arrays = list(x.arrays.values()) if isinstance(x, Inputs) else [x]
        with torch.no_grad():
            found = module(*(torch.from_numpy(np.ascontiguousarray(a)) for a in arrays))
        if isinstance(found, dict):  # several named outputs
            return {name: value.numpy() for name, value in found.items()}
        return found.numpy()

    return _chunked(run)


def _savedmodel(path: Path) -> Runner:
    from specc.executors.tensorflow import _tf

    tf = _tf()
    loaded = tf.saved_model.load(str(path))

    def run(x: X) -> Any:
        if isinstance(x, Inputs):  # the serving function takes a dict by input name
            found = loaded.serve({name: tf.constant(a) for name, a in x.arrays.items()})
        else:
            found = loaded.serve(tf.constant(x))
        if isinstance(found, dict):  # several named outputs
            return {name: value.numpy() for name, value in found.items()}
        return found.numpy()

    return _chunked(run)


def _keras(path: Path) -> Runner:
    from specc.executors.tensorflow import _tf

    _tf()
    import keras

    model = keras.saving.load_model(str(path), compile=False)

    def run(x: X) -> Any:
        given = dict(x.arrays) if isinstance(x, Inputs) else x  # several: a dict by name
        found = model(given, training=False)
        if isinstance(found, dict):  # several named outputs
            return {name: np.asarray(value) for name, value in found.items()}
        return np.asarray(found)

    return _chunked(run)


LOADERS: dict[str, Callable[[Path], Runner]] = {
    "onnx": _onnx,
    "torch": _torch,
    "savedmodel": _savedmodel,
    "keras": _keras,
}


def load_runner(fmt: str, path: Path) -> Runner:
    return LOADERS[fmt](path)


def find_export(path: Path) -> tuple[Path, dict[str, Any]] | None:
    """(export folder, manifest) when `path` is an export folder or the artifact inside one."""
    for folder in (path, path.parent):
        manifest = folder / MANIFEST
        if manifest.is_file():
            info = json.loads(manifest.read_text(encoding="utf-8"))
            artifact = folder / str(info.get("artifact", ""))
            if folder == path or artifact.resolve() == path.resolve():
                return folder, info
    if path.suffix in (".onnx", ".pt2", ".keras") or path.name == "savedmodel":
        raise UsageError(
            f"{path}: no {MANIFEST} beside it, so its input shape and preprocessing are unknown",
            "predict from the run directory, or from a folder `specc export` wrote",
        )
    return None
