"""Every layer and activation against a direct torch.nn.functional computation.

The backend's evaluation outputs (loss `mse`, so no head is applied) must equal the
semantics' formula computed from the same initial weights; parameter counts from
`specc.shapes` must equal the built module's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from run_helpers import plan_for

from specc.analysis import analyze_file
from specc.executors import torch as backend
from specc.executors.torch.model import build_network
from specc.init_weights import initial_weights
from specc.plan import RunPlan

SPECS = Path(__file__).resolve().parents[2] / "specs"
X_IMG = np.random.default_rng(0).normal(size=(4, 2, 7, 8)).astype(np.float32)


def _spec(input_shape: str, layers: str, loss: str = "mse") -> str:
    features = int(np.prod([int(d) for d in input_shape.split("x")]))
    return (
        f"model m {{\n    input {input_shape}\n{layers}\n}}\n"
        f"data synthetic regression features={features} samples=64 {{ batch 4 }}\n"
        f"train {{\n    loss {loss}\n    optimizer sgd lr=0.1\n    epochs 1\n}}\n"
    )


def _outputs(plan: RunPlan, x: np.ndarray) -> tuple[np.ndarray, dict[str, torch.Tensor]]:
    weights = initial_weights(plan.shapes, plan.seed)
    tensors = {k: torch.from_numpy(v) for k, v in weights.items()}
    if not weights:  # nothing to train, so no backend state: the module it would build
        network = build_network(plan.shapes).eval()
        return network(torch.from_numpy(x)).detach().numpy(), tensors
    state = backend.build(plan, weights, "cpu")
    y = np.zeros((len(x), *plan.shapes.output), np.float32)
    return backend.predict(state, backend.load_data(state, x, y)), tensors


def T(a: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(a)


IMAGE_CASES = {
    "conv_valid_relu": (
        "    conv2d 3 3 relu",
        lambda x, w: F.relu(F.conv2d(x, w["conv2d_1.weight"], w["conv2d_1.bias"])),
    ),
    "conv_same_even_kernel": (
        # padding=same, kernel 4: (4-1)//2 = 1 before, 2 after (docs/semantics.md#shapes)
        "    conv2d 3 4 padding=same",
        lambda x, w: F.conv2d(F.pad(x, (1, 2, 1, 2)), w["conv2d_1.weight"], w["conv2d_1.bias"]),
    ),
    "conv_stride_pad_nobias": (
        "    conv2d 2 3x2 stride=2 padding=1 bias=false init=he_normal",
        lambda x, w: F.conv2d(x, w["conv2d_1.weight"], None, stride=2, padding=1),
    ),
    "maxpool_stride": ("    maxpool2d 3 stride=2", lambda x, w: F.max_pool2d(x, 3, 2)),
    "avgpool": ("    avgpool2d 2", lambda x, w: F.avg_pool2d(x, 2)),
    "global_avgpool": ("    global_avgpool", lambda x, w: x.mean(dim=(2, 3))),
    "flatten_dense": (
        "    flatten\n    dense 5\n    elu 0.5",
        lambda x, w: F.elu(F.linear(x.reshape(4, -1), w["dense_1.weight"], w["dense_1.bias"]), 0.5),
    ),
    "reshape": ("    reshape 7x16", lambda x, w: x.reshape(4, 7, 16)),
    "layernorm": ("    layernorm eps=0.001", lambda x, w: F.layer_norm(x, (2, 7, 8), eps=1e-3)),
    "batchnorm_eval": (
        "    batchnorm",
        lambda x, w: F.batch_norm(x, torch.zeros(2), torch.ones(2), training=False, eps=1e-5),
    ),
    "dropout_eval_identity": ("    dropout 0.5", lambda x, w: x),
}


@pytest.mark.parametrize("name", list(IMAGE_CASES))
def test_image_layer_matches_functional(name: str) -> None:
    layers, formula = IMAGE_CASES[name]
    plan = plan_for(_spec("2x7x8", layers))
    out, w = _outputs(plan, X_IMG)
    expected = formula(T(X_IMG), w).numpy()
    assert out.shape == (4, *plan.shapes.output)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


ACTIVATIONS = {
    "relu": F.relu,
    "leaky_relu 0.2": lambda x: F.leaky_relu(x, 0.2),
    "sigmoid": torch.sigmoid,
    "tanh": torch.tanh,
    "softmax": lambda x: torch.softmax(x, -1),
    "log_softmax": lambda x: torch.log_softmax(x, -1),
    "gelu": lambda x: 0.5 * x * (1 + torch.erf(x / 2**0.5)),  # the exact erf form
    "elu": F.elu,
    "selu": F.selu,
    "silu": lambda x: x * torch.sigmoid(x),
}


@pytest.mark.parametrize("act", list(ACTIVATIONS))
def test_activation_layer_and_argument(act: str) -> None:
    x = np.random.default_rng(1).normal(size=(4, 4)).astype(np.float32)
    as_layer = plan_for(_spec("4", f"    dense 3\n    {act}"))
    out_layer, w = _outputs(as_layer, x)
    expected = ACTIVATIONS[act](F.linear(T(x), w["dense_1.weight"], w["dense_1.bias"])).numpy()
    np.testing.assert_allclose(out_layer, expected, rtol=1e-5, atol=1e-6)
    if " " not in act:  # an activation with arguments is written as a layer
        out_arg, _ = _outputs(plan_for(_spec("4", f"    dense 3 {act}")), x)
        np.testing.assert_allclose(out_arg, expected, rtol=1e-5, atol=1e-6)


def _one_step(plan: RunPlan, x: np.ndarray) -> dict[str, np.ndarray]:
    state = backend.build(plan, initial_weights(plan.shapes, plan.seed), "cpu")
    y = np.zeros((len(x), *plan.shapes.output), np.float32)
    backend.train_epoch(
        state, backend.load_data(state, x, y), np.arange(len(x)), len(x), np.array([1e-12]), None, 0
    )
    return backend.get_weights(state)


def test_batchnorm_running_statistics_pytorch_convention() -> None:
    x = np.random.default_rng(2).normal(2.0, 3.0, size=(16, 5)).astype(np.float32)
    plan = plan_for(_spec("5", "    batchnorm momentum=0.2\n    dense 1"))
    w = _one_step(plan, x)
    # running = (1 - m) * running + m * batch, with the UNBIASED batch variance
    np.testing.assert_allclose(w["batchnorm_1.running_mean"], 0.2 * x.mean(0), rtol=1e-5)
    np.testing.assert_allclose(
        w["batchnorm_1.running_var"], 0.8 + 0.2 * x.var(0, ddof=1), rtol=1e-5
    )


def test_frozen_batchnorm_keeps_running_statistics_and_weights() -> None:
    x = np.random.default_rng(2).normal(2.0, 3.0, size=(16, 5)).astype(np.float32)
    plan = plan_for(_spec("5", "    batchnorm frozen\n    dense 1").replace("lr=0.1", "lr=0.5"))
    state = backend.build(plan, initial_weights(plan.shapes, 0), "cpu")
    y = np.ones((16, 1), np.float32)
    backend.train_epoch(
        state, backend.load_data(state, x, y), np.arange(16), 4, np.full(4, 0.5), None, 0
    )
    w = backend.get_weights(state)
    np.testing.assert_array_equal(w["batchnorm_1.running_mean"], np.zeros(5))
    np.testing.assert_array_equal(w["batchnorm_1.running_var"], np.ones(5))
    np.testing.assert_array_equal(w["batchnorm_1.weight"], np.ones(5))
    assert not np.allclose(w["dense_1.weight"], initial_weights(plan.shapes, 0)["dense_1.weight"])


def test_frozen_dense_gets_no_updates() -> None:
    x = np.random.default_rng(3).normal(size=(16, 4)).astype(np.float32)
    plan = plan_for(
        _spec("4", "    dense 6 relu frozen\n    dense 2").replace("sgd lr=0.1", "adam lr=0.1")
    )
    w0 = initial_weights(plan.shapes, 0)
    state = backend.build(plan, w0, "cpu")
    y = np.ones((16, 2), np.float32)
    backend.train_epoch(
        state, backend.load_data(state, x, y), np.arange(16), 4, np.full(4, 0.1), None, 0
    )
    w = backend.get_weights(state)
    np.testing.assert_array_equal(w["dense_1.weight"], w0["dense_1.weight"])
    assert not np.allclose(w["dense_2.weight"], w0["dense_2.weight"])


def test_dropout_training_is_inverted_and_seeded() -> None:
    x = np.ones((64, 50), np.float32)
    plan = plan_for(_spec("50", "    dropout 0.25"))
    network = build_network(plan.shapes).train()
    xt = torch.from_numpy(x)
    torch.manual_seed(7)
    a = network(xt).detach().numpy()
    torch.manual_seed(7)
    b = network(xt).detach().numpy()
    np.testing.assert_array_equal(a, b)
    np.testing.assert_allclose(np.unique(a), [0.0, 1 / 0.75], rtol=1e-6)
    assert abs((a == 0).mean() - 0.25) < 0.03


SPEC_FILES = sorted(p for p in SPECS.glob("*.nn") if p.name != "search.nn")


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_parameter_counts_equal_torch(path: Path) -> None:
    analysis = analyze_file(path)
    for shapes in analysis.shapes.values():
        network = build_network(shapes)
        assert sum(p.numel() for p in network.parameters()) == shapes.params
        assert sum(p.numel() for p in network.parameters()) == sum(
            v.size for k, v in initial_weights(shapes, 0).items() if "running" not in k
        )
