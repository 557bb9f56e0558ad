"""The exported step loop (specc/executors/torch/steps.py) and the packed recurrence a run
trains with (`sequence.unpadded_steps`) are one function: the same outputs, final states
and gradients on padded batches of mixed lengths (pre-, post-, in-between padding, one
token, none), uni- and bidirectional, stacked, LSTM and GRU. Two independent
implementations of docs/semantics.md#masking agreeing is also the evidence that training
a masked model computes the documented rule (docs/parity.md, imdb_bilstm's accuracy).
"""

from __future__ import annotations

import pytest

from specc.ir.sequence import GRU, LSTM, Recurrent


def _batch() -> tuple[object, object]:
    import torch

    torch.manual_seed(1)
    x = torch.randn(6, 12, 5)
    mask = torch.ones(6, 12, dtype=torch.bool)
    mask[0, :7] = False  # pre-padded
    mask[1, 4:] = False  # post-padded
    mask[2, ::3] = False  # padding in between
    mask[3] = False  # padding only
    mask[4, :11] = False  # one token
    return x, mask  # row 5: no padding


@pytest.mark.parametrize("kind", [LSTM, GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_the_step_loop_is_the_packed_recurrence(kind: type[Recurrent], bidirectional: bool) -> None:
    import torch

    from specc.executors.torch import sequence
    from specc.executors.torch.steps import stepwise

    torch.manual_seed(0)
    built = {LSTM: sequence.LSTM, GRU: sequence.GRU}[kind]
    layer = kind(units=4, bidirectional=bidirectional, sequences=True, layers=2)  # type: ignore[call-arg]
    module = built(5, layer)
    x, mask = _batch()
    results = []
    for loop in (False, True):
        module.zero_grad()
        if loop:
            with stepwise(module):
                assert module.stepwise
                out = module(x, mask)
        else:
            out = module(x, mask)
        assert not module.stepwise  # training packs again after the exporter traced
        out.sin().sum().backward()
        grads = {name: p.grad.clone() for name, p in module.named_parameters()}
        results.append((out.detach(), grads))
    (packed, packed_grads), (looped, looped_grads) = results
    assert packed.shape == (6, 12, 4 * (2 if bidirectional else 1))
    assert (looped - packed).abs().max() < 1e-6
    assert (looped[~mask] == 0).all() and (looped[3] == 0).all()
    for name, grad in packed_grads.items():
        assert grad.abs().max() > 0, name
        assert (looped_grads[name] - grad).abs().max() <= 1e-5 * grad.abs().max(), name


@pytest.mark.parametrize("kind", [LSTM, GRU])
def test_the_step_loop_final_state(kind: type[Recurrent]) -> None:
    """Without `sequences`: forward state after the last token, backward after the first."""
    import torch

    from specc.executors.torch import sequence
    from specc.executors.torch.steps import stepwise

    torch.manual_seed(0)
    built = {LSTM: sequence.LSTM, GRU: sequence.GRU}[kind]
    module = built(5, kind(units=3, bidirectional=True)).eval()  # type: ignore[call-arg]
    x, mask = _batch()
    with torch.no_grad():
        packed = module(x, mask)
        with stepwise(module):
            looped = module(x, mask)
    assert looped.shape == (6, 6) and (looped - packed).abs().max() < 1e-6
    assert (looped[3] == 0).all()  # padding only: the zero initial state
