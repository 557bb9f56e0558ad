"""The spec's preprocessing, applied to new examples by the very code the run used.

A run record (or an export's `export.json`) keeps the data block's transforms as JSON;
they are read back into IR nodes and applied with `specc.data.transforms.apply`, so
`scale 1/255` or `normalize mean=.. std=..` happen exactly as in training, never retyped.
Transforms of targets (`one_hot`) and random ones (`augment`) leave inputs unchanged.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from pydantic import TypeAdapter, ValidationError

from specc.data.dataset import Inputs
from specc.data.errors import DataError
from specc.data.transforms import apply, apply_inputs
from specc.ir.data import AnyTransform


def transforms_from_json(items: list[dict[str, Any]]) -> list[Any]:
    try:
        return list(TypeAdapter(list[AnyTransform]).validate_python(items))
    except ValidationError as err:
        raise DataError(
            f"the recorded preprocessing is not understood by this specc ({err.error_count()} "
            "problem(s))",
            "export the run again with this version of specc",
        ) from None


def preprocess_inputs(
    raw: Inputs, transforms: list[Any], classes: int | None, shapes: dict[str, tuple[int, ...]]
) -> Inputs:
    """Several inputs: each transformed by the transforms naming it (`input=`), as the run
    did (`apply_inputs`), then shaped as its input (shapes were checked when read)."""
    dummy = np.zeros(len(raw), dtype=np.int64)
    x, _ = apply_inputs(transforms, raw, dummy, max(classes or 1, 1))
    return Inputs(
        {
            name: np.ascontiguousarray(x.arrays[name], dtype=np.float32).reshape(len(x), *shape)
            for name, shape in shapes.items()
        }
    )


def preprocess(
    raw: np.ndarray, transforms: list[Any], classes: int | None, input_shape: tuple[int, ...]
) -> np.ndarray:
    """Transformed float32 examples shaped (N, *input_shape), as the model takes them."""
    need, have = math.prod(input_shape), math.prod(raw.shape[1:])
    if need != have:
        got = "x".join(map(str, raw.shape[1:]))
        size = "x".join(map(str, input_shape))
        raise DataError(
            f"the examples are {got} ({have} values) but the model takes {size} ({need} values)",
            "give examples of the shape the model was trained on",
        )
    dummy = np.zeros(len(raw), dtype=np.int64)  # targets: only `one_hot` reads them
    x, _ = apply(transforms, raw, dummy, max(classes or 1, 1))
    return np.ascontiguousarray(x, dtype=np.float32).reshape(len(x), *input_shape)
