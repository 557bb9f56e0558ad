"""How each framework names and lays out an array of a given role: one table per framework.

The neutral layout (what `specc run` saves in weights.safetensors and what
specc/init_weights.py draws) is PyTorch's, so the torch table is the identity. A kernel is
(out, in, *window) there; Keras keeps (*window, in, out); MindSpore uses PyTorch's layout
with its own names for a norm's scale, shift and running statistics. The TensorFlow
executor and the keras/tensorflow/mindspore templates read these tables; nothing else
knows a framework's weight names or axis orders.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from specc.ir.layer import Weight, WeightRole

Shape = tuple[int, ...]


@dataclass(frozen=True)
class Native:
    """One array as a framework holds it."""

    name: str
    """The framework's name for the array in its layer (`kernel`, `gamma`)."""
    perm: Shape | None
    """numpy axes: native = neutral.transpose(perm); None when the layouts agree."""
    blocks: Shape | None = None
    """Gate blocks of the neutral axis 0, in the framework's order (taken before `perm`):
    Keras's GRU [z, r, h] from PyTorch's [r, z, n] is (1, 0, 2); None: the same order."""


Rule = Callable[[Weight, bool], Native]
"""(weight, computed channels-last?) -> how the framework holds it."""


def _same(name: str) -> Rule:
    return lambda weight, channels_last: Native(name, None)


def _keras_kernel(weight: Weight, channels_last: bool) -> Native:
    """(out, in, *window) -> (*window, in, out): Dense (1, 0), Conv2D (2, 3, 1, 0)."""
    rank = len(weight.shape)
    return Native("kernel", (*range(2, rank), 1, 0))


# Keras's gate order for each neutral (PyTorch) one: the LSTM's agree ([i, f, c, o]); the
# GRU's reset and update gates swap ([z, r, h]; docs/semantics.md#sequences).
KERAS_GATES: dict[tuple[str, ...], tuple[str, ...]] = {
    ("i", "f", "g", "o"): ("i", "f", "g", "o"),
    ("r", "z", "n"): ("z", "r", "n"),
}
_KERAS_GATE_NAMES = {
    "gate_kernel": "kernel",
    "gate_recurrent": "recurrent_kernel",
    "gate_bias": "bias",
    "gate_recurrent_bias": "recurrent_bias",
}


def _keras_gates(weight: Weight, channels_last: bool) -> Native:
    """`weight_ih_l0[_reverse]` (G*H, I) -> `kernel[_reverse]` (I, G*H) in Keras's gate
    order, stacked layer k > 0 `kernel_l{k}[_reverse]`; the biases only reorder."""
    reverse = weight.name.endswith("_reverse")
    layer = weight.name.removesuffix("_reverse").rsplit("_l", 1)[1]
    suffix = ("" if layer == "0" else f"_l{layer}") + ("_reverse" if reverse else "")
    order = KERAS_GATES[weight.gates]
    blocks = tuple(weight.gates.index(gate) for gate in order)
    perm = (1, 0) if len(weight.shape) == 2 else None
    return Native(_KERAS_GATE_NAMES[weight.role] + suffix, perm, blocks)


def _keras_own(weight: Weight, channels_last: bool) -> Native:
    """A `matrix` (out, in) -> (in, out), a `vector` as is, named after the neutral name
    (`self_attn.in_proj_weight` -> `self_attn_in_proj_weight` in our Keras layer)."""
    perm = (1, 0) if len(weight.shape) == 2 else None
    return Native(weight.name.replace(".", "_"), perm)


def _own_name(weight: Weight, channels_last: bool) -> Native:
    return Native(weight.name, None)


TORCH: dict[WeightRole, Rule] = {
    "kernel": _same("weight"),
    "bias": _same("bias"),
    "scale": _same("weight"),
    "shift": _same("bias"),
    "running_mean": _same("running_mean"),
    "running_var": _same("running_var"),
    **dict.fromkeys(
        (
            "gate_kernel",
            "gate_recurrent",
            "gate_bias",
            "gate_recurrent_bias",
            "matrix",
            "vector",
        ),
        _own_name,
    ),
    "embedding": _same("weight"),
}
KERAS: dict[WeightRole, Rule] = {
    "kernel": _keras_kernel,
    "bias": _same("bias"),
    "scale": _same("gamma"),
    "shift": _same("beta"),
    "running_mean": _same("moving_mean"),
    "running_var": _same("moving_variance"),
    "embedding": _same("embeddings"),
    "gate_kernel": _keras_gates,
    "gate_recurrent": _keras_gates,
    "gate_bias": _keras_gates,
    "gate_recurrent_bias": _keras_gates,
    "matrix": _keras_own,
    "vector": _keras_own,
}
# nn.TransformerEncoderLayer's parts under MindSpore's names: its feed-forward layers are
# `dense1`/`dense2` (PyTorch's `linear1`/`linear2`), its norms' arrays `gamma`/`beta`.
_MINDSPORE_PARTS = {
    "linear1.": "dense1.",
    "linear2.": "dense2.",
    "norm1.weight": "norm1.gamma",
    "norm1.bias": "norm1.beta",
    "norm2.weight": "norm2.gamma",
    "norm2.bias": "norm2.beta",
}


def _mindspore_own(weight: Weight, channels_last: bool) -> Native:
    """nn.MultiheadAttention's arrays keep PyTorch's names; nn.TransformerEncoderLayer's
    feed-forward and norm arrays are renamed (`linear1.weight` -> `dense1.weight`)."""
    name = weight.name
    for torch_name, mindspore_name in _MINDSPORE_PARTS.items():
        name = name.replace(torch_name, mindspore_name)
    return Native(name, None)


MINDSPORE: dict[WeightRole, Rule] = {
    "kernel": _same("weight"),
    "bias": _same("bias"),
    "scale": _same("gamma"),
    "shift": _same("beta"),
    "running_mean": _same("moving_mean"),
    "running_var": _same("moving_variance"),
    "embedding": _same("embedding_table"),
    # nn.LSTM/nn.GRU: PyTorch's names, layout and gate order
    **dict.fromkeys(
        ("gate_kernel", "gate_recurrent", "gate_bias", "gate_recurrent_bias"), _own_name
    ),
    "matrix": _mindspore_own,
    "vector": _mindspore_own,
}
FRAMEWORKS: dict[str, dict[WeightRole, Rule]] = {
    "torch": TORCH,
    "keras": KERAS,
    "mindspore": MINDSPORE,
}


def native(framework: str, weight: Weight, channels_last: bool = False) -> Native:
    """How `framework` names and lays out `weight`."""
    return FRAMEWORKS[framework][weight.role](weight, channels_last)
