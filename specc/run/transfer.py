"""`init from "RUN"`: start from another run's weights (docs/semantics.md#init).

Layers are matched by name; only when no layer name is shared at all (a model renamed as a
whole) are they matched by position among the layers that have weights. Shapes must
agree; with `strict` every layer with weights must be found, and `strict=false` keeps the
fresh initialisation of the others (a new head for fine-tuning). Weights files are
framework-neutral, so a TensorFlow run can seed a PyTorch one and back.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from specc.errors import WeightsError
from specc.ir.spec import InitFrom
from specc.run.record import load_arrays

WEIGHTS_FILE = "weights.safetensors"


def resolve_source(source: str, spec_dir: Path | None) -> Path:
    """The weights file `source` names: relative to the spec's folder, then to the cwd."""
    raw = Path(source).expanduser()
    bases = [Path()] if raw.is_absolute() else [b for b in (spec_dir, Path.cwd()) if b]
    tried: list[Path] = []
    for base in bases:
        candidate = base / raw
        if candidate.is_dir():
            candidate = candidate / WEIGHTS_FILE
        tried.append(candidate)
        if candidate.is_file():
            return candidate
    places = ", ".join(str(p) for p in dict.fromkeys(tried))
    raise WeightsError(
        f'`init from "{source}"`: no weights found (looked for {places})',
        f"train that run first (`specc run SPEC --out {source}`), or point `init from` at a "
        "finished run directory (it holds weights.safetensors) or a .safetensors file",
    )


def _layers_of(arrays: dict[str, np.ndarray], metadata: dict[str, str]) -> list[str]:
    """Layer names in model order: from the file's metadata, else in key order."""
    if "layers" in metadata:
        try:
            names = [str(n) for n in json.loads(metadata["layers"])]
            return [n for n in names if any(k.startswith(n + ".") for k in arrays)]
        except (ValueError, TypeError):
            pass
    return list(dict.fromkeys(k.partition(".")[0] for k in arrays))  # `attn.out_proj.bias`


def transfer(
    node: InitFrom,
    spec_dir: Path | None,
    weights: dict[str, np.ndarray],
    layer_order: list[str],
) -> dict[str, np.ndarray]:
    """`weights` with every matched layer replaced by the source's arrays."""
    path = resolve_source(node.source, spec_dir)
    source, metadata = load_arrays(path)
    source_layers = _layers_of(source, metadata)
    mine = [n for n in layer_order if any(k.startswith(n + ".") for k in weights)]
    out = dict(weights)
    missing: list[str] = []
    by_position = not set(mine) & set(source_layers)
    for position, name in enumerate(mine):
        if name in source_layers:
            match: str | None = name
        elif by_position and position < len(source_layers):
            match = source_layers[position]
        else:
            match = None
        if match is None:
            missing.append(name)
            continue
        for key in [k for k in weights if k.startswith(name + ".")]:
            array = key[len(name) + 1 :]
            theirs = source.get(f"{match}.{array}")
            if theirs is None:
                missing.append(key)
                continue
            if tuple(theirs.shape) != tuple(weights[key].shape):
                raise WeightsError(
                    f"`init from`: layer `{name}` needs {array} of shape "
                    f"{tuple(weights[key].shape)}, but `{match}.{array}` in {path} is "
                    f"{tuple(theirs.shape)}",
                    "the layers must have the same sizes as in the run you start from",
                )
            out[key] = np.asarray(theirs, dtype=np.float32)
    if missing and node.strict:
        raise WeightsError(
            f"`init from`: {path} has no weights for {', '.join(missing)}",
            "add `strict=false` to keep the fresh initialisation for them",
        )
    return out
