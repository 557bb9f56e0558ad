"""Losses. Cross-entropies are computed from logits: see docs/semantics.md#losses."""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field

from specc.ir.base import Node
from specc.ir.spaces import PositiveFloat, UnitFloat

# What a loss expects as target: class indices, one-hot rows, 0/1 values, or real numbers.
Target = Literal["class", "onehot", "binary", "real"]


class Loss(Node):
    """Base of every loss; `target` says what labels it expects (used by lints)."""

    target: ClassVar[Target] = "real"
    takes_logits_of: ClassVar[Literal["softmax", "sigmoid"] | None] = None
    """The final activation this loss computes from logits: a model ending in it trains
    without it and applies it for predictions only (docs/semantics.md#losses)."""


class SparseCategoricalCrossentropy(Loss):
    """Cross-entropy against integer class labels (PyTorch CrossEntropyLoss)."""

    kind: Literal["sparse_categorical_crossentropy"] = "sparse_categorical_crossentropy"
    aliases = ("cross_entropy", "crossentropy", "sparse_ce", "ce")
    target = "class"
    takes_logits_of = "softmax"
    arg_aliases = {"ignore_index": "ignore", "ignore_class": "ignore"}

    label_smoothing: UnitFloat = 0.0
    """Mix this much of the uniform distribution into the targets."""
    ignore: int | None = None
    """A target id that counts for nothing (PyTorch's `ignore_index`, Keras's
    `ignore_class`), e.g. `ignore=0` for padded positions of per-token targets: the loss and
    `perplexity` average over the other targets only (docs/semantics.md#per-token)."""


class CategoricalCrossentropy(Loss):
    """Cross-entropy against one-hot (or soft) label rows."""

    kind: Literal["categorical_crossentropy"] = "categorical_crossentropy"
    aliases = ("categorical_ce",)
    target = "onehot"
    takes_logits_of = "softmax"

    label_smoothing: UnitFloat = 0.0
    """Mix this much of the uniform distribution into the targets."""


class BinaryCrossentropy(Loss):
    """Binary cross-entropy against 0/1 targets, from logits (PyTorch BCEWithLogitsLoss)."""

    kind: Literal["binary_crossentropy"] = "binary_crossentropy"
    aliases = ("bce", "binary_cross_entropy")
    target = "binary"
    takes_logits_of = "sigmoid"

    label_smoothing: UnitFloat = 0.0
    """Pull targets towards 0.5 by this much."""


class NLL(Loss):
    """Negative log-likelihood of log-probabilities (after `log_softmax`)."""

    kind: Literal["nll"] = "nll"
    aliases = ("nll_loss", "negative_log_likelihood")
    target = "class"


class MSE(Loss):
    """Mean squared error."""

    kind: Literal["mse"] = "mse"
    aliases = ("mean_squared_error", "l2")


class MAE(Loss):
    """Mean absolute error."""

    kind: Literal["mae"] = "mae"
    aliases = ("mean_absolute_error", "l1")


class Huber(Loss):
    """Quadratic below `delta`, linear above (PyTorch HuberLoss, Keras Huber)."""

    kind: Literal["huber"] = "huber"
    positional = ("delta",)
    aliases = ("smooth_l1", "huber_loss")

    delta: PositiveFloat = 1.0
    """Where the loss turns from quadratic to linear."""


AnyLoss = Annotated[
    Union[
        SparseCategoricalCrossentropy,
        CategoricalCrossentropy,
        BinaryCrossentropy,
        NLL,
        MSE,
        MAE,
        Huber,
    ],
    Field(discriminator="kind"),
]
