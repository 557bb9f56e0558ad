"""The prediction head: which final activation a loss computes from logits.

A model ending in `softmax` trained with a cross-entropy trains without that softmax (the
loss applies it, in a numerically stable form) and applies it only for predictions
(docs/semantics.md#losses). Which loss absorbs which activation is a fact of the loss
class (`Loss.takes_logits_of`).
"""

from __future__ import annotations

from typing import Literal

from specc.ir.layers import Activation, Layer
from specc.ir.losses import Loss
from specc.shapes import ModelShapes

Head = Literal["softmax", "sigmoid"]


def final_activation_node(shapes: ModelShapes) -> Layer | None:
    """The activation producing the model's output (a layer or a `dense ... act` argument),
    if its last layer is or has one."""
    info = shapes.last
    if info is None:
        return None
    last = info.layer
    return last if isinstance(last, Activation) else last.fused_activation()


def output_activation(shapes: ModelShapes) -> Layer | None:
    """The activation that shapes the model's output for the lints: the last one written,
    unless a layer with an activation argument (dense, a convolution) comes after it.
    Unlike `final_activation_node` it looks through layers that keep values' meaning
    (dropout, flatten): `softmax; dropout` still outputs probabilities, though only a
    literally last softmax can be fused into the loss."""
    for info in reversed(shapes.layers):
        layer = info.layer
        if isinstance(layer, Activation):
            return layer
        if layer.takes_activation:
            return layer.fused_activation()
    return None


def final_activation(shapes: ModelShapes) -> str | None:
    """Kind of the model's last activation, whether a layer or a `dense ... act` argument."""
    node = final_activation_node(shapes)
    return node.kind_name() if node is not None else None


def prediction_head(shapes: ModelShapes, loss: Loss) -> Head | None:
    """The final activation removed for training because the loss takes logits, if any."""
    wanted = type(loss).takes_logits_of
    if wanted is not None and final_activation(shapes) == wanted:
        return wanted
    return None


def probability_head(loss: Loss) -> Head | None:
    """What predictions apply to the model's training outputs: the activation the loss
    takes logits for (whether the spec wrote it or not), else nothing."""
    return type(loss).takes_logits_of


def logits_loss(loss: Loss) -> bool:
    """Cross-entropies are computed from logits whether or not an activation was fused."""
    return type(loss).takes_logits_of is not None
