"""The data block's transforms, applied in the order written, in float32.

`scale` and `normalize` change inputs; `one_hot` changes class targets; `augment` is
random and per batch, so the loader leaves it to the executors (training set only; see
`specc.data.augment` for the reference implementation).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from specc.data.dataset import Inputs
from specc.data.errors import DataError
from specc.ir import data as ir

XY = tuple[np.ndarray, np.ndarray]


# Input transforms work in place on `apply`'s own float32 copy: MNIST is 200 MB of floats.


def _scale(node: ir.Scale, x: np.ndarray, y: np.ndarray, classes: int | None) -> XY:
    x *= np.float32(node.factor)
    return x, y


def _per_axis1(value: float | list[float], x: np.ndarray, what: str) -> np.ndarray:
    """A scalar, or one value per channel (CHW images) / per feature (tables), broadcastable."""
    values = np.asarray(value, dtype=np.float32)
    if values.ndim == 0 or values.size == 1:
        return values.reshape(())
    width = x.shape[1] if x.ndim >= 2 else 1
    if values.size != width:
        unit = "channels" if x.ndim == 4 else "features" if x.ndim == 2 else "entries on axis 1"
        raise DataError(
            f"`normalize` has {values.size} {what} values but the data has {width} {unit} "
            f"(sample shape {'x'.join(map(str, x.shape[1:]))})",
            f"give one {what} value, or one per {unit.rstrip('s')}",
        )
    return values.reshape((1, width) + (1,) * (x.ndim - 2))


def _normalize(node: ir.Normalize, x: np.ndarray, y: np.ndarray, classes: int | None) -> XY:
    mean = _per_axis1(node.mean, x, "mean")
    std = _per_axis1(node.std, x, "std")
    x -= mean
    x /= std
    return x, y


def _one_hot(node: ir.OneHot, x: np.ndarray, y: np.ndarray, classes: int | None) -> XY:
    if classes is None or y.dtype.kind not in "iu" or y.ndim != 1:
        raise DataError(
            "`one_hot` needs class labels, but these targets are not classes",
            "remove `one_hot`, or use `task=classification`",
        )
    return x, np.eye(classes, dtype=np.float32)[y]


def _skip(node: ir.Augment, x: np.ndarray, y: np.ndarray, classes: int | None) -> XY:
    return x, y  # per batch, in the executors


TARGET_ONLY = (ir.OneHot,)  # transforms of the targets alone (fine on token-id inputs)

TRANSFORMS: dict[type, Callable[..., XY]] = {
    ir.Scale: _scale,
    ir.Normalize: _normalize,
    ir.OneHot: _one_hot,
    ir.Augment: _skip,
}


def apply(
    transforms: list, x: np.ndarray, y: np.ndarray, classes: int | None, ids: bool = False
) -> XY:
    """Every transform in order; `x` becomes float32 first (raw pixels stay 0..255 until
    `scale`), or int64 for token ids (`ids`), which no input transform may change."""
    if ids:
        for node in transforms:
            if not isinstance(node, TARGET_ONLY):
                raise DataError(
                    f"`{node.kind}` would change token ids (the model's input is `int`)",
                    f"remove `{node.kind}` from the data block",
                )
    x = np.array(x, dtype=np.int64 if ids else np.float32)  # a copy: transforms work in place
    for node in transforms:
        x, y = TRANSFORMS[type(node)](node, x, y, classes)
    return x, y


def apply_inputs(
    transforms: list, x: Inputs, y: np.ndarray, classes: int | None
) -> tuple[Inputs, np.ndarray]:
    """Several inputs: each input takes the `scale`/`normalize` naming it with `input=`
    (`specc check` refuses one without), in order; target transforms apply once."""
    arrays = {}
    for name, array in x.arrays.items():
        mine = [node for node in transforms if getattr(node, "input", None) == name]
        try:
            arrays[name], _ = apply(mine, array, y, classes)
        except DataError as err:  # `normalize` lists that do not fit: say which input
            raise DataError(f"input `{name}`: {err.message}", err.hint) from None
    targets = [node for node in transforms if isinstance(node, ir.OneHot)]
    _, y = apply(targets, np.zeros((len(y), 0), np.float32), y, classes)
    return Inputs(arrays), y
