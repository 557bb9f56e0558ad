"""Self-attention over (L, D) token sequences: `attention` and the `transformer_encoder`
block (docs/semantics.md#sequences). Both honour the padding mask and pass it on
(specc/ir/sequence.py); arrays keep PyTorch's names (`nn.MultiheadAttention`,
`nn.TransformerEncoderLayer`).
"""

from __future__ import annotations

from typing import Literal

from specc.diagnostics import SpecError
from specc.ir.inits import GlorotUniform, Ones, Zeros
from specc.ir.layer import Shape, Weight
from specc.ir.sequence import Sequential, need_sequence
from specc.ir.spaces import OpenUnitFloat, PositiveFloat, PositiveInt


def attention_weights(prefix: str, d: int) -> tuple[Weight, ...]:
    """`nn.MultiheadAttention`'s arrays: query, key and value stacked in `in_proj_*`."""
    return (
        Weight(f"{prefix}in_proj_weight", (3 * d, d), "matrix", GlorotUniform()),
        Weight(f"{prefix}in_proj_bias", (3 * d,), "vector", Zeros()),
        Weight(f"{prefix}out_proj.weight", (d, d), "matrix", GlorotUniform()),
        Weight(f"{prefix}out_proj.bias", (d,), "vector", Zeros()),
    )


class SelfAttending(Sequential):
    """Base of the attention kinds: (L, D) -> (L, D), `heads` must divide D."""

    keeps_mask = True
    honours_mask = True

    def infer(self, shape: Shape) -> Shape:
        need_sequence(self, shape)
        heads = int(self.heads)  # type: ignore[attr-defined]
        if shape[-1] % heads:
            raise SpecError(
                "E402",
                f"`{self.kind_name()}` splits the width {shape[-1]} into {heads} heads, "
                "which does not divide it",
                self.where("heads"),
                help=f"use a number of heads that divides {shape[-1]}",
            )
        return shape

    def attention_flops(self, shape: Shape) -> int:
        length, d = shape
        return 2 * length * 4 * d * d + 4 * length * length * d


class Attention(SelfAttending):
    """Multi-head self-attention over (L, D) (PyTorch nn.MultiheadAttention, batch first).

    D is the total width, split into `heads` heads of D/heads each (PyTorch's convention;
    Keras's `key_dim` is per head). Arrays: `in_proj_weight` (3D, D) and `in_proj_bias`
    (3D,) for query, key and value in that order, `out_proj.weight` (D, D), `out_proj.bias`.
    Padded keys get no attention; `causal` hides later positions.
    """

    kind: Literal["attention"] = "attention"
    positional = ("heads",)
    aliases = ("self_attention", "multihead_attention", "multi_head_attention")
    arg_aliases = {"num_heads": "heads"}
    dropout_fields = ("dropout",)

    heads: PositiveInt = 1
    """Number of heads; must divide the width D."""
    causal: bool = False
    """Each position attends only to itself and earlier ones."""
    dropout: OpenUnitFloat = 0.0
    """Dropout on the attention weights while training."""

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        return attention_weights("", shape[-1])

    def flops(self, shape: Shape, out: Shape) -> int:
        return self.attention_flops(shape)


class TransformerEncoder(SelfAttending):
    """One transformer encoder block over (L, D) (PyTorch nn.TransformerEncoderLayer).

    `norm=post` (PyTorch's default, the original paper, keras-io's example):
    `x = norm1(x + drop(attn(x)))`, `x = norm2(x + drop(ff(x)))`; `norm=pre` (most
    recent recipes): `x = x + drop(attn(norm1(x)))`, `x = x + drop(ff(norm2(x)))`, with
    `ff(x) = linear2(drop(act(linear1(x))))` of width `ff` and layer norms over D.
    """

    kind: Literal["transformer_encoder"] = "transformer_encoder"
    aliases = ("transformer", "transformer_block", "transformerencoderlayer")
    arg_aliases = {
        "num_heads": "heads",
        "nhead": "heads",
        "dim_feedforward": "ff",
        "ff_dim": "ff",
        "rate": "dropout",
        "epsilon": "eps",
        "layer_norm_eps": "eps",
    }
    dropout_fields = ("dropout",)

    heads: PositiveInt = 1
    """Number of attention heads; must divide the width D."""
    ff: PositiveInt
    """Width of the feed-forward layer."""
    norm: Literal["pre", "post"] = "post"
    """Where the layer norms sit: after each residual sum (post) or before each sublayer."""
    dropout: OpenUnitFloat = 0.1
    """Dropout on the attention weights, inside the feed-forward and on each sublayer's
    output while training (PyTorch's default 0.1)."""
    activation: Literal["relu", "gelu"] = "relu"
    """The feed-forward activation."""
    causal: bool = False
    """Each position attends only to itself and earlier ones."""
    eps: PositiveFloat = 1e-5
    """Added to the variance in the layer norms."""

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        d, ff = shape[-1], int(self.ff)
        return (
            *attention_weights("self_attn.", d),
            Weight("linear1.weight", (ff, d), "matrix", GlorotUniform()),
            Weight("linear1.bias", (ff,), "vector", Zeros()),
            Weight("linear2.weight", (d, ff), "matrix", GlorotUniform()),
            Weight("linear2.bias", (d,), "vector", Zeros()),
            Weight("norm1.weight", (d,), "vector", Ones()),
            Weight("norm1.bias", (d,), "vector", Zeros()),
            Weight("norm2.weight", (d,), "vector", Ones()),
            Weight("norm2.bias", (d,), "vector", Zeros()),
        )

    def flops(self, shape: Shape, out: Shape) -> int:
        length, d = shape
        return self.attention_flops(shape) + 4 * length * d * int(self.ff) + 10 * length * d
