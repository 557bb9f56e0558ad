"""A masked `nn.LSTM` / `nn.GRU` as a plain step loop, for the exporters.

Training skips padded steps with `pack_padded_sequence` (`sequence.unpadded_steps`), which
torch.export cannot trace. The exported model (`specc export`) runs the same recurrence
instead as a loop over the L positions with the module's own parameters, and gives the same
outputs (docs/semantics.md#masking): at a padded step the state (h, and c for the LSTM)
stays what it was and the output is zeros; the reverse direction walks the positions from
the last to the first under the same rule, so it meets each example's unpadded tokens in
reverse order, as the packed reverse direction does, wherever the padding sits. An
all-padding example keeps the zero initial state. The loop is `torch.ops.higher_order.scan`
(one step function per layer and direction, not unrolled: ONNX `Scan`), so the graph does
not grow with L; an unrolled loop took over ten minutes to export at L=200.
PyTorch's gate orders: LSTM `[i, f, g, o]`, GRU `[r, z, n]`. Importing this module
imports torch.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import torch
from torch import nn

State = tuple[torch.Tensor, ...]  # (h,) for a GRU, (h, c) for an LSTM; each (N, H)
Cell = Callable[[torch.Tensor, State, torch.Tensor], State]  # (gates from x_t, state, W_hh)


def _lstm_cell(given: torch.Tensor, state: State, hidden: torch.Tensor) -> State:
    _, c = state
    i, f, g, o = (given + hidden).chunk(4, dim=-1)
    c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    return torch.sigmoid(o) * torch.tanh(c), c


def _gru_cell(given: torch.Tensor, state: State, hidden: torch.Tensor) -> State:
    (h,) = state
    x_r, x_z, x_n = given.chunk(3, dim=-1)
    h_r, h_z, h_n = hidden.chunk(3, dim=-1)
    r = torch.sigmoid(x_r + h_r)
    z = torch.sigmoid(x_z + h_z)
    n = torch.tanh(x_n + r * h_n)
    return ((1 - z) * n + z * h,)


CELLS: dict[str, tuple[Cell, int]] = {"LSTM": (_lstm_cell, 2), "GRU": (_gru_cell, 1)}
"""`nn.RNNBase.mode` -> (one step, how many state tensors)."""


def _direction(
    rnn: nn.RNNBase, x: torch.Tensor, keep: torch.Tensor, layer: int, reverse: bool
) -> tuple[torch.Tensor, State]:
    """One layer, one direction over (N, L, D): its outputs (N, L, H) and final state."""
    try:  # a prototype API (torch >= 2.6; specc needs torch >= 2.2): exports are verified
        from torch._higher_order_ops.scan import scan
    except ImportError:
        raise RuntimeError(
            f"exporting a masked lstm/gru needs torch >= 2.6 (torch's scan), not {torch.__version__}"
        ) from None
    cell, count = CELLS[rnn.mode]
    suffix = f"_l{layer}" + ("_reverse" if reverse else "")
    w_ih, w_hh = getattr(rnn, f"weight_ih{suffix}"), getattr(rnn, f"weight_hh{suffix}")
    b_ih = getattr(rnn, f"bias_ih{suffix}") if rnn.bias else None
    b_hh = getattr(rnn, f"bias_hh{suffix}") if rnn.bias else None
    given = nn.functional.linear(x, w_ih, b_ih)  # (N, L, gates*H), every step at once

    def step(state: State, at: tuple[torch.Tensor, torch.Tensor]) -> tuple[State, torch.Tensor]:
        given_t, here = at  # (N, gates*H), (N, 1): whether this step is a token
        new = cell(given_t, state, nn.functional.linear(state[0], w_hh, b_hh))
        kept = tuple(torch.where(here, n, s) for n, s in zip(new, state, strict=True))
        return kept, torch.where(here, new[0], torch.zeros_like(new[0]))

    # one zero tensor per state entry: the carries of a scan must not alias each other
    start = tuple(x.new_zeros(x.shape[0], rnn.hidden_size) for _ in range(count))
    state, out = scan(step, start, (given, keep), dim=1, reverse=reverse)
    return out, state


def masked_steps(
    rnn: nn.RNNBase, x: torch.Tensor, mask: torch.Tensor
) -> tuple[torch.Tensor, State | torch.Tensor]:
    """`rnn` (batch first, evaluation: no dropout between layers) over (N, L, D) skipping
    the steps where `mask` (N, L) is False: outputs (N, L, H*dirs) and the final state as
    nn.LSTM / nn.GRU return it ((h_n, c_n) or h_n, each (layers*dirs, N, H))."""
    keep = mask[..., None]  # (N, L, 1)
    finals: list[State] = []
    for layer in range(rnn.num_layers):
        outs = []
        for reverse in (False, True) if rnn.bidirectional else (False,):
            out, state = _direction(rnn, x, keep, layer, reverse)
            outs.append(out)
            finals.append(state)
        x = torch.cat(outs, dim=-1) if len(outs) > 1 else outs[0]
    stacked = tuple(torch.stack(parts) for parts in zip(*finals, strict=True))
    return x, stacked if len(stacked) > 1 else stacked[0]


@contextmanager
def stepwise(module: nn.Module) -> Iterator[nn.Module]:
    """Every masked recurrent layer under `module` runs `masked_steps` while inside (what
    the exporters trace), and packs its sequences again afterwards."""
    layers: list[Any] = [m for m in module.modules() if hasattr(m, "stepwise")]
    for m in layers:
        m.stepwise = True
    try:
        yield module
    finally:
        for m in layers:
            m.stepwise = False
