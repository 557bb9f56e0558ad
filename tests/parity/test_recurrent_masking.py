"""`lstm` and `gru` skip padded steps (docs/semantics.md#masking), held to each framework's
own way of doing it: PyTorch's `pack_padded_sequence` (post-padding with lengths) and
Keras's masked LSTM/GRU (`mask` with `zero_output_for_mask`). Where the padding sits does
not matter: the same tokens pre-, post- or in-between-padded give the same final state on
both backends. Stacking (`layers=N`) is PyTorch's `num_layers`, and `specc summary` counts
it as torch and Keras do.
"""

from __future__ import annotations

import numpy as np
import pytest

from specc.ir.sequence import GRU, LSTM, Recurrent


def _torch_layer(kind: type[Recurrent], **fields: object) -> object:
    import torch

    from specc.executors.torch import sequence

    torch.manual_seed(0)
    built = {LSTM: sequence.LSTM, GRU: sequence.GRU}[kind]
    return built(5, kind(units=4, **fields)).eval()  # type: ignore[arg-type]


@pytest.mark.parametrize("kind", [LSTM, GRU])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_torch_masked_recurrent_is_packed_sequences(
    kind: type[Recurrent], bidirectional: bool
) -> None:
    """Post-padded examples: our masked module gives what the stock module gives on
    `pack_padded_sequence(x, lengths)`: outputs zero-padded, `h_n` after each example's
    last token (the backward direction starting there), two stacked layers."""
    import torch
    from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

    ours = _torch_layer(kind, bidirectional=bidirectional, sequences=True, layers=2)
    stock = (torch.nn.LSTM if kind is LSTM else torch.nn.GRU)(
        5, 4, num_layers=2, batch_first=True, bidirectional=bidirectional
    ).eval()
    stock.load_state_dict(ours.state_dict())  # type: ignore[attr-defined]
    x = torch.randn(3, 6, 5)
    lengths = torch.tensor([6, 2, 4])
    mask = torch.arange(6)[None, :] < lengths[:, None]
    last = _torch_layer(kind, bidirectional=bidirectional, layers=2)
    last.load_state_dict(ours.state_dict())  # type: ignore[attr-defined]
    with torch.no_grad():
        got = ours(x, mask)  # type: ignore[operator]
        got_last = last(x, mask)  # type: ignore[operator]
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        out, state = stock(packed)
        want, _ = pad_packed_sequence(out, batch_first=True, total_length=6)
        h = state[0] if kind is LSTM else state
        want_last = torch.cat([h[-2], h[-1]], -1) if bidirectional else h[-1]
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(got_last, want_last, rtol=1e-5, atol=1e-6)
    assert (got[1, 2:] == 0).all()  # padded steps output zeros


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_keras_masked_recurrent_is_keras_own_masked_layer(cell: str) -> None:
    """Our Keras layer with a mask against Keras's stock LSTM / GRU(reset_after=True) given
    the same mask, on pre-, post- and in-between padding: every step's output as Keras's
    `zero_output_for_mask=True` gives it (zeros at padded steps, the state carried over),
    the last output as its default gives it (the state after the last unpadded step)."""
    import keras

    from specc.executors.tensorflow.sequence import Recurrent as KerasRecurrent

    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 7, 5)).astype(np.float32)
    mask = np.ones((4, 7), dtype=bool)
    mask[0, :3] = False
    mask[1, 5:] = False
    mask[2, [1, 4]] = False
    for sequences in (False, True):
        ours = KerasRecurrent(cell, 6, sequences, False)
        ours(x)
        for variable in ours.weights:
            variable.assign(rng.normal(0, 0.3, variable.shape).astype(np.float32))
        kernel, recurrent, bias, recurrent_bias = (v.numpy() for v in ours.weights)
        if cell == "lstm":
            stock = keras.layers.LSTM(6, return_sequences=sequences, zero_output_for_mask=sequences)
            stock(x)
            stock.set_weights([kernel, recurrent, bias + recurrent_bias])
        else:
            stock = keras.layers.GRU(
                6, return_sequences=sequences, reset_after=True, zero_output_for_mask=sequences
            )
            stock(x)
            stock.set_weights([kernel, recurrent, np.stack([bias, recurrent_bias])])
        got = np.asarray(ours(x, mask=mask))
        np.testing.assert_allclose(got, stock(x, mask=mask), rtol=1e-5, atol=1e-6)
        if sequences:
            assert (got[0, :3] == 0).all() and (got[2, [1, 4]] == 0).all()


def _spec(body: str) -> str:
    return (
        f"model m {{\n input 9 int\n {body}\n}}\n"
        "data synthetic classification samples=8 features=9 classes=3 { batch 4 }\n"
        "train { loss mse; optimizer sgd lr=0.1; epochs 1; seed 3 }\n"
    )


@pytest.mark.parametrize("body", ["lstm 4 bidirectional layers=2", "gru 3 bidirectional"])
def test_where_the_padding_sits_does_not_matter(body: str) -> None:
    """The tokens [5, 7, 9, 11] pre-padded, post-padded and padded in between give the same
    final state, on torch and TensorFlow alike (and each backend the other's number)."""
    from specc import executors
    from specc.analysis import analyze
    from specc.init_weights import initial_weights
    from specc.plan import RunOptions, make_plan

    tokens = [5, 7, 9, 11]
    x = np.array(
        [
            [0] * 5 + tokens,
            tokens + [0] * 5,
            [0, 5, 0, 7, 0, 0, 9, 11, 0],
        ],
        dtype=np.int64,
    )
    outputs = []
    weights = None
    for backend in ("torch", "tensorflow"):
        analysis = analyze(_spec(f"embedding 20 6 pad=0\n {body}"), "m.nn")
        assert analysis.ok, [d.message for d in analysis.errors]
        plan = make_plan(analysis, RunOptions(backend=backend, device="cpu"))
        weights = weights or initial_weights(plan.shapes, plan.seed)
        executor = executors.get(backend)
        state = executor.build(plan, weights, "cpu")
        data = executor.load_data(state, x, np.zeros(len(x), dtype=np.float32))  # type: ignore[attr-defined]
        out = executor.predict(state, data)  # type: ignore[attr-defined]
        np.testing.assert_allclose(out[1], out[0], rtol=1e-5, atol=1e-6, err_msg=backend)
        np.testing.assert_allclose(out[2], out[0], rtol=1e-5, atol=1e-6, err_msg=backend)
        assert np.abs(out[0]).max() > 1e-3
        outputs.append(out)
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-5, atol=1e-6)


def test_stacked_parameter_counts_by_hand() -> None:
    """Layer k > 0 reads the previous layer's H*dirs: an LSTM of 5 over D=8, two layers,
    bidirectional, is 2 * (4*5*(8+5) + 8*5) + 2 * (4*5*(10+5) + 8*5); a 3-layer GRU of 4
    is 3*4*(8+4) + 6*4 + 2 * (3*4*(4+4) + 6*4)."""
    from specc.analysis import analyze

    def params(body: str) -> int:
        analysis = analyze(_spec(f"embedding 30 8 pad=0\n {body}\n flatten"), "m.nn")
        assert analysis.ok, [d.message for d in analysis.errors]
        return analysis.shapes["m"].layers[1].params

    assert params("lstm 5 layers=2 bidirectional") == 2 * (4 * 5 * 13 + 40) + 2 * (4 * 5 * 15 + 40)
    assert params("gru 4 layers=3 sequences=true") == 3 * 4 * 12 + 24 + 2 * (3 * 4 * 8 + 24)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("lstm 4 dropout=0.2", "`dropout` drops between stacked layers, but this `lstm` has one"),
        ("gru 4 layers=0", "layers"),
        ("lstm 4 layers=2 dropout=1.5", "dropout"),
    ],
)
def test_check_refuses_what_cannot_stack(body: str, message: str) -> None:
    from specc.analysis import analyze

    analysis = analyze(_spec(f"embedding 30 8 pad=0\n {body}"), "m.nn")
    assert not analysis.ok
    (error,) = analysis.errors
    assert error.code == "E301", error.message
    assert message in error.message


@pytest.mark.parametrize("backend", ["torch", "tensorflow"])
def test_layers_two_is_two_statements(backend: str) -> None:
    """docs/semantics.md#sequences: `lstm 4 layers=2 bidirectional` computes what
    `lstm 4 sequences=true bidirectional` then `lstm 4 bidirectional` computes with the same
    arrays (layer 1's become the second statement's layer 0), padded batches included."""
    from specc import executors
    from specc.analysis import analyze
    from specc.init_weights import initial_weights
    from specc.plan import RunOptions, make_plan

    x = np.array([[0, 0, 3, 4, 5, 6, 7, 8, 9], [3, 4, 0, 5, 0, 0, 0, 0, 0]], dtype=np.int64)
    stacked = "embedding 20 6 pad=0\n lstm 4 layers=2 bidirectional"
    written = "embedding 20 6 pad=0\n lstm 4 sequences=true bidirectional\n lstm 4 bidirectional"
    outputs = []
    weights: dict[str, np.ndarray] = {}
    for body in (stacked, written):
        analysis = analyze(_spec(body), "m.nn")
        assert analysis.ok, [d.message for d in analysis.errors]
        plan = make_plan(analysis, RunOptions(backend=backend, device="cpu"))
        if not weights:
            weights = initial_weights(plan.shapes, plan.seed)
            arrays = dict(weights)
        else:
            arrays = {"embedding_1.weight": weights["embedding_1.weight"]}
            for key, value in weights.items():
                if key.startswith("lstm_1.") and "_l1" in key:
                    arrays["lstm_2." + key.removeprefix("lstm_1.").replace("_l1", "_l0")] = value
                elif key.startswith("lstm_1."):
                    arrays[key] = value
        executor = executors.get(backend)
        state = executor.build(plan, arrays, "cpu")
        data = executor.load_data(state, x, np.zeros(len(x), dtype=np.float32))  # type: ignore[attr-defined]
        outputs.append(executor.predict(state, data))  # type: ignore[attr-defined]
    assert outputs[0].shape == (2, 8)
    np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("body", "code", "message"),
    [
        ("lstm 4\n last", "E402", "`last` needs a token sequence (LxD, from an `embedding`)"),
        ("batchnorm", "E402", "`batchnorm` reads channels-first values (CxL or CxHxW)"),
        ("conv1d 4 3\n conv2d 4 3", "E402", "`conv2d` reads channels-first values"),
    ],
)
def test_check_refuses_what_has_no_time_axis(body: str, code: str, message: str) -> None:
    """`last` needs an (L, D) sequence; conv1d's output is one again (time first), which the
    2-D kinds and batchnorm refuse."""
    from specc.analysis import analyze

    analysis = analyze(_spec(f"embedding 30 8 pad=0\n {body}\n flatten"), "m.nn")
    (error,) = analysis.errors
    assert error.code == code, error.message
    assert error.message.startswith(message), error.message


def test_keras_dropout_between_layers_only_while_training() -> None:
    """`dropout` of stacked layers on TensorFlow: training changes the output, evaluation
    is the function without dropout (as nn.LSTM's `dropout`)."""
    from specc.executors.tensorflow.sequence import Recurrent as KerasRecurrent

    x = np.random.default_rng(0).normal(size=(3, 5, 4)).astype(np.float32)
    layer = KerasRecurrent("gru", 6, True, False, layers=2, dropout=0.5)
    still = KerasRecurrent("gru", 6, True, False, layers=2, dropout=0.0)
    layer(x)
    still(x)
    rng = np.random.default_rng(1)
    layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in layer.weights])
    still.set_weights(layer.get_weights())
    evaluated = np.asarray(layer(x, training=False))
    np.testing.assert_array_equal(evaluated, np.asarray(still(x, training=True)))
    assert np.abs(np.asarray(layer(x, training=True)) - evaluated).max() > 1e-3
    assert layer.between is not None and layer.between.rate == 0.5
