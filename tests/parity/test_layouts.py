"""One meaning on every layout: the channels-last rewrite keeps the IR's axes.

The TensorFlow executor and the keras/tensorflow emit targets compute images channels-last
through the same lowering pass (specc/lowering/layout.py). These tests give both backends
the same initial weights and inputs and compare forward outputs, for the layer orders
where a layout mistake changes the numbers: a softmax over "the last axis" of an image
(W in the IR, not the channels), layernorm over an image, a reshape back to an image.
"""

from __future__ import annotations

import numpy as np
import pytest

from specc import executors
from specc.analysis import analyze
from specc.emit import emit, emit_plan
from specc.init_weights import initial_weights
from specc.plan import RunOptions, make_plan

TAIL = """
data synthetic classification samples=32 features=64 classes=3 { batch 8 }
train { loss mse; optimizer sgd lr=0.1; epochs 1; seed 3 }
"""

MODELS = {
    "softmax_fused_on_conv": "input 1x8x8\n conv2d 4 3 softmax\n flatten\n dense 3",
    "softmax_layer_on_image": "input 1x8x8\n conv2d 3 3\n softmax\n flatten\n dense 3",
    "log_softmax_on_image": "input 1x8x8\n conv2d 4 3 log_softmax\n flatten\n dense 3",
    "layernorm_on_image": "input 1x8x8\n conv2d 4 3 relu\n layernorm\n flatten\n dense 3",
    "reshape_to_image": "input 64\n reshape 1x8x8\n conv2d 2 3 relu\n maxpool2d 2\n flatten\n dense 3",
}


def spec(body: str) -> str:
    return "model m {\n " + body + "\n}\n" + TAIL


def forward(text: str, backend: str, x: np.ndarray) -> np.ndarray:
    analysis = analyze(text, "layout.nn")
    assert analysis.ok, [d.message for d in analysis.errors]
    plan = make_plan(analysis, RunOptions(backend=backend, device="cpu"))
    executor = executors.get(backend)
    assert executor.unsupported(plan) == []
    state = executor.build(plan, initial_weights(plan.shapes, plan.seed), "cpu")
    data = executor.load_data(state, x, np.zeros(len(x), dtype=np.float32))
    return executor.predict(state, data)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_both_backends_compute_the_same_function(name: str) -> None:
    text = spec(MODELS[name])
    x = np.random.default_rng(0).normal(size=(5, 64)).astype(np.float32)
    torch_out = forward(text, "torch", x)
    tf_out = forward(text, "tensorflow", x)
    assert torch_out.shape == tf_out.shape == (5, 3)
    np.testing.assert_allclose(tf_out, torch_out, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("target", ["keras", "tensorflow"])
def test_channels_last_targets_softmax_over_the_irs_last_axis(target: str) -> None:
    """`conv2d 4 3 softmax` on an image: the script must take the softmax over W (the IR's
    last axis), so it goes back to channels-first before a softmax it computes itself."""
    p = emit_plan(analyze(spec(MODELS["softmax_fused_on_conv"]), "layout.nn"), target)
    kinds = [(layer.kind, layer.args.get("dims")) for layer in p.layers]
    assert kinds[:4] == [
        ("permute", (2, 3, 1)),
        ("conv2d", None),
        ("permute", (3, 1, 2)),
        ("softmax", None),
    ]
    assert p.layers[1].activation is None  # split off the convolution
    assert p.layers[3].input == (4, 6, 6)  # channels-first again
    script = emit(analyze(spec(MODELS["softmax_fused_on_conv"]), "layout.nn"), target)
    assert script.index('"to_channels_first"') < script.index('layers.Activation("softmax"')


# ---- sequences (C, L): conv1d, 1-D pools, global pooling -----------------------------------

SEQUENCES = {
    "conv1d_same_pools": "input 4x16\n conv1d 6 5 padding=same relu\n maxpool1d 2\n"
    " conv1d 8 3 stride=2 tanh\n avgpool1d 2\n flatten\n dense 3",
    "conv1d_padding_global": "input 4x16\n conv1d 5 4 padding=1 softmax\n global_avgpool\n dense 3",
    "conv2d_global": "input 4x4x4\n conv2d 3 3 padding=same relu\n global_avgpool\n dense 3",
}


@pytest.mark.parametrize("name", sorted(SEQUENCES))
def test_sequence_layers_compute_the_same_function(name: str) -> None:
    text = spec(SEQUENCES[name])
    x = np.random.default_rng(1).normal(size=(4, 64)).astype(np.float32)
    np.testing.assert_allclose(
        forward(text, "tensorflow", x), forward(text, "torch", x), rtol=1e-4, atol=1e-5
    )
