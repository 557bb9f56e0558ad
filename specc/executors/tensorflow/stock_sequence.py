"""The sequence layers of the TensorFlow backend as stock Keras, for the files other programs load.

Training uses layers of our own (`sequence`, `attention`) that hold PyTorch's arrays one to
one and are given the padding mask explicitly. A saved model must load without specc, so
`portable.stock_model` calls, for each of them, the converter here: stock Keras layers
holding the same arrays (re-laid out) and `keras.ops` on the way (a functional model keeps
both; neither needs specc, nor `safe_mode=False`). The mask is computed in the graph from the
ids (`ids != pad`, `padding_mask`) and passed explicitly where `KerasModel.forward` passes it
(`takes_mask`); Keras's implicit mask propagation is cut after every layer that would
attach one (`_unmasked`), so no stock layer acts on a mask the run did not give it
(docs/semantics.md#masking). Per kind:

- `position_embedding`: a stock `Embedding(L, D)` over the positions 0..L-1 (counted from
  the input, so the batch size is free), added; `sinusoidal`: the fixed table as a constant.
- `lstm`/`gru`: `keras.layers.LSTM`/`GRU(reset_after=True)`, `Bidirectional` for both
  directions, one per stacked layer; the LSTM's one bias is `bias + recurrent_bias` (the
  same sum every step), the GRU keeps both as its (2, 3H) bias. Masked: padded steps keep
  the state and output zeros (`zero_output_for_mask=True`) and cuDNN is off
  (`use_cudnn=False`: Keras's cuDNN path refuses padding anywhere but at the end).
- `attention`: `MultiHeadAttention(heads, D/heads)` with the padding mask as
  `attention_mask` (keys only: padded queries are computed as the run does) and
  `use_causal_mask`; its dropout is 0 in the file, because Keras's masked-softmax path
  (taken with dropout) gives a query that sees no key zero weights where the run gives
  uniform ones (the dot-product path, taken without, gives uniform ones as the run does).
- `transformer_encoder`: that attention, `Add`, `LayerNormalization(epsilon=eps)` and two
  `Dense` in PyTorch's pre/post order (dropout is off at inference: left out).
- `global_avgpool`/`global_maxpool` over a masked sequence and `last` with a mask: `keras.ops`
  (Keras's masked average divides by zero for an example that is all padding, and its max
  pool ignores masks); unmasked: `GlobalAveragePooling1D`/`GlobalMaxPooling1D`, and the
  last step by `ops.take`.

Importing this module imports Keras: only the TensorFlow executor and `specc export` do.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import keras
import numpy as np
from keras import ops

from specc.executors.tensorflow import attention as A
from specc.executors.tensorflow import sequence as S
from specc.ir.sequence import sinusoid

Converter = Callable[[Any, Any, Any], Any]
"""(our layer, its symbolic input, the padding mask or None) -> the symbolic output."""

LOWEST = float(np.finfo(np.float32).min)  # a masked max pool's filler (finite: JSON-safe)


def _name(layer: keras.layers.Layer, role: str) -> str:
    return f"{layer.name}-{role}"  # as model.helper_name: apart from every spec name


def _numpy(variable: Any) -> np.ndarray:
    return np.asarray(variable.numpy())


def padding_mask(ids: Any, pad: int) -> Any:
    """(N, L) bool, True at a token: the run's `ids != pad`."""
    return ops.not_equal(ids, pad)


def _unmasked(x: Any) -> Any:
    """`x` without the Keras mask a stock layer attached (an identity op carries none)."""
    return ops.copy(x) if getattr(x, "_keras_mask", None) is not None else x


def _positions(x: Any) -> Any:
    """(N, L) int32: 0..L-1 in each row of an (N, L, D) sequence."""
    ones = ops.ones_like(ops.sum(x, axis=-1), dtype="int32")
    return ops.subtract(ops.cumsum(ones, axis=1), 1)


def _position_embedding(layer: S.PositionEmbedding, x: Any, mask: Any) -> Any:
    table = _numpy(layer.embeddings)
    stock = keras.layers.Embedding(*table.shape, name=layer.name)
    added = keras.layers.Add(name=_name(layer, "add"))([x, stock(_positions(x))])
    stock.set_weights([table])
    stock.trainable = layer.trainable
    return added


def _sinusoidal(layer: S.SinusoidalPositions, x: Any, mask: Any) -> Any:
    length, dim = int(x.shape[1]), int(x.shape[2])
    return ops.add(x, np.asarray(sinusoid(length, dim), dtype=np.float32))


def _last(layer: S.LastStep, x: Any, mask: Any) -> Any:
    if mask is None:
        return ops.take(x, int(x.shape[1]) - 1, axis=1)
    index = ops.max(ops.where(mask, _positions(x), -1), axis=1)  # (N,): -1 if all padding
    where = ops.expand_dims(ops.expand_dims(ops.maximum(index, 0), -1), -1)
    picked = ops.squeeze(ops.take_along_axis(x, where, axis=1), axis=1)
    return ops.multiply(picked, ops.expand_dims(ops.cast(ops.greater_equal(index, 0), x.dtype), -1))


UNMASKED_POOLS = {
    "avg": keras.layers.GlobalAveragePooling1D,
    "max": keras.layers.GlobalMaxPooling1D,
}


def _pool(layer: S.SequencePool, x: Any, mask: Any) -> Any:
    if mask is None:
        return UNMASKED_POOLS[layer.how](name=layer.name)(x)
    keep = ops.expand_dims(mask, -1)  # (N, L, 1)
    if layer.how == "avg":
        weight = ops.cast(keep, x.dtype)
        count = ops.maximum(ops.sum(weight, axis=1), 1.0)
        return ops.divide(ops.sum(ops.multiply(x, weight), axis=1), count)
    top = ops.max(ops.where(keep, x, LOWEST), axis=1)
    return ops.where(ops.any(keep, axis=1), top, ops.zeros_like(top))


# cell -> (Keras's layer, its extra arguments, our two biases as its bias)
STOCK_RNN: dict[
    str, tuple[type, dict[str, Any], Callable[[np.ndarray, np.ndarray], np.ndarray]]
] = {
    "lstm": (keras.layers.LSTM, {}, lambda b, rb: b + rb),  # one bias, added every step
    "gru": (keras.layers.GRU, {"reset_after": True}, lambda b, rb: np.stack([b, rb])),
}


def _rnn_arrays(layer: S.Recurrent, suffix: str) -> list[np.ndarray]:
    """Our arrays (Keras's gate order already) as the stock layer's."""
    kernel, recurrent, bias, recurrent_bias = (
        _numpy(getattr(layer, name + suffix)) for name in S.ARRAYS
    )
    return [kernel, recurrent, STOCK_RNN[layer.cell][2](bias, recurrent_bias)]


def _recurrent(layer: S.Recurrent, x: Any, mask: Any) -> Any:
    cls, extra, _ = STOCK_RNN[layer.cell]
    for k in range(layer.layers):
        sequences = layer.sequences or k < layer.layers - 1
        name = layer.name if k == 0 else _name(layer, f"l{k}")
        rnn = cls(
            layer.units,
            return_sequences=sequences,
            zero_output_for_mask=sequences,
            use_cudnn="auto" if mask is None else False,
            name=name if not layer.bidirectional else f"{name}-cell",
            **extra,
        )
        stock = keras.layers.Bidirectional(rnn, name=name) if layer.bidirectional else rnn
        x = _unmasked(stock(x, mask=mask))
        directions = [stock.forward_layer, stock.backward_layer] if layer.bidirectional else [stock]
        for built, suffix in zip(directions, layer._suffixes(k), strict=True):
            built.set_weights(_rnn_arrays(layer, suffix))
            built.trainable = layer.trainable
    return x


def _attention_weights(
    arrays: tuple[np.ndarray, ...], heads: int
) -> list[tuple[str, list[np.ndarray]]]:
    """Our (in_proj (D, 3D), in_proj_bias, out_proj (D, D), out_proj_bias), `x @ W` layout,
    as MultiHeadAttention's query/key/value kernels (D, heads, D/heads) with biases
    (heads, D/heads) and output kernel (heads, D/heads, D) with bias (D,)."""
    in_w, in_b, out_w, out_b = arrays
    d = out_b.shape[0]
    names = ("query_dense", "key_dense", "value_dense")
    parts = zip(names, np.split(in_w, 3, axis=1), np.split(in_b, 3), strict=True)
    out = [
        (name, [w.reshape(d, heads, d // heads), b.reshape(heads, d // heads)])
        for name, w, b in parts
    ]
    return [*out, ("output_dense", [out_w.reshape(heads, d // heads, d), out_b])]


def _attend(
    name: str,
    heads: int,
    causal: bool,
    arrays: tuple[np.ndarray, ...],
    x: Any,
    mask: Any,
    trainable: bool = True,
) -> Any:
    d = int(x.shape[-1])
    mha = keras.layers.MultiHeadAttention(heads, d // heads, dropout=0.0, name=name)
    visible = None if mask is None else ops.expand_dims(mask, 1)  # (N, 1, L): the keys
    out = mha(x, x, attention_mask=visible, use_causal_mask=causal)
    for part, values in _attention_weights(arrays, heads):
        getattr(mha, part).set_weights(values)
    mha.trainable = trainable
    return out


def _self_attention(layer: A.SelfAttention, x: Any, mask: Any) -> Any:
    arrays = tuple(_numpy(getattr(layer, name)) for name in A.ATTENTION_ARRAYS)
    return _attend(layer.name, layer.heads, layer.causal, arrays, x, mask, layer.trainable)


def _transformer(layer: A.TransformerEncoder, x: Any, mask: Any) -> Any:
    def array(name: str) -> np.ndarray:
        return _numpy(getattr(layer, name))

    attention = tuple(array("self_attn_" + name) for name in A.ATTENTION_ARRAYS)
    d = int(x.shape[-1])
    norms = []
    for k in (1, 2):
        norm = keras.layers.LayerNormalization(epsilon=layer.eps, name=_name(layer, f"norm{k}"))
        norms.append((norm, [array(f"norm{k}_weight"), array(f"norm{k}_bias")]))
    linear1 = keras.layers.Dense(
        layer.ff, activation=layer.activation, name=_name(layer, "linear1")
    )
    linear2 = keras.layers.Dense(d, name=_name(layer, "linear2"))
    norm1, norm2 = norms[0][0], norms[1][0]

    def attend(t: Any) -> Any:
        name = _name(layer, "self_attn")
        return _attend(name, layer.heads, layer.causal, attention, t, mask, layer.trainable)

    add1, add2 = (keras.layers.Add(name=_name(layer, f"add{k}")) for k in (1, 2))
    if layer.norm == "pre":
        x = add1([x, attend(norm1(x))])
        x = add2([x, linear2(linear1(norm2(x)))])
    else:
        x = norm1(add1([x, attend(x)]))
        x = norm2(add2([x, linear2(linear1(x))]))
    for built, values in [
        *norms,
        (linear1, [array("linear1_weight"), array("linear1_bias")]),
        (linear2, [array("linear2_weight"), array("linear2_bias")]),
    ]:
        built.set_weights(values)
        built.trainable = layer.trainable
    return x


CONVERTERS: dict[type, Converter] = {
    S.PositionEmbedding: _position_embedding,
    S.SinusoidalPositions: _sinusoidal,
    S.LastStep: _last,
    S.SequencePool: _pool,
    S.Recurrent: _recurrent,
    A.SelfAttention: _self_attention,
    A.TransformerEncoder: _transformer,
}
