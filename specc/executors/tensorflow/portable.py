"""The trained Keras model as stock Keras layers only, for files other programs load.

Training uses `SpecBatchNorm` (PyTorch's running-statistics convention, see `model`), a
layer plain Keras does not know, so a `.keras` file holding it needs specc to load. For
inference a batchnorm only reads its running statistics, and there Keras's own
`BatchNormalization` computes the same `(x - mean) / sqrt(var + eps) * gamma + beta`; so
the saved model swaps each `SpecBatchNorm` for a stock layer holding the same four arrays
(momentum converted to Keras's convention: `keras momentum = 1 - torch momentum`). A text
model's sequence layers (`lstm`, `gru`, `attention`, `transformer_encoder`, positions, `last`,
pools over time) become stock layers and `keras.ops` (`stock_sequence`), given the padding
mask the saved graph computes from the ids, as the run gives it; such a chain is saved as a
functional model. Every other layer is already stock and is shared, not copied.
`keras.saving.load_model` then loads `model.keras` without specc
(tests/export/test_keras_portable.py and tests/export/test_keras_text.py check it).

Importing this module imports TensorFlow/Keras: only the TensorFlow executor and
`specc export` do.
"""

from __future__ import annotations

from typing import Any

import keras

from specc.executors.tensorflow.graph import symbolic_inputs
from specc.executors.tensorflow.model import KerasModel, SpecBatchNorm
from specc.executors.tensorflow.stock_sequence import CONVERTERS, padding_mask

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
    a chain, a functional `keras.Model` wired like `km.model` for a graph, and for a chain
    with sequence layers (their stock forms and `keras.ops` need the functional API; the
    padding mask is computed from the ids where `KerasModel.forward` computes it).

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

    def call(layer: keras.layers.Layer, y: Any, mask: Any = None) -> Any:
        """The layer's stock form called on `y` (a sequence layer with the mask it takes)."""
        convert = CONVERTERS.get(type(layer))
        if convert is not None:
            return convert(layer, y, mask if getattr(layer, "takes_mask", False) else None)
        return stock(layer)(y)

    tail = [] if head is None else [keras.layers.Activation(HEADS[head], name=f"predict_{head}")]
    source = km.model
    if km.wiring is None and not any(type(layer) in CONVERTERS for layer in km.layers):
        layers = [stock(layer) for layer in km.layers[:count]]
        given = keras.Input(shape=source.input_shape[1:], dtype=km.input_dtype)
        model = keras.Sequential([given, *layers, *tail], name=source.name)
    elif km.wiring is None:  # a chain with sequence layers: the mask as `forward` makes it
        x = keras.Input(shape=source.input_shape[1:], dtype=km.input_dtype)
        out, mask = x, None
        for layer in [*km.layers[:count], *tail]:
            pad = getattr(layer, "spec_pad", None)
            if pad is not None:
                mask = padding_mask(out, pad)
            out = call(layer, out, mask)
        model = keras.Model(x, out, name=source.name)
    else:
        x = symbolic_inputs(km.wiring, tuple(source.inputs[0].shape[1:]), km.input_dtype)
        out = km.wiring.run(x, call)  # graphs have no padding mask (`pad=` is refused)
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
