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
from typing import Any

import numpy as np

from specc.data.errors import DataError
from specc.data.text_folder import VOCAB_FILE, saved_vocabulary, text_tokenize
from specc.diagnostics import Diagnostic
from specc.errors import PlanError, WeightsError
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


def init_vocabulary(
    node: InitFrom | None, data: Any, spec_dir: Path | None, source: tuple[str, str]
) -> list[str] | None:
    """The token ids of the run `init from` starts from (its vocab.json), for a text source:
    its embedding rows mean those tokens, so the new run encodes with them. None without
    `init from`, a text source, or a vocab.json next to the weights; E603 at `init from`
    when the saved vocabulary was built for other `tokenize` settings."""
    if node is None or text_tokenize(data) is None:
        return None
    folder = resolve_source(node.source, spec_dir).parent
    if not (folder / VOCAB_FILE).is_file():
        return None
    try:
        return saved_vocabulary(folder, data)
    except DataError as err:
        diagnostic = Diagnostic(
            code="E603",
            message=f'`init from "{node.source}"`: its vocabulary does not fit this spec: '
            f"{err.message}",
            span=node.where("source") or node.span,
            help="tokenize as that run did (the same `tokenize` mode, `lowercase` and at "
            "least its `vocab`), or drop `init from`",
        )
        raise PlanError(
            "the run `init from` names was trained on other token ids",
            [diagnostic],
            "`specc explain E603`",
            source=source,
        ) from None


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
