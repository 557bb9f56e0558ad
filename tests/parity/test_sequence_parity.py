"""One meaning for the sequence kinds (specc/ir/sequence.py) on torch and TensorFlow.

Per layer: the same weights, written to and read from a neutral weights file, give the
same forward outputs on both backends within 1e-5, on batches with pre-padding,
post-padding and an all-padding row; the TensorFlow layout maps back to the same neutral
arrays; `specc summary`'s parameter count is torch's `sum(p.numel())` and Keras's
`count_params()`. Then each backend is held to the framework's own reference: torch's
attention to `nn.MultiheadAttention`, our Keras recurrent layers to Keras's stock
`LSTM`/`GRU(reset_after=True)` through the documented gate mapping, the masked pools to
numpy.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specc import executors
from specc.analysis import analyze
from specc.init_weights import initial_weights
from specc.plan import RunOptions, RunPlan, make_plan
from specc.run.record import load_arrays, save_arrays

TAIL = """
data synthetic classification samples=32 features=12 classes=3 { batch 8 }
train { loss mse; optimizer sgd lr=0.1; epochs 1; seed 3 }
"""
VOCAB, LENGTH = 30, 12

BODIES = {
    "avgpool": "embedding 30 8 pad=0\n global_avgpool",
    "maxpool": "embedding 30 8 pad=0\n global_maxpool",
    "avgpool_no_pad": "embedding 30 8\n global_avgpool\n dense 3",
    "position": "embedding 30 8 pad=0\n position_embedding\n flatten\n dense 3",
    "attention": "embedding 30 8 pad=0\n attention heads=2\n global_avgpool\n dense 3",
    "attention_causal": "embedding 30 8 pad=0\n attention heads=4 causal\n global_maxpool",
    "attention_no_pad": "embedding 30 8\n attention heads=1\n flatten\n dense 3",
    "lstm_last": "embedding 30 8 pad=0\n lstm 5\n dense 3",
    "lstm_bidirectional": "embedding 30 8 pad=0\n lstm 5 bidirectional\n dense 3",
    "lstm_sequences": "embedding 30 8 pad=0\n lstm 5 sequences=true bidirectional\n global_avgpool",
    "gru_last": "embedding 30 8 pad=0\n gru 4\n dense 3",
    "lstm_no_pad": "embedding 30 8\n lstm 5 sequences=true\n flatten",
    "last": "embedding 30 8 pad=0\n lstm 5 sequences=true\n last\n dense 3",
    "last_no_pad": "embedding 30 8\n gru 4 sequences=true bidirectional\n last",
    "last_of_embedding": "embedding 30 8 pad=0\n last",
    "sinusoidal": "embedding 30 8 pad=0\n position_embedding sinusoidal\n attention heads=2\n"
    " global_avgpool\n dense 3",
    "sinusoidal_odd_width": "embedding 30 7\n position_embedding sinusoidal\n flatten",
    # conv1d and the 1-D pools along L of an (L, D) sequence (D channels); they end the mask
    "conv1d": "embedding 30 8 pad=0\n conv1d 6 3 relu\n global_maxpool\n dense 3",
    "conv1d_pools": "embedding 30 8\n conv1d 5 4 padding=same\n maxpool1d 2\n"
    " avgpool1d 2 stride=1\n conv1d 4 2 stride=2 padding=1 tanh\n flatten",
    "conv1d_then_lstm": "embedding 30 8 pad=0\n conv1d 6 3\n lstm 4 sequences=true\n last",
    "lstm_stacked": "embedding 30 8 pad=0\n lstm 5 layers=2 bidirectional\n dense 3",
    "gru_stacked_sequences": "embedding 30 8 pad=0\n gru 4 layers=3 dropout=0.2 sequences=true\n"
    " global_avgpool",
    "lstm_then_lstm": "embedding 30 8 pad=0\n lstm 5 sequences=true bidirectional\n lstm 4",
    "gru_bidirectional": "embedding 30 8 pad=0\n gru 4 bidirectional sequences=true\n flatten",
    "transformer_post": "embedding 30 8 pad=0\n transformer_encoder heads=2 ff=16\n global_avgpool",
    "transformer_pre": "embedding 30 8 pad=0\n position_embedding\n"
    " transformer_encoder heads=4 ff=12 norm=pre causal activation=gelu eps=1e-6\n"
    " global_maxpool\n dense 3",
    # existing kinds on an (L, D) sequence: no transposes on TensorFlow, the mask passes
    # through pointwise kinds and ends at the others
    "layernorm_flatten": "embedding 30 8 pad=0\n layernorm\n flatten\n dense 3",
    "softmax_pool": "embedding 30 8 pad=0\n softmax\n global_avgpool\n dense 3",
    "pointwise_then_masked_pool": "embedding 30 8 pad=0\n relu\n dropout 0.2\n global_maxpool",
    "layernorm_ends_the_mask": "embedding 30 8 pad=0\n layernorm\n global_avgpool",
    "reshape": "embedding 30 8 pad=0\n reshape 96\n dense 3",
    "stack": "embedding 30 8 pad=0\n position_embedding\n attention heads=2 causal\n"
    " dropout 0.1\n lstm 6 sequences=true\n gru 3 sequences=true\n global_maxpool\n dense 3",
}


def spec(body: str) -> str:
    return f"model m {{\n input {LENGTH} int\n {body}\n}}\n{TAIL}"


def padded_ids() -> np.ndarray:
    """Token ids with pre-padding, post-padding, one all-padding row and one without pads."""
    x = np.random.default_rng(0).integers(1, VOCAB, size=(6, LENGTH))
    x[0, :5] = 0
    x[1, -4:] = 0
    x[2, :] = 0
    x[3, ::3] = 0
    return x.astype(np.int64)


def plan_for(text: str, backend: str) -> RunPlan:
    analysis = analyze(text, "seq.nn")
    assert analysis.ok, [d.message for d in analysis.errors]
    plan = make_plan(analysis, RunOptions(backend=backend, device="cpu"))
    assert executors.get(backend).unsupported(plan) == []
    return plan


def neutral_file(plan: RunPlan, path: Path) -> dict[str, np.ndarray]:
    """The initial weights plus noise (so biases are not zero), through a weights file."""
    rng = np.random.default_rng(5)
    weights = {
        key: (value + rng.normal(0, 0.2, value.shape)).astype(np.float32)
        for key, value in initial_weights(plan.shapes, plan.seed).items()
    }
    save_arrays(path, weights, {})
    return load_arrays(path)[0]


def build(plan: RunPlan, weights: dict[str, np.ndarray]) -> tuple[object, object]:
    executor = executors.get(plan.backend)
    return executor, executor.build(plan, weights, "cpu")


@pytest.mark.parametrize("name", sorted(BODIES))
def test_same_weights_same_outputs_on_both_backends(name: str, tmp_path: Path) -> None:
    text = spec(BODIES[name])
    torch_plan, tf_plan = plan_for(text, "torch"), plan_for(text, "tensorflow")
    weights = neutral_file(torch_plan, tmp_path / "weights.safetensors")
    x = padded_ids()
    outputs = []
    for plan in (torch_plan, tf_plan):
        executor, state = build(plan, weights)
        data = executor.load_data(state, x, np.zeros(len(x), dtype=np.float32))  # type: ignore[attr-defined]
        outputs.append(executor.predict(state, data))  # type: ignore[attr-defined]
        back = executor.get_weights(state)  # type: ignore[attr-defined]
        assert sorted(back) == sorted(weights)
        for key, array in weights.items():  # the framework's layout maps back exactly
            np.testing.assert_array_equal(back[key], array, err_msg=key)
    torch_out, tf_out = outputs
    assert torch_out.shape == tf_out.shape == (len(x), *torch_plan.shapes.output)
    assert np.isfinite(torch_out).all()
    np.testing.assert_allclose(tf_out, torch_out, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("name", sorted(BODIES))
def test_same_weights_same_gradients_on_both_backends(name: str, tmp_path: Path) -> None:
    """The gradient of one loss with respect to every neutral array agrees too (evaluation
    mode, so dropout is off): the backward passes of the two implementations match, not
    only their outputs."""
    import tensorflow as tf
    import torch

    from specc.executors.torch.model import neutral_key

    text = spec(BODIES[name])
    torch_plan, tf_plan = plan_for(text, "torch"), plan_for(text, "tensorflow")
    weights = neutral_file(torch_plan, tmp_path / "weights.safetensors")
    x = padded_ids()
    _, torch_state = build(torch_plan, weights)
    network = torch_state.network.eval()  # type: ignore[attr-defined]
    (network(torch.from_numpy(x)) ** 2).sum().backward()
    torch_grads = {neutral_key(k): p.grad.numpy() for k, p in network.named_parameters()}
    _, tf_state = build(tf_plan, weights)
    slots = tf_state.keras.slots  # type: ignore[attr-defined]
    with tf.GradientTape() as tape:
        out = tf_state.keras.forward(tf.constant(x), training=False, logits=False)  # type: ignore[attr-defined]
        loss = tf.reduce_sum(out**2)
    grads = tape.gradient(loss, [slot.variable.value for slot in slots])
    assert sorted(slot.key for slot in slots) == sorted(torch_grads)
    for slot, grad in zip(slots, grads, strict=True):
        ours = slot.to_neutral(tf.convert_to_tensor(grad).numpy())
        want = torch_grads[slot.key]
        scale = max(float(np.abs(want).max()), 1e-6)
        assert float(np.abs(ours - want).max()) <= 1e-5 * scale, slot.key


@pytest.mark.parametrize("name", sorted(BODIES))
def test_summary_counts_what_each_framework_counts(name: str) -> None:
    text = spec(BODIES[name])
    torch_plan, tf_plan = plan_for(text, "torch"), plan_for(text, "tensorflow")
    weights = initial_weights(torch_plan.shapes, torch_plan.seed)
    _, torch_state = build(torch_plan, weights)
    _, tf_state = build(tf_plan, weights)
    ours = torch_plan.shapes.params
    network = torch_state.network  # type: ignore[attr-defined]
    assert ours == sum(p.numel() for p in network.parameters())
    assert ours == tf_state.keras.model.count_params()  # type: ignore[attr-defined]


def test_parameter_counts_by_hand() -> None:
    """The formulas, written out: LSTM 4H(I+H) + 8H per direction (PyTorch's two biases),
    GRU 3H(I+H) + 6H, attention 4D^2 + 4D, a transformer block that plus 2 D F + F + D
    (feed-forward) + 4D (two norms), embedding V*D, position embedding L*D."""
    body = (
        "embedding 30 8 pad=0\n position_embedding\n attention heads=2\n"
        " transformer_encoder heads=2 ff=16\n"
        " lstm 5 sequences=true bidirectional\n gru 4\n dense 3"
    )
    layers = plan_for(spec(body), "torch").shapes.layers
    assert [info.params for info in layers] == [
        30 * 8,
        LENGTH * 8,
        4 * 8 * 8 + 4 * 8,
        4 * 8 * 8 + 4 * 8 + 2 * 8 * 16 + 16 + 8 + 4 * 8,
        2 * (4 * 5 * (8 + 5) + 8 * 5),
        3 * 4 * (10 + 4) + 6 * 4,
        4 * 3 + 3,
    ]
    assert [info.output for info in layers][-3:] == [(LENGTH, 10), (4,), (3,)]


def test_sinusoidal_positions_are_vaswanis_formula(tmp_path: Path) -> None:
    """`position_embedding sinusoidal` adds PE[p, 2i] = sin(p / 10000^(2i/D)),
    PE[p, 2i+1] = cos(p / 10000^(2i/D)), written out in numpy, on both backends; no weights."""
    text = spec("embedding 30 7\n position_embedding sinusoidal\n flatten")
    plan = plan_for(text, "torch")
    assert plan.shapes.layers[1].params == 0
    weights = neutral_file(plan, tmp_path / "w.safetensors")
    assert sorted(weights) == ["embedding_1.weight"]
    p, j = np.arange(LENGTH)[:, None], np.arange(7)[None, :]
    angle = p / 10000.0 ** ((j - j % 2) / 7)
    table = np.where(j % 2 == 0, np.sin(angle), np.cos(angle))
    assert table[3, 0] == np.sin(3) and table[3, 1] == np.cos(3)
    x = padded_ids()
    expected = (weights["embedding_1.weight"][x] + table).reshape(len(x), -1)
    for backend in ("torch", "tensorflow"):
        executor, state = build(plan_for(text, backend), weights)
        data = executor.load_data(state, x, np.zeros(len(x)))  # type: ignore[attr-defined]
        got = executor.predict(state, data)  # type: ignore[attr-defined]
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=backend)


def test_last_is_the_last_unpadded_step(tmp_path: Path) -> None:
    """`last` after a padded embedding: the table row of each example's last unpadded id
    (zeros for the all-padding row); without `pad`, the row of the last id."""
    x = padded_ids()
    for body, pad in (("embedding 30 8 pad=0\n last", True), ("embedding 30 8\n last", False)):
        plan = plan_for(spec(body), "torch")
        weights = neutral_file(plan, tmp_path / "w.safetensors")
        table = weights["embedding_1.weight"]
        if pad:
            rows = [table[row[row != 0][-1]] if (row != 0).any() else np.zeros(8) for row in x]
        else:
            rows = [table[row[-1]] for row in x]
        for backend in ("torch", "tensorflow"):
            executor, state = build(plan_for(spec(body), backend), weights)
            data = executor.load_data(state, x, np.zeros(len(x)))  # type: ignore[attr-defined]
            got = executor.predict(state, data)  # type: ignore[attr-defined]
            np.testing.assert_allclose(got, np.stack(rows), rtol=0, atol=0, err_msg=backend)


# ---- each backend against the framework's own layers ---------------------------------------


def test_masked_pools_ignore_padding_as_numpy_says(tmp_path: Path) -> None:
    """embedding -> global pool: the mean/max over the unpadded rows of the table; an
    all-padding example gives zeros."""
    x = padded_ids()
    for how, reduce in (("avgpool", np.mean), ("maxpool", np.max)):
        plan = plan_for(spec(BODIES[how]), "torch")
        weights = neutral_file(plan, tmp_path / f"{how}.safetensors")
        table = weights["embedding_1.weight"]
        expected = np.stack(
            [reduce(table[row[row != 0]], axis=0) if (row != 0).any() else np.zeros(8) for row in x]
        )
        for backend in ("torch", "tensorflow"):
            executor, state = build(plan_for(spec(BODIES[how]), backend), weights)
            data = executor.load_data(state, x, np.zeros(len(x)))  # type: ignore[attr-defined]
            got = executor.predict(state, data)  # type: ignore[attr-defined]
            np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6, err_msg=backend)


@pytest.mark.parametrize("causal", [False, True])
def test_torch_attention_is_pytorchs_multihead_attention(causal: bool) -> None:
    """Our attention module against `nn.MultiheadAttention` itself, with its key padding
    mask and causal mask, for queries that see at least one key."""
    import torch

    from specc.executors.torch.sequence import SelfAttention

    torch.manual_seed(0)
    ours = SelfAttention(8, 2, causal=causal, dropout=0.0).eval()
    stock = torch.nn.MultiheadAttention(8, 2, batch_first=True).eval()
    stock.load_state_dict(ours.state_dict())
    x = torch.randn(3, 6, 8)
    keep = torch.ones(3, 6, dtype=torch.bool)
    keep[0, 4:] = False  # post-padding: every query still sees key 0
    keep[1, 2] = False
    with torch.no_grad():
        got = ours(x, keep)
        causal_mask = torch.ones(6, 6, dtype=torch.bool).triu(1) if causal else None
        want, _ = stock(x, x, x, key_padding_mask=~keep, attn_mask=causal_mask, need_weights=False)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("norm", ["post", "pre"])
def test_torch_block_is_pytorchs_transformer_encoder_layer(norm: str) -> None:
    """Our block against `nn.TransformerEncoderLayer` with the same state_dict (evaluation
    mode, a key padding mask that leaves every query a key)."""
    import torch

    from specc.executors.torch.sequence import TransformerEncoder
    from specc.ir.attention import TransformerEncoder as Block

    torch.manual_seed(0)
    layer = Block(heads=2, ff=12, norm=norm, dropout=0.1, activation="gelu")  # type: ignore[arg-type]
    ours = TransformerEncoder(8, layer).eval()
    stock = torch.nn.TransformerEncoderLayer(
        8, 2, 12, 0.1, activation="gelu", batch_first=True, norm_first=norm == "pre"
    ).eval()
    missing, unexpected = stock.load_state_dict(ours.state_dict(), strict=True)
    assert not missing and not unexpected
    x = torch.randn(3, 6, 8)
    keep = torch.ones(3, 6, dtype=torch.bool)
    keep[0, 4:] = False
    with torch.no_grad():
        got = ours(x, keep)
        want = stock(x, src_key_padding_mask=~keep)
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("sequences", [False, True])
def test_keras_recurrent_is_keras_own_layer_by_the_gate_mapping(cell: str, sequences: bool) -> None:
    """Our Keras recurrent layer against Keras's stock LSTM / GRU(reset_after=True), given
    the same arrays: the stock LSTM's one bias is our two summed, the stock GRU's bias rows
    are [input; recurrent]. Both keep Keras's gate order, so the mapping under test is the
    neutral -> Keras one of specc/lowering/weights.py."""
    import keras

    from specc.executors.tensorflow.sequence import Recurrent

    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 7, 5)).astype(np.float32)
    ours = Recurrent(cell, 6, sequences, False)
    ours(x)
    for variable in ours.weights:
        variable.assign(rng.normal(0, 0.3, variable.shape).astype(np.float32))
    kernel, recurrent, bias, recurrent_bias = (v.numpy() for v in ours.weights)
    if cell == "lstm":
        stock = keras.layers.LSTM(6, return_sequences=sequences)
        stock(x)
        stock.set_weights([kernel, recurrent, bias + recurrent_bias])
    else:
        stock = keras.layers.GRU(6, return_sequences=sequences, reset_after=True)
        stock(x)
        stock.set_weights([kernel, recurrent, np.stack([bias, recurrent_bias])])
    np.testing.assert_allclose(ours(x), stock(x), rtol=1e-5, atol=1e-6)


def test_gru_gates_swap_reset_and_update_in_keras() -> None:
    """PyTorch's GRU rows [r, z, n] become Keras's columns [z, r, h]; the LSTM's agree."""
    from specc.ir.layer import Weight
    from specc.lowering.weights import native

    h = 2
    rows = np.repeat(np.arange(3), h)[:, None] * np.ones((1, 4))  # block k holds k
    gru = native("keras", Weight("weight_ih_l0", (3 * h, 4), "gate_kernel", gates=("r", "z", "n")))
    assert (gru.name, gru.perm, gru.blocks) == ("kernel", (1, 0), (1, 0, 2))
    from specc.executors.tensorflow.model import WeightSlot

    slot = WeightSlot("gru_1.weight_ih_l0", None, gru.perm, True, gru.blocks)  # type: ignore[arg-type]
    keras_kernel = slot.to_keras(rows)
    assert keras_kernel.shape == (4, 3 * h)
    assert keras_kernel[0].tolist() == [1, 1, 0, 0, 2, 2]  # z (torch block 1), r (0), n (2)
    np.testing.assert_array_equal(slot.to_neutral(keras_kernel), rows)
    lstm = native(
        "keras",
        Weight("bias_hh_l0_reverse", (8,), "gate_recurrent_bias", gates=("i", "f", "g", "o")),
    )
    assert (lstm.name, lstm.perm, lstm.blocks) == ("recurrent_bias_reverse", None, (0, 1, 2, 3))


def test_the_mask_reaches_what_the_semantics_say() -> None:
    """docs/semantics.md#masking: kept by pointwise kinds, position_embedding and the
    attention kinds; honoured by the pools and attention; ended by everything else."""
    from specc.ir.sequence import mask_reaches

    def reaches(body: str) -> list[bool]:
        shapes = plan_for(spec(body), "torch").shapes
        return mask_reaches([info.layer for info in shapes.layers])

    assert reaches(BODIES["pointwise_then_masked_pool"]) == [False, False, False, True]
    assert reaches(BODIES["layernorm_ends_the_mask"]) == [False, False, False]
    # the recurrent layers honour it; with `sequences=true` they keep it for the next one
    assert reaches(BODIES["stack"]) == [False, False, True, False, True, True, True, False]
    assert reaches(BODIES["lstm_then_lstm"]) == [False, True, True]
    assert reaches("embedding 30 8 pad=0\n lstm 5\n dense 3") == [False, True, False]
    assert reaches(BODIES["last"]) == [False, True, True, False]
    assert reaches(BODIES["sinusoidal"]) == [False, False, True, True, False]
    assert reaches(BODIES["conv1d_then_lstm"]) == [False, False, False, False]
    assert reaches(BODIES["avgpool_no_pad"]) == [False, False, False]
    transformer = "embedding 30 8 pad=0\n transformer_encoder heads=2 ff=4\n attention\n gru 3"
    assert reaches(transformer) == [False, True, True, True]
