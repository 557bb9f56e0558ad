"""The trained Keras model as stock Keras layers only, for files other programs load.

Training uses `SpecBatchNorm` (PyTorch's running-statistics convention, see `model`), a
layer plain Keras does not know, so a `.keras` file holding it needs specc to load. For
inference a batchnorm only reads its running statistics, and there Keras's own
`BatchNormalization` computes the same `(x - mean) / sqrt(var + eps) * gamma + beta`; so
the saved model swaps each `SpecBatchNorm` for a stock layer holding the same four arrays
(momentum converted to Keras's convention: `keras momentum = 1 - torch momentum`). Every
other layer is already stock and is shared, not copied. `keras.saving.load_model` then
loads `model.keras` without specc (tests/export/test_keras_portable.py checks it).

Importing this module imports TensorFlow/Keras: only the TensorFlow executor and
`specc export` do.
"""

from __future__ import annotations

import keras

from specc.executors.tensorflow.graph import symbolic_inputs
from specc.executors.tensorflow.model import KerasModel, SpecBatchNorm

# Probability heads `predict` puts on a model whose loss takes logits (as in `train`).
HEADS: dict[str, str] = {"softmax": "softmax", "sigmoid": "sigmoid"}


def _stock_batchnorm(layer: SpecBatchNorm) -> keras.layers.BatchNormalization:
    stock = keras.layers.BatchNormalization(
        axis=-1,
        momentum=1.0 - layer.momentum,
        epsilon=layer.eps,
        name=layer.name,
    )
    stock.trainable = layer.trainable
    return stock


def stock_model(km: KerasModel, head: str | None = None, logits: bool = False) -> keras.Model:
    """The model with stock layers only and the trained weights: a `keras.Sequential` for
    a chain, a functional `keras.Model` wired like `km.model` for a graph.

    Default: every layer, the same outputs as `km.model` (the file `specc run` writes).
    `logits=True` stops before a final activation fused into the loss, and `head` then adds
    `softmax`/`sigmoid`: the outputs `specc predict` reports (what `specc export` writes).
    """
    count = km.train_layers if logits else len(km.layers)
    replaced: list[tuple[keras.layers.BatchNormalization, SpecBatchNorm]] = []

    def stock(layer: keras.layers.Layer) -> keras.layers.Layer:
        """The layer itself, or a stock copy of a batchnorm (each is called once)."""
        if not isinstance(layer, SpecBatchNorm):
            return layer
        replaced.append((_stock_batchnorm(layer), layer))
        return replaced[-1][0]

    tail = [] if head is None else [keras.layers.Activation(HEADS[head], name=f"predict_{head}")]
    source = km.model
    if km.wiring is None:
        layers = [stock(layer) for layer in km.layers[:count]]
        given = keras.Input(shape=source.input_shape[1:], dtype=km.input_dtype)
        model = keras.Sequential([given, *layers, *tail], name=source.name)
    else:
        x = symbolic_inputs(km.wiring, tuple(source.inputs[0].shape[1:]), km.input_dtype)
        out = km.wiring.run(x, lambda layer, y: stock(layer)(y))
        if km.wiring.outputs:  # several outputs: a dict, each with its own head
            heads = {} if logits else km.heads
            out = {k: heads[k](v) if k in heads else v for k, v in out.items()}
        for layer in [] if km.wiring.outputs else [*km.layers[km.train_layers : count], *tail]:
            out = layer(out)
        model = keras.Model(x, out, name=source.name)
    for stock_layer, spec in replaced:
        stock_layer.set_weights(
            [v.numpy() for v in (spec.gamma, spec.beta, spec.moving_mean, spec.moving_variance)]
        )
    return model
