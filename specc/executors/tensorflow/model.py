"""The spec's model as Keras 3 layers (channels last inside), and its weight mapping.

The IR is channels-first (docs/semantics.md#shapes). The model is built from the shared
lowering after its channels-last rewrite (specc/lowering/layout.py, the same one the keras
and tensorflow emit targets use): `permute` steps move between layouts, and each neutral
weight array (PyTorch layout) maps to its Keras variable by its role
(specc/lowering/weights.py). Only what Keras computes exactly as the semantics say is a
stock layer; batchnorm is our own (`SpecBatchNorm`) because Keras's running-statistics
update differs (momentum convention, biased variance). A chain is a `keras.Sequential`; a
graph model (docs/semantics.md#graphs) is a functional `keras.Model` of the same layers,
each step's layers reading the values its `sources` name (specc/executors/tensorflow/graph.py).

Importing this module imports TensorFlow/Keras: only the TensorFlow executor does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from specc.executors.tensorflow import sequence
from specc.executors.tensorflow.graph import Node, Wiring, plain_call, symbolic_inputs
from specc.ir import layers as L
from specc.ir.registry import members
from specc.ir.sequence import mask_reaches
from specc.lowering import Lowered, Step
from specc.lowering.layout import channels_last
from specc.lowering.weights import native
from specc.shapes import ModelShapes


@keras.saving.register_keras_serializable(package="specc")
class SpecBatchNorm(keras.layers.Layer):
    """Batch normalisation with PyTorch's running-statistics convention.

    Training normalises with the biased batch variance and updates
    `running = (1 - momentum) * running + momentum * batch` with the UNBIASED variance;
    evaluation uses the running statistics. A frozen layer (`update_stats=False`) still
    normalises with batch statistics in training but leaves the running ones alone.
    """

    def __init__(
        self, momentum: float = 0.1, eps: float = 1e-5, update_stats: bool = True, **kwargs: Any
    ) -> None:
        super().__init__(**kwargs)
        self.momentum = float(momentum)
        self.eps = float(eps)
        self.update_stats = bool(update_stats)

    def build(self, input_shape: tuple[int | None, ...]) -> None:
        channels = (int(input_shape[-1]),)  # type: ignore[arg-type]
        self.gamma = self.add_weight(shape=channels, initializer="ones", name="gamma")
        self.beta = self.add_weight(shape=channels, initializer="zeros", name="beta")
        self.moving_mean = self.add_weight(
            shape=channels, initializer="zeros", name="moving_mean", trainable=False
        )
        self.moving_variance = self.add_weight(
            shape=channels, initializer="ones", name="moving_variance", trainable=False
        )

    def call(self, x: tf.Tensor, training: bool = False) -> tf.Tensor:
        if not training:
            mean, var = self.moving_mean.value, self.moving_variance.value
        else:
            axes = list(range(len(x.shape) - 1))  # every axis but the channels (last)
            mean, var = tf.nn.moments(x, axes=axes)
            if self.update_stats:
                count = tf.cast(tf.reduce_prod(tf.shape(x)[:-1]), x.dtype)
                unbiased = var * count / tf.maximum(count - 1.0, 1.0)
                m = self.momentum
                self.moving_mean.assign((1.0 - m) * self.moving_mean.value + m * mean)
                self.moving_variance.assign((1.0 - m) * self.moving_variance.value + m * unbiased)
        return (x - mean) * tf.math.rsqrt(var + self.eps) * self.gamma.value + self.beta.value

    def get_config(self) -> dict[str, Any]:
        config: dict[str, Any] = super().get_config()
        config.update(momentum=self.momentum, eps=self.eps, update_stats=self.update_stats)
        return config


# ---- activations -----------------------------------------------------------------------

# keras.activations.gelu is the exact erf form by default, like the semantics.
_STOCK_ACTIVATIONS = ("relu", "sigmoid", "tanh", "gelu", "selu", "silu", "softmax", "log_softmax")


def activation_layer(act: L.Layer, name: str) -> keras.layers.Layer:
    """One Keras layer for an IR activation. Softmaxes reduce over the last axis: the
    channels-last rewrite hands them the IR's (channels-first) layout, so -1 is right."""
    kind = act.kind_name()
    if kind in _STOCK_ACTIVATIONS:
        return keras.layers.Activation(kind, name=name)
    if isinstance(act, L.LeakyReLU):
        return keras.layers.LeakyReLU(negative_slope=float(act.slope), name=name)
    if isinstance(act, L.ELU):
        return keras.layers.ELU(alpha=float(act.alpha), name=name)
    raise ValueError(f"no TensorFlow mapping for activation {kind}")


# ---- layers ----------------------------------------------------------------------------


@dataclass(frozen=True)
class WeightSlot:
    """One neutral weight array and the Keras variable holding it (`perm`: neutral -> Keras)."""

    key: str
    variable: keras.Variable
    perm: tuple[int, ...] | None
    trainable: bool
    blocks: tuple[int, ...] | None = None
    """Gate blocks of the neutral axis 0 in Keras's order (`Native.blocks`)."""

    def to_keras(self, array: np.ndarray) -> np.ndarray:
        if self.blocks:
            array = np.concatenate([np.split(array, len(self.blocks))[b] for b in self.blocks])
        return np.transpose(array, self.perm) if self.perm else array

    def to_neutral(self, array: np.ndarray) -> np.ndarray:
        array = np.transpose(array, np.argsort(self.perm)) if self.perm else array
        if self.blocks:
            parts = np.split(array, len(self.blocks))
            array = np.concatenate([parts[i] for i in np.argsort(self.blocks)])
        return array


LayerBuilder = Callable[[Step], list[keras.layers.Layer]]


def helper_name(layer: str, role: str) -> str:
    """The name of a layer the spec did not write (`dense_1-activation`): the `-` keeps it
    apart from every spec name, which is letters, digits and `_` (Keras needs unique names)."""
    return f"{layer}-{role}"


def _with_activation(step: Step, core: keras.layers.Layer) -> list[keras.layers.Layer]:
    if step.activation is None:
        return [core]
    return [core, activation_layer(step.activation, helper_name(step.name, "activation"))]


def _dense(step: Step) -> list[keras.layers.Layer]:
    layer: L.Dense = step.ir  # type: ignore[assignment]
    core = keras.layers.Dense(int(layer.units), use_bias=layer.bias, name=step.name)
    return _with_activation(step, core)


def _conv(cls: type[keras.layers.Layer], pad: type[keras.layers.Layer]) -> LayerBuilder:
    def build(step: Step) -> list[keras.layers.Layer]:
        layer: L.Conv2D = step.ir  # type: ignore[assignment]
        out: list[keras.layers.Layer] = []
        padding = "same" if layer.padding == "same" else "valid"
        if isinstance(layer.padding, int) and layer.padding > 0:
            out.append(pad(int(layer.padding), name=helper_name(step.name, "pad")))
        # TF's "same" pads (k-1)//2 before and the rest after: the semantics (stride 1).
        core = cls(
            int(layer.filters),
            layer.window(layer.kernel),
            strides=layer.window(layer.stride),
            padding=padding,
            use_bias=layer.bias,
            name=step.name,
        )
        return out + _with_activation(step, core)

    return build


def _pool(cls: type[keras.layers.Layer]) -> LayerBuilder:
    def build(step: Step) -> list[keras.layers.Layer]:
        layer: L.Pool = step.ir  # type: ignore[assignment]
        window = layer.window(layer.pool)  # type: ignore[attr-defined]
        return [cls(window, strides=layer.strides(), padding="valid", name=step.name)]

    return build


def _dropout(step: Step) -> list[keras.layers.Layer]:
    # The construction seed does not matter: train._seed_dropout sets every dropout
    # layer's generator from the loop's seed at the start of each epoch.
    rate = float(step.ir.rate)  # type: ignore[union-attr]
    return [keras.layers.Dropout(rate, seed=0, name=step.name)]


def _batchnorm(step: Step) -> list[keras.layers.Layer]:
    layer: L.BatchNorm = step.ir  # type: ignore[assignment]
    bn = SpecBatchNorm(
        momentum=float(layer.momentum),
        eps=float(layer.eps),
        update_stats=not layer.frozen,
        name=step.name,
    )
    return [bn]


def _layernorm(step: Step) -> list[keras.layers.Layer]:
    layer: L.LayerNorm = step.ir  # type: ignore[assignment]
    axes = list(range(1, len(step.input) + 1))
    return [keras.layers.LayerNormalization(axis=axes, epsilon=float(layer.eps), name=step.name)]


def _activation(step: Step) -> list[keras.layers.Layer]:
    return [activation_layer(step.ir, step.name)]  # type: ignore[arg-type]


def _merge(cls: type[keras.layers.Layer]) -> LayerBuilder:
    """An element-wise merge: Keras's layer computes exactly the sum, product or mean."""
    return lambda step: [cls(name=step.name)]


def _concat(step: Step) -> list[keras.layers.Layer]:
    """Joins the channel/feature axis: last on a channels-last step, else the first axis
    after the batch of a channels-first image or sequence, or a vector's only axis."""
    axis = -1 if step.channels_last or len(step.output) < 2 else 1
    return [keras.layers.Concatenate(axis=axis, name=step.name)]


# One builder per IR layer kind (the same table as the torch backend's `model.LAYERS`).
LAYERS: dict[type[L.Layer], LayerBuilder] = {
    L.Dense: _dense,
    L.Conv2D: _conv(keras.layers.Conv2D, keras.layers.ZeroPadding2D),
    L.Conv1D: _conv(keras.layers.Conv1D, keras.layers.ZeroPadding1D),
    L.MaxPool2D: _pool(keras.layers.MaxPooling2D),
    L.AvgPool2D: _pool(keras.layers.AveragePooling2D),
    L.MaxPool1D: _pool(keras.layers.MaxPooling1D),
    L.AvgPool1D: _pool(keras.layers.AveragePooling1D),
    L.GlobalAvgPool: sequence.global_pool("avg"),  # also over an (L, D) sequence, masked
    L.Flatten: lambda step: [keras.layers.Flatten(name=step.name)],
    L.Reshape: lambda step: [keras.layers.Reshape(tuple(step.output), name=step.name)],
    L.Dropout: _dropout,
    L.BatchNorm: _batchnorm,
    L.LayerNorm: _layernorm,
    L.Add: _merge(keras.layers.Add),
    L.Multiply: _merge(keras.layers.Multiply),
    L.Average: _merge(keras.layers.Average),
    L.Concat: _concat,
    # every activation, as a layer of its own
    **{act: _activation for act in members(L.ActivationKind).values()},  # type: ignore[misc]
    **sequence.LAYERS,  # embedding, lstm, gru, attention, ... (specc/ir/sequence.py)
}


def build_step(step: Step) -> list[keras.layers.Layer]:
    """Keras layers for one lowered step (`permute` steps are lowering's own)."""
    if step.ir is None:
        return [keras.layers.Permute(step.dims, name=step.name)]
    return LAYERS[type(step.ir)](step)


# ---- the whole model -------------------------------------------------------------------


@dataclass
class KerasModel:
    """The Keras model plus what the executor needs to train it exactly."""

    model: keras.Model  # a Sequential for a chain, a functional model for a graph
    layers: list[keras.layers.Layer]  # in order
    train_layers: int  # how many of `layers` the training forward runs (the head off)
    slots: list[WeightSlot]
    dropouts: list[keras.layers.Dropout]
    wiring: Wiring | None = None
    """A graph model's wiring (which layers read which values); None for a chain."""
    input_dtype: str = "float32"
    heads: dict[str, keras.layers.Layer] = field(default_factory=dict)
    """Several outputs: each output's prediction head, by output name (skipped by the
    training forward); the forward then gives a dict by output name."""

    def forward(self, x: tf.Tensor, training: bool, logits: bool) -> tf.Tensor:
        """The layers in order (a chain), or as the wiring says (a graph). In a chain, from
        an `embedding` with a pad id, the mask (ids != pad) is passed to the layers marked
        `takes_mask` (docs/semantics.md#masking)."""
        if self.wiring is None:
            count = self.train_layers if logits else len(self.layers)
            mask = None
            for layer in self.layers[:count]:
                pad = getattr(layer, "spec_pad", None)
                if pad is not None:
                    mask = tf.not_equal(x, tf.constant(pad, x.dtype))
                if getattr(layer, "takes_mask", False):
                    x = layer(x, training=training, mask=mask)
                else:
                    x = layer(x, training=training)
            return x
        x = self.wiring.run(x, lambda layer, y: layer(y, training=training))
        if self.wiring.outputs:
            heads = {} if logits else self.heads
            return {k: heads[k](v, training=training) if k in heads else v for k, v in x.items()}
        for layer in () if logits else self.layers[self.train_layers :]:
            x = layer(x, training=training)
        return x


def build_keras_model(shapes: ModelShapes, lowered: Lowered, precision: str = "fp32") -> KerasModel:
    """Keras layers for every lowered step, the model around them, and the weight slots.

    A chain is a `keras.Sequential`; a graph (`Lowered.is_chain` false) is a functional
    `keras.Model` whose layers read the values their step's `sources` name (`graph`).
    A prediction head (the softmax/sigmoid the loss takes logits for) is the last layer of
    the saved model, skipped by the training forward.
    `precision bf16`: Keras's `mixed_bfloat16` policy (bfloat16 compute, float32 weights)
    on every layer but the normalisations, which stay float32 like under torch's autocast,
    and our own sequence layers (`sequence.FLOAT32`), which compute in float32.
    """
    rewritten = channels_last(lowered)
    per_step = [(step, build_step(step)) for step in rewritten.steps]
    # the padding mask follows a chain (docs/semantics.md#masking); graphs refuse `pad=`
    layers_ir = [info.layer for info in shapes.layers]
    reaches = mask_reaches(layers_ir) if shapes.is_chain else [False] * len(layers_ir)
    masked = {info.name for info, takes in zip(shapes.layers, reaches, strict=True) if takes}
    for step, built in per_step:
        if step.frozen:
            for layer in built:
                layer.trainable = False
        if step.name in masked:
            built[0].takes_mask = True
    layers = [layer for _, built in per_step for layer in built]
    train_layers = len(layers)
    heads = _output_heads(shapes, lowered)
    layers += heads.values()
    if lowered.head is not None and not lowered.outputs:
        last = shapes.last
        assert last is not None  # a head is a layer's activation
        fused = not isinstance(last.layer, L.Activation)
        name = helper_name(last.name, "activation") if fused else last.name
        layers.append(keras.layers.Activation(lowered.head, name=name))
    if precision == "bf16":
        for layer in layers:
            float32 = (SpecBatchNorm, keras.layers.LayerNormalization, *sequence.FLOAT32)
            if not isinstance(layer, float32):
                layer.dtype_policy = keras.DTypePolicy("mixed_bfloat16")
    dtype = "int64" if shapes.model.input and shapes.model.input.dtype == "int" else "float32"
    wiring = None
    if lowered.is_chain:
        model: keras.Model = keras.Sequential(
            [keras.Input(shape=tuple(shapes.input), dtype=dtype), *layers], name=shapes.model.name
        )
        learning = {step.name for step, _ in per_step}
    else:
        wiring = _wiring(rewritten, per_step)
        model = _functional(shapes, wiring, layers[train_layers:], heads)
        learning = {node.name for node in wiring.live}
    slots = [slot for step, built in per_step for slot in _slots(step, built, learning)]
    dropouts = [layer for layer in layers if isinstance(layer, keras.layers.Dropout)]
    dropouts += [layer.between for layer in layers if getattr(layer, "between", None)]
    return KerasModel(model, layers, train_layers, slots, dropouts, wiring, dtype, heads)


def _output_heads(shapes: ModelShapes, lowered: Lowered) -> dict[str, keras.layers.Layer]:
    """Several outputs: the softmax/sigmoid each output's loss takes logits for, as the
    last layer of that output in the saved model."""
    heads = {}
    for out in lowered.outputs:
        if out.head is None:
            continue
        last = shapes.output_info(out.name)
        fused = not isinstance(last.layer, L.Activation)
        name = helper_name(last.name, "activation") if fused else last.name
        heads[out.name] = keras.layers.Activation(out.head, name=name)
    return heads


def _wiring(rewritten: Lowered, per_step: list[tuple[Step, list[keras.layers.Layer]]]) -> Wiring:
    (name, _), *_ = rewritten.inputs
    nodes = tuple(Node(step.name, step.sources, tuple(built)) for step, built in per_step)
    outputs = tuple((out.name, out.value) for out in rewritten.outputs)
    return Wiring(name, nodes, rewritten.output_name, tuple(rewritten.inputs), outputs)


def _functional(
    shapes: ModelShapes,
    wiring: Wiring,
    head: list[keras.layers.Layer],
    heads: dict[str, keras.layers.Layer],
) -> keras.Model:
    """The functional Keras model: the input, every node called symbolically (so every
    layer has its weights, read by the output or not), then the head (each output's, for
    several: Keras's `Model(inputs, {name: output})`)."""
    dtype = "int64" if shapes.model.input and shapes.model.input.dtype == "int" else "float32"
    x = symbolic_inputs(wiring, tuple(shapes.input), dtype)
    out = wiring.run(x, plain_call, everything=True)
    if wiring.outputs:
        named = {k: heads[k](v) if k in heads else v for k, v in out.items()}
        return keras.Model(x, named, name=shapes.model.name)
    for layer in head:
        out = layer(out)
    return keras.Model(x, out, name=shapes.model.name)


def _slots(step: Step, built: list[keras.layers.Layer], learning: set[str]) -> list[WeightSlot]:
    """Neutral key -> Keras variable for one step, by each weight's role. A step the
    output does not read (`learning`) gets no gradient, so the optimizer skips it, as
    PyTorch's skips a parameter without one."""
    if not step.weights:
        return []
    core = next(layer for layer in built if layer.name == step.name)
    out = []
    for weight in step.weights:
        held = native("keras", weight, step.channels_last)
        trainable = weight.trainable and not step.frozen and step.name in learning
        variable = getattr(core, held.name)
        key = f"{step.name}.{weight.name}"
        out.append(WeightSlot(key, variable, held.perm, trainable, held.blocks))
    return out
