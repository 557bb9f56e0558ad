"""Initial weights, drawn by specc itself so every backend starts from the same numbers.

docs/semantics.md#init: one NumPy generator seeded with the train `seed`, layer by layer in
model order, weight then bias. Arrays are float32 in the neutral (PyTorch) layout each kind declares
(`Layer.weights`): dense (out, in), conv (F, C, kh, kw). Backends only copy these in
(transposing by role where needed: specc/lowering/weights.py).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from specc.ir import inits as I
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
    return {weight.name: weight.shape for weight in info.layer.weights(info.input)}


def layer_weights(info: LayerInfo, rng: np.random.Generator) -> dict[str, np.ndarray]:
    """One layer's initial arrays, keyed `<layer>.<array>`: drawn with the weight's
    initialiser, or the role's constant (ones for a scale and a running variance)."""
    out: dict[str, np.ndarray] = {}
    for weight in info.layer.weights(info.input):
        if weight.init is not None:
            value = draw(weight.init, rng, weight.shape)
        else:
            value = np.full(weight.shape, weight.constant, np.float32)
        out[f"{info.name}.{weight.name}"] = value
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
