"""The sequence kinds (specc/ir/sequence.py) as torch modules, and the mask's path.

Every module keeps PyTorch's own parameter names, which are the neutral ones
(`lstm_1.weight_ih_l0`, `attention_1.in_proj_weight`). Sequences are (N, L, D), batch
first. `MaskedSequential` is the network: when the first layer is an `embedding` with a
`pad` id it computes the mask (ids != pad) and hands it to the children the IR's
`mask_reaches` chose (they carry `takes_mask`). Importing this module imports torch.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from specc.executors.torch.steps import masked_steps
from specc.ir import attention as A
from specc.ir import conv as C
from specc.ir import sequence as S
from specc.shapes import LayerInfo

# Scores of the positions a query may not see: a large finite number, not -inf, so a query
# that sees nothing (a fully padded example) gets uniform weights, not NaN, on every backend.
HIDDEN = -1e9


class MaskedSequential(nn.Sequential):
    """`nn.Sequential` that also passes the padding mask (N, L) to the children marked
    `takes_mask` (docs/semantics.md#masking)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        mask = None
        for module in self:
            if isinstance(module, TokenEmbedding) and module.pad is not None:
                mask = x != module.pad
            x = module(x, mask) if getattr(module, "takes_mask", False) else module(x)
        return x


class TokenEmbedding(nn.Embedding):
    """nn.Embedding without `padding_idx` (the pad row trains like any other), remembering
    the pad id for the mask."""

    def __init__(self, vocab: int, dim: int, pad: int | None) -> None:
        super().__init__(vocab, dim)
        self.pad = pad


class PositionEmbedding(nn.Module):
    """x + a learned (L, D) table."""

    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.zeros(length, dim))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.weight


class SinusoidalPositions(nn.Module):
    """x + the fixed table of `specc.ir.sequence.sinusoid` (a buffer, not in the weights)."""

    table: torch.Tensor

    def __init__(self, length: int, dim: int) -> None:
        super().__init__()
        table = torch.tensor(S.sinusoid(length, dim), dtype=torch.float32)
        self.register_buffer("table", table, persistent=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.table


class LastStep(nn.Module):
    """(N, L, D) -> (N, D): the last step, or with the mask the last unpadded one (zeros
    for an all-padding example)."""

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return x[:, -1]
        steps = torch.arange(x.shape[1], device=x.device)
        index = torch.where(mask, steps, -1).amax(dim=1)  # (N,): -1 when all padding
        picked = x[torch.arange(x.shape[0], device=x.device), index.clamp(min=0)]
        return picked * (index >= 0)[:, None].to(x.dtype)


class TimeMajorConv1d(nn.Conv1d):
    """nn.Conv1d along L of (N, L, D) (D channels): transposed to (N, D, L) and back."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class TimeMajorMaxPool1d(nn.MaxPool1d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


class TimeMajorAvgPool1d(nn.AvgPool1d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(x.transpose(1, 2)).transpose(1, 2)


TIME_MAJOR: dict[type[nn.Module], type[nn.Module]] = {
    nn.Conv1d: TimeMajorConv1d,
    nn.MaxPool1d: TimeMajorMaxPool1d,
    nn.AvgPool1d: TimeMajorAvgPool1d,
}
"""The 1-D kinds over an (L, D) token sequence (docs/semantics.md#sequences)."""


def _position_embedding(info: LayerInfo) -> nn.Module:
    layer = info.layer
    assert isinstance(layer, S.PositionEmbedding)
    kind = SinusoidalPositions if layer.sinusoidal else PositionEmbedding
    return kind(*info.input)


def _last(state: torch.Tensor, bidirectional: bool) -> torch.Tensor:
    """The final hidden state (layers*dirs, N, H) of the last layer as (N, H*dirs), forward
    first."""
    if bidirectional:
        return torch.cat([state[-2], state[-1]], dim=-1)
    return state[-1]


def unpadded_steps(
    run: Callable[[Any], Any], x: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, Any]:
    """`run` (an RNN's own forward) over the unpadded steps of each example only (docs/semantics.md#masking).

    The unpadded steps are moved to the front in order (wherever the padding was), packed
    with their lengths (`pack_padded_sequence`), run, and the outputs put back where they
    came from: zeros at padded steps. An all-padding example runs one step that is then
    discarded: its outputs and final state are zeros, the initial state.
    """
    n, length, width = x.shape
    lengths = mask.sum(dim=1)
    order = torch.sort((~mask).to(torch.uint8), dim=1, stable=True).indices  # unpadded first
    compact = x.gather(1, order[..., None].expand(n, length, width))
    packed = pack_padded_sequence(
        compact, lengths.clamp(min=1).cpu(), batch_first=True, enforce_sorted=False
    )
    out, state = run(packed)
    out, _ = pad_packed_sequence(out, batch_first=True, total_length=length)
    keep = mask[..., None].to(out.dtype)
    out = torch.zeros_like(out).scatter(1, order[..., None].expand_as(out), out) * keep
    some = (lengths > 0).to(out.dtype)[None, :, None]  # (1, N, 1)
    if isinstance(state, tuple):
        return out, tuple(s * some for s in state)
    return out, state * some


class Recurrent:
    """What `LSTM` and `GRU` add to nn.LSTM / nn.GRU (batch first, `num_layers`, `dropout`
    between layers): every step's output or the final hidden state; given the padding mask,
    padded steps are skipped (`unpadded_steps`; `masked_steps`, a step loop torch.export
    can trace, while `stepwise` is set: what `specc export` writes)."""

    sequences: bool
    bidirectional: bool
    stepwise: bool = False

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        run = super().forward  # type: ignore[misc]
        if mask is None:
            out, state = run(x)
        elif self.stepwise:
            out, state = masked_steps(self, x, mask)  # type: ignore[arg-type]
        else:
            out, state = unpadded_steps(run, x, mask)
        if self.sequences:
            return out  # type: ignore[no-any-return]
        return _last(state[0] if isinstance(state, tuple) else state, self.bidirectional)


def _options(layer: S.Recurrent) -> dict[str, Any]:
    return {
        "num_layers": layer.depth,
        "dropout": float(layer.dropout),  # type: ignore[attr-defined]
        "batch_first": True,
        "bidirectional": bool(layer.bidirectional),  # type: ignore[attr-defined]
    }


class LSTM(Recurrent, nn.LSTM):  # type: ignore[misc]
    def __init__(self, inputs: int, layer: S.Recurrent) -> None:
        nn.LSTM.__init__(self, inputs, int(layer.units), **_options(layer))  # type: ignore[attr-defined]
        self.sequences = bool(layer.sequences)  # type: ignore[attr-defined]


class GRU(Recurrent, nn.GRU):  # type: ignore[misc]
    def __init__(self, inputs: int, layer: S.Recurrent) -> None:
        nn.GRU.__init__(self, inputs, int(layer.units), **_options(layer))  # type: ignore[attr-defined]
        self.sequences = bool(layer.sequences)  # type: ignore[attr-defined]


class SelfAttention(nn.MultiheadAttention):
    """Self-attention with nn.MultiheadAttention's parameters, computed in the open so the
    masking rule is exactly docs/semantics.md#masking on every backend."""

    def __init__(self, dim: int, heads: int, causal: bool, dropout: float) -> None:
        super().__init__(dim, heads, dropout=dropout, batch_first=True)
        self.causal = causal

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:  # type: ignore[override]
        n, length, dim = x.shape
        heads = self.num_heads
        qkv = F.linear(x, self.in_proj_weight, self.in_proj_bias)  # (N, L, 3D)
        q, k, v = (
            t.reshape(n, length, heads, dim // heads).transpose(1, 2) for t in qkv.chunk(3, -1)
        )
        scores = q @ k.transpose(-2, -1) / math.sqrt(dim // heads)  # (N, heads, L, L)
        visible = attention_visible(mask, length, self.causal, x.device)
        if visible is not None:
            scores = scores.masked_fill(~visible, HIDDEN)
        weights = F.dropout(scores.softmax(-1), self.dropout, self.training)
        out = (weights @ v).transpose(1, 2).reshape(n, length, dim)
        return self.out_proj(out)


def attention_visible(
    mask: torch.Tensor | None, length: int, causal: bool, device: torch.device
) -> torch.Tensor | None:
    """(N or 1, 1, L, L) booleans: which key each query may see."""
    visible = None
    if mask is not None:
        visible = mask[:, None, None, :]
    if causal:
        lower = torch.ones(length, length, dtype=torch.bool, device=device).tril()[None, None]
        visible = lower if visible is None else visible & lower
    return visible


class TransformerEncoder(nn.Module):
    """nn.TransformerEncoderLayer's children and parameter names (`self_attn`, `linear1`,
    `linear2`, `norm1`, `norm2`), computed with our attention (docs/semantics.md#masking)."""

    def __init__(self, dim: int, layer: A.TransformerEncoder) -> None:
        super().__init__()
        rate = float(layer.dropout)
        self.self_attn = SelfAttention(dim, int(layer.heads), layer.causal, rate)
        self.linear1 = nn.Linear(dim, int(layer.ff))
        self.dropout = nn.Dropout(rate)
        self.linear2 = nn.Linear(int(layer.ff), dim)
        self.norm1 = nn.LayerNorm(dim, eps=float(layer.eps))
        self.norm2 = nn.LayerNorm(dim, eps=float(layer.eps))
        self.dropout1 = nn.Dropout(rate)
        self.dropout2 = nn.Dropout(rate)
        self.activation = nn.ReLU() if layer.activation == "relu" else nn.GELU()
        self.pre = layer.norm == "pre"

    def _ff(self, x: torch.Tensor) -> torch.Tensor:
        return self.dropout2(self.linear2(self.dropout(self.activation(self.linear1(x)))))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if self.pre:
            x = x + self.dropout1(self.self_attn(self.norm1(x), mask))
            return x + self._ff(self.norm2(x))
        x = self.norm1(x + self.dropout1(self.self_attn(x, mask)))
        return self.norm2(x + self._ff(x))


class GlobalPool(nn.Module):
    """Mean or max over positions: (N, C, *S) -> (N, C), or over L of (N, L, D) -> (N, D),
    there without the padded positions (none left: 0)."""

    def __init__(self, how: str, rank: int, time_major: bool) -> None:
        super().__init__()
        self.how = how
        self.dims = (1,) if time_major else tuple(range(2, rank + 1))

    def forward(self, x: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
        if mask is None:
            return x.mean(dim=self.dims) if self.how == "avg" else x.amax(dim=self.dims)
        keep = mask[..., None]  # (N, L, 1)
        if self.how == "avg":
            count = keep.sum(dim=1).clamp(min=1).to(x.dtype)
            return (x * keep).sum(dim=1) / count
        top = x.masked_fill(~keep, float("-inf")).amax(dim=1)
        return torch.where(keep.any(dim=1), top, torch.zeros_like(top))


def global_pool(how: str) -> Callable[[LayerInfo], nn.Module]:
    return lambda info: GlobalPool(how, len(info.input), S.is_sequence(info.input))


def _recurrent(kind: type[LSTM | GRU]) -> Callable[[LayerInfo], nn.Module]:
    def build(info: LayerInfo) -> nn.Module:
        assert isinstance(info.layer, S.Recurrent)
        return kind(info.input[-1], info.layer)

    return build


def _embedding(info: LayerInfo) -> nn.Module:
    layer = info.layer
    assert isinstance(layer, S.Embedding)
    return TokenEmbedding(int(layer.vocab), int(layer.dim), layer.pad)


def _attention(info: LayerInfo) -> nn.Module:
    layer = info.layer
    assert isinstance(layer, A.Attention)
    return SelfAttention(info.input[-1], int(layer.heads), layer.causal, float(layer.dropout))


def _transformer(info: LayerInfo) -> nn.Module:
    layer = info.layer
    assert isinstance(layer, A.TransformerEncoder)
    return TransformerEncoder(info.input[-1], layer)


LAYERS: dict[type, Callable[[LayerInfo], nn.Module]] = {
    S.Embedding: _embedding,
    S.PositionEmbedding: _position_embedding,
    S.LastStep: lambda info: LastStep(),
    S.LSTM: _recurrent(LSTM),
    S.GRU: _recurrent(GRU),
    A.Attention: _attention,
    A.TransformerEncoder: _transformer,
    C.GlobalMaxPool: global_pool("max"),
}
