"""Initial weights, drawn by specc itself so every backend starts from the same numbers.

docs/semantics.md#init: one NumPy generator seeded with the train `seed`, layer by layer in
model order, weight then bias. Arrays are float32 in the neutral (PyTorch) layout: dense
(out, in), conv (F, C, kh, kw). Backends only copy these in (transposing where needed).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from specc.ir import inits as I
from specc.ir import layers as L
from specc.ir.layers import pair
from specc.shapes import LayerInfo, ModelShapes

Shape = tuple[int, ...]
Draw = Callable[[np.random.Generator, Shape, object], np.ndarray]


def fans(shape: Shape) -> tuple[int, int]:
    """(fan_in, fan_out) of a neutral-layout kernel; a vector counts its length for both."""
    if len(shape) == 1:
        return shape[0], shape[0]
    receptive = math.prod(shape[2:]) if len(shape) > 2 else 1
    return shape[1] * receptive, shape[0] * receptive


def _glorot_uniform(rng: np.random.Generator, shape: Shape, init: object) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    limit = math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-limit, limit, size=shape)


def _glorot_normal(rng: np.random.Generator, shape: Shape, init: object) -> np.ndarray:
    fan_in, fan_out = fans(shape)
    return rng.normal(0.0, math.sqrt(2.0 / (fan_in + fan_out)), size=shape)


def _he_uniform(rng: np.random.Generator, shape: Shape, init: object) -> np.ndarray:
    limit = math.sqrt(6.0 / fans(shape)[0])
    return rng.uniform(-limit, limit, size=shape)


def _he_normal(rng: np.random.Generator, shape: Shape, init: object) -> np.ndarray:
    return rng.normal(0.0, math.sqrt(2.0 / fans(shape)[0]), size=shape)


def _uniform(rng: np.random.Generator, shape: Shape, init: object) -> np.ndarray:
    assert isinstance(init, I.UniformInit)
    return rng.uniform(init.low, init.high, size=shape)


def _normal(rng: np.random.Generator, shape: Shape, init: object) -> np.ndarray:
    assert isinstance(init, I.NormalInit)
    return rng.normal(init.mean, init.std, size=shape)


def _zeros(rng: np.random.Generator, shape: Shape, init: object) -> np.ndarray:
    return np.zeros(shape)


def _ones(rng: np.random.Generator, shape: Shape, init: object) -> np.ndarray:
    return np.ones(shape)


INITIALISERS: dict[type, Draw] = {
    I.GlorotUniform: _glorot_uniform,
    I.GlorotNormal: _glorot_normal,
    I.HeUniform: _he_uniform,
    I.HeNormal: _he_normal,
    I.UniformInit: _uniform,
    I.NormalInit: _normal,
    I.Zeros: _zeros,
    I.Ones: _ones,
}


def draw(init: object, rng: np.random.Generator, shape: Shape) -> np.ndarray:
    return INITIALISERS[type(init)](rng, shape, init).astype(np.float32)


def weight_shapes(info: LayerInfo) -> dict[str, Shape]:
    """Neutral-layout shapes of one layer's arrays, in the order they are drawn/saved."""
    layer = info.layer
    if isinstance(layer, L.Dense):
        out: dict[str, Shape] = {"weight": (int(layer.units), info.input[0])}
        if layer.bias:
            out["bias"] = (int(layer.units),)
        return out
    if isinstance(layer, L.Conv2D):
        kh, kw = pair(layer.kernel)
        out = {"weight": (int(layer.filters), info.input[0], kh, kw)}
        if layer.bias:
            out["bias"] = (int(layer.filters),)
        return out
    if isinstance(layer, L.BatchNorm):
        c = (info.input[0],)
        return {"weight": c, "bias": c, "running_mean": c, "running_var": c}
    if isinstance(layer, L.LayerNorm):
        return {"weight": info.input, "bias": info.input}
    return {}


_CONSTANT_ONES = {"running_var"}


def layer_weights(info: LayerInfo, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One layer's initial arrays, keyed `<layer>.<array>`."""
    layer = info.layer
    out: dict[str, np.ndarray] = {}
    for array, shape in weight_shapes(info).items():
        if isinstance(layer, (L.Dense, L.Conv2D)):
            init = layer.init if array == "weight" else layer.bias_init
            value = draw(init, rng, shape)
        elif array == "weight" or array in _CONSTANT_ONES:
            value = np.ones(shape, np.float32)  # norm scale and running variance
        else:
            value = np.zeros(shape, np.float32)
        out[f"{info.name}.{array}"] = value
    return out


def initial_weights(shapes: ModelShapes, seed: int) -> dict[str, np.ndarray]:
    """Every weight of the model, drawn from one generator seeded with `seed`."""
    rng = np.random.default_rng(seed)
    out: dict[str, np.ndarray] = {}
    for info in shapes.layers:
        out.update(layer_weights(info, rng))
    return out


def trainable_count(weights: dict[str, np.ndarray]) -> int:
    """Number of parameters (running statistics excluded), to compare with `specc summary`."""
    return sum(
        v.size for k, v in weights.items() if not k.endswith(("running_mean", "running_var"))
    )
