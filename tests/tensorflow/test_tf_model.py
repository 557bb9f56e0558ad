"""The Keras model means what the spec says: same outputs as the torch backend, same weights.

Each model is built on both backends from the same neutral weights; `predict` must agree
to float32 rounding. A wrong kernel transpose, flatten order, padding split or softmax axis
changes outputs by O(1), far above the 1e-5 used here.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from specc.init_weights import initial_weights
from tests.tensorflow.conftest import plan_of, spec

IMAGE_MODELS = {
    "conv_same_pool_flatten": """model m {
    input 2x9x9
    conv2d 4 3 padding=same relu
    maxpool2d 2
    conv2d 3 2 stride=2 padding=1
    flatten
    dense 3 softmax
}""",
    "even_kernel_same_avgpool_gap": """model m {
    input 2x9x9
    conv2d 5 4 padding=same init=he_normal bias_init=uniform(-0.5, 0.5)
    elu 0.5
    avgpool2d 3 stride=2
    conv2d 6 2
    global_avgpool
    dense 3
}""",
    "norms_and_activations_on_images": """model m {
    input 2x9x9
    conv2d 4 3 bias_init=normal(0.3)
    batchnorm momentum=0.3 eps=1e-3
    leaky_relu 0.2
    layernorm
    gelu
    softmax
    reshape 196
    selu
    dense 8 silu bias_init=uniform(-1, 1)
    batchnorm
    tanh
    dense 3 log_softmax
}""",
    "reshape_to_image": """model m {
    input 162
    reshape 2x9x9
    conv2d 3 3 sigmoid
    flatten
    dense 3
}""",
}


@pytest.mark.parametrize("name", sorted(IMAGE_MODELS))
def test_outputs_match_torch(name: str, tfb: ModuleType, tob: ModuleType) -> None:
    plan = plan_of(spec(IMAGE_MODELS[name], 162, "loss mse"))
    weights = initial_weights(plan.shapes, seed=3)
    # Non-trivial normalisation statistics, so evaluation mode is tested too.
    rng = np.random.default_rng(0)
    for key in weights:
        if key.endswith(("running_mean", "running_var")):
            weights[key] = rng.uniform(0.5, 1.5, weights[key].shape).astype(np.float32)
    x = rng.normal(size=(7, 162)).astype(np.float32)
    y = np.zeros((7, 3), np.float32)
    outs = []
    for backend in (tfb, tob):
        state = backend.build(plan, weights, "cpu")
        outs.append(backend.predict(state, backend.load_data(state, x, y)))
    assert outs[0].shape == (7, 3)
    np.testing.assert_allclose(outs[0], outs[1], rtol=1e-5, atol=1e-5)


def test_weights_round_trip_in_neutral_layout(tfb: ModuleType) -> None:
    plan = plan_of(spec(IMAGE_MODELS["norms_and_activations_on_images"], 162, "loss mse"))
    weights = initial_weights(plan.shapes, seed=1)
    state = tfb.build(plan, weights, "cpu")
    back = tfb.get_weights(state)
    assert sorted(back) == sorted(weights)
    for key, value in weights.items():
        assert back[key].shape == value.shape, key
        np.testing.assert_array_equal(back[key], value)
    # The layernorm scale over a (C, H, W) input is stored (C, H, W), like PyTorch's.
    assert back["layernorm_1.weight"].shape == (4, 7, 7)


def test_set_weights_refuses_a_wrong_shape(tfb: ModuleType) -> None:
    from specc.errors import WeightsError

    plan = plan_of(spec("model m {\n input 4\n dense 3\n}", 4))
    weights = initial_weights(plan.shapes, seed=0)
    state = tfb.build(plan, weights, "cpu")
    with pytest.raises(
        WeightsError, match=r"`dense_1.weight` has shape \(4, 3\) in the weights but \(3, 4\)"
    ):
        tfb.set_weights(state, {**weights, "dense_1.weight": np.zeros((4, 3), np.float32)})
    with pytest.raises(WeightsError, match=r"no `dense_1\.bias`"):
        tfb.set_weights(state, {"dense_1.weight": weights["dense_1.weight"]})


def test_native_keras_file_loads_and_predicts_the_same(tfb: ModuleType, tmp_path: Path) -> None:
    import keras

    import specc.executors.tensorflow.model  # noqa: F401  (registers SpecBatchNorm for loading)

    plan = plan_of(spec(IMAGE_MODELS["norms_and_activations_on_images"], 162, "loss mse"))
    state = tfb.build(plan, initial_weights(plan.shapes, seed=2), "cpu")
    x = np.random.default_rng(1).normal(size=(5, 162)).astype(np.float32)
    mine = tfb.predict(state, tfb.load_data(state, x, np.zeros((5, 3), np.float32)))
    paths = tfb.save_native(state, tmp_path)
    assert paths == [tmp_path / "model.keras"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model.keras"]
    loaded = keras.models.load_model(paths[0])
    # The .keras model takes the spec's channels-first input, like the run's data.
    theirs = np.asarray(loaded(x.reshape(5, 2, 9, 9), training=False))
    np.testing.assert_allclose(theirs, mine, rtol=1e-6, atol=1e-6)


def test_fused_softmax_is_skipped_in_training_only(tfb: ModuleType) -> None:
    plan = plan_of(spec("model m {\n input 4\n dense 3 softmax\n}", 4))
    state = tfb.build(plan, initial_weights(plan.shapes, seed=0), "cpu")
    x = np.random.default_rng(0).normal(size=(6, 4)).astype(np.float32)
    y = np.array([0, 1, 2, 0, 1, 2])
    data = tfb.load_data(state, x, y)
    probs = tfb.predict(state, data)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-6)
    w = initial_weights(plan.shapes, seed=0)
    logits = x @ w["dense_1.weight"].T + w["dense_1.bias"]
    logp = logits - np.log(np.exp(logits).sum(axis=1, keepdims=True))
    expected = -logp[np.arange(6), y].mean()
    assert tfb.evaluate_loss(state, data) == pytest.approx(expected, rel=1e-6)
