"""Graph models on the PyTorch backend (docs/semantics.md#graphs).

Each model's evaluation outputs must equal a hand-written torch.nn.functional computation
from the same initial weights; the built module's parameters must be what `specc summary`
counts, its state_dict keys the neutral weight keys; the prediction head is dropped at the
output step exactly as for a chain; frozen layers inside blocks keep their weights.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from click.testing import CliRunner
from run_helpers import plan_for

from specc.cli import main
from specc.executors import torch as backend
from specc.executors.torch.graph import GraphNetwork
from specc.executors.torch.model import build_network
from specc.init_weights import initial_weights
from specc.plan import RunPlan

Weights = dict[str, torch.Tensor]
X_IMG = np.random.default_rng(0).normal(size=(4, 2, 6, 6)).astype(np.float32)
X_VEC = np.random.default_rng(1).normal(size=(5, 4)).astype(np.float32)


def _spec(input_shape: str, layers: str, loss: str = "mse", task: str = "regression") -> str:
    features = int(np.prod([int(d) for d in input_shape.split("x")]))
    return (
        f"model m {{\n    input {input_shape}\n{layers}\n}}\n"
        f"data synthetic {task} features={features} samples=64 {{ batch 4 }}\n"
        f"train {{\n    loss {loss}\n    optimizer sgd lr=0.1\n    epochs 1\n}}\n"
    )


def _predict(plan: RunPlan, x: np.ndarray) -> tuple[np.ndarray, Weights]:
    weights = initial_weights(plan.shapes, plan.seed)
    state = backend.build(plan, weights, "cpu")
    y = np.zeros((len(x), *plan.shapes.output), np.float32)
    out = backend.predict(state, backend.load_data(state, x, y))
    return out, {k: torch.from_numpy(v) for k, v in weights.items()}


def conv(x: torch.Tensor, w: Weights, name: str, **kw: int | str) -> torch.Tensor:
    return F.conv2d(x, w[f"{name}.weight"], w[f"{name}.bias"], **kw)  # type: ignore[arg-type]


def dense(x: torch.Tensor, w: Weights, name: str) -> torch.Tensor:
    return F.linear(x, w[f"{name}.weight"], w[f"{name}.bias"])


def _residual_identity(x: torch.Tensor, w: Weights) -> torch.Tensor:
    h = F.relu(conv(x, w, "conv2d_1", padding="same"))
    body = conv(F.relu(conv(h, w, "conv2d_2", padding="same")), w, "conv2d_3", padding="same")
    return F.relu(body + h)


def _residual_conv_shortcut(x: torch.Tensor, w: Weights) -> torch.Tensor:
    body = F.relu(conv(x, w, "conv2d_1", stride=2, padding=1))
    body = conv(body, w, "conv2d_2", padding="same")
    return body + conv(x, w, "conv2d_3", stride=2)


def _parallel_concat(x: torch.Tensor, w: Weights) -> torch.Tensor:
    one = F.relu(conv(x, w, "conv2d_1"))
    two = conv(x, w, "conv2d_2", padding="same")
    three = conv(F.max_pool2d(x, 3, 1), w, "conv2d_3", padding=1)
    return torch.cat([one, two, three], dim=1).mean(dim=(2, 3))


def _branch_add(x: torch.Tensor, w: Weights) -> torch.Tensor:
    h = F.relu(dense(x, w, "dense_1"))
    skip = torch.tanh(dense(h, w, "dense_2"))
    return dense(dense(h, w, "dense_3") + skip, w, "dense_4")


def _branch_from_input(x: torch.Tensor, w: Weights) -> torch.Tensor:
    h = torch.sigmoid(dense(x, w, "dense_1"))
    return dense(x, w, "dense_2") * h


def _parallel_multiply(x: torch.Tensor, w: Weights) -> torch.Tensor:
    return torch.sigmoid(dense(x, w, "dense_1")) * dense(x, w, "dense_2")


def _parallel_average(x: torch.Tensor, w: Weights) -> torch.Tensor:
    parts = [dense(x, w, "dense_1"), torch.tanh(dense(x, w, "dense_2")), x]
    return (parts[0] + parts[1] + parts[2]) / 3


def _average_branch(x: torch.Tensor, w: Weights) -> torch.Tensor:
    a, b = dense(x, w, "a"), F.relu(dense(x, w, "dense_1"))
    return dense((b + a) / 2, w, "dense_2")


Formula = Callable[[torch.Tensor, Weights], torch.Tensor]
CASES: dict[str, tuple[str, str, Formula]] = {
    "residual_identity": (
        "2x6x6",
        "    conv2d 2 3 padding=same relu\n"
        "    residual {\n        conv2d 2 3 padding=same relu\n"
        "        conv2d 2 3 padding=same\n    }\n    relu",
        _residual_identity,
    ),
    "residual_conv_shortcut_stride_2": (
        "2x6x6",
        "    residual {\n        conv2d 3 3 stride=2 padding=1 relu\n"
        "        conv2d 3 3 padding=same\n        shortcut { conv2d 3 1 stride=2 }\n    }",
        _residual_conv_shortcut,
    ),
    "parallel_concat_of_3": (
        "2x6x6",
        "    parallel concat {\n        branch { conv2d 2 1 relu }\n"
        "        branch { conv2d 3 3 padding=same }\n"
        "        branch { maxpool2d 3 stride=1; conv2d 1 1 padding=1 }\n    }\n"
        "    global_avgpool",
        _parallel_concat,
    ),
    "model_branch_and_add_name": (
        "4",
        "    dense 5 relu\n    branch skip { dense 5 tanh }\n    dense 5\n    add skip\n"
        "    dense 3",
        _branch_add,
    ),
    "branch_from_input_and_multiply": (
        "4",
        "    branch gate { dense 4 sigmoid }\n    branch value from=input { dense 4 }\n"
        "    multiply value gate",
        _branch_from_input,
    ),
    "parallel_multiply": (
        "4",
        "    parallel multiply {\n        branch { dense 4 sigmoid }\n"
        "        branch { dense 4 }\n    }",
        _parallel_multiply,
    ),
    "parallel_average_with_identity": (
        "4",
        "    parallel average {\n        branch { dense 4 }\n        branch { dense 4 tanh }\n"
        "        branch { }\n    }",
        _parallel_average,
    ),
    "average_with_branch": (
        "4",
        "    dense 4 name=a\n    branch b from=input { dense 4 relu }\n    average b\n    dense 2",
        _average_branch,
    ),
}


@pytest.mark.parametrize("name", list(CASES))
def test_graph_forward_matches_functional(name: str) -> None:
    shape, layers, formula = CASES[name]
    plan = plan_for(_spec(shape, layers))
    assert not plan.shapes.is_chain
    x = X_IMG if "x" in shape else X_VEC
    out, w = _predict(plan, x)
    expected = formula(torch.from_numpy(x), w).numpy()
    assert out.shape == (len(x), *plan.shapes.output) == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("name", list(CASES))
def test_parameters_and_keys_are_the_summary(name: str, tmp_path: Path) -> None:
    shape, layers, _ = CASES[name]
    text = _spec(shape, layers)
    path = tmp_path / "m.nn"
    path.write_text(text)
    done = CliRunner().invoke(main, ["summary", "--json", str(path)])
    assert done.exit_code == 0, done.output
    rows = json.loads(done.stdout)["models"][0]["layers"]
    network = build_network(plan_for(text).shapes)
    assert isinstance(network, GraphNetwork)
    assert sum(p.numel() for p in network.parameters()) == sum(r["params"] for r in rows) > 0
    prefixes = {key.split(".")[0] for key in network.state_dict()}
    assert prefixes == {r["name"] for r in rows if r["params"]}


def test_chains_stay_sequential() -> None:
    network = build_network(plan_for(_spec("4", "    dense 3 relu\n    dense 2")).shapes)
    assert isinstance(network, torch.nn.Sequential)
    assert list(network.state_dict()) == [
        "dense_1.weight",
        "dense_1.bias",
        "dense_2.weight",
        "dense_2.bias",
    ]


def test_names_that_clash_with_module_attributes() -> None:
    # `wires` is an attribute of a graph network, `eval` of every module.
    layers = "    dense 4 name=eval\n    residual { dense 4 name=wires }\n    dense 2 name=training"
    plan = plan_for(_spec("4", layers))
    out, w = _predict(plan, X_VEC)
    h = dense(torch.from_numpy(X_VEC), w, "eval")
    np.testing.assert_allclose(
        out, dense(dense(h, w, "wires") + h, w, "training").numpy(), rtol=1e-5, atol=1e-6
    )
    state = backend.build(plan, initial_weights(plan.shapes, 0), "cpu")
    assert set(backend.get_weights(state)) == set(w)


def test_get_and_set_weights_by_name() -> None:
    plan = plan_for(_spec(*CASES["residual_conv_shortcut_stride_2"][:2]))
    state = backend.build(plan, initial_weights(plan.shapes, 0), "cpu")
    rng = np.random.default_rng(5)
    given = {
        k: rng.normal(size=v.shape).astype(np.float32)
        for k, v in backend.get_weights(state).items()
    }
    backend.set_weights(state, given)
    got = backend.get_weights(state)
    assert got.keys() == given.keys()
    for key in given:
        np.testing.assert_array_equal(got[key], given[key])


HEADS = {
    # the output step has the softmax as an argument: its activation is skipped
    "argument": "    parallel add {\n        branch { dense 3 }\n        branch { dense 3 }\n    }\n"
    "    dense 3 softmax",
    # the output step is the softmax itself, after a merge: the merge is the trunk's output
    "layer_after_merge": "    parallel add {\n        branch { dense 3 }\n"
    "        branch { dense 3 }\n    }\n    softmax",
}


@pytest.mark.parametrize("case", list(HEADS))
def test_the_loss_takes_logits_and_predictions_apply_the_head(case: str) -> None:
    plan = plan_for(
        _spec("4", HEADS[case], "sparse_categorical_crossentropy", "classification classes=3")
    )
    assert plan.fused_activation == "softmax"
    weights = initial_weights(plan.shapes, 0)
    state = backend.build(plan, weights, "cpu")
    w = {k: torch.from_numpy(v) for k, v in weights.items()}
    x = torch.from_numpy(X_VEC)
    logits = dense(x, w, "dense_1") + dense(x, w, "dense_2")
    if case == "argument":
        logits = dense(logits, w, "dense_3")
    with torch.no_grad():
        np.testing.assert_allclose(
            state.body.eval()(x).numpy(), logits.numpy(), rtol=1e-5, atol=1e-6
        )
    y = np.zeros(len(X_VEC), np.int64)
    probabilities = backend.predict(state, backend.load_data(state, X_VEC, y))
    np.testing.assert_allclose(
        probabilities, torch.softmax(logits, -1).numpy(), rtol=1e-5, atol=1e-6
    )


def test_frozen_block_keeps_its_weights_and_a_dead_branch_is_not_computed() -> None:
    layers = (
        "    dense 6 relu\n    branch unused { dense 4 }\n"
        "    residual frozen { batchnorm; dense 6 relu }\n    dense 2"
    )
    plan = plan_for(_spec("4", layers).replace("sgd lr=0.1", "adam lr=0.1"))
    w0 = initial_weights(plan.shapes, 0)
    state = backend.build(plan, w0, "cpu")
    assert isinstance(state.body, GraphNetwork)
    assert [wire.name for wire in state.body.wires] == [
        "dense_1",
        "batchnorm_1",
        "dense_3",
        "residual_1",
        "dense_4",
    ]
    assert state.body.idle_parameters()  # dense_2 (the unused branch) has trainable weights
    x = np.random.default_rng(3).normal(size=(16, 4)).astype(np.float32)
    y = np.ones((16, 2), np.float32)
    backend.train_epoch(
        state, backend.load_data(state, x, y), np.arange(16), 4, np.full(4, 0.1), None, 0
    )
    w = backend.get_weights(state)
    for key in (
        "batchnorm_1.weight",
        "batchnorm_1.running_mean",
        "dense_3.weight",
        "dense_2.weight",
    ):
        np.testing.assert_array_equal(w[key], w0[key], err_msg=key)
    assert not np.allclose(w["dense_1.weight"], w0["dense_1.weight"])
    assert not np.allclose(w["dense_4.weight"], w0["dense_4.weight"])


CONCAT_WITH_IDENTITY = (
    "    conv2d 3 3 padding=same relu\n"
    "    parallel concat {\n        branch { conv2d 2 1 relu }\n        branch { }\n    }\n"
    "    residual {\n        conv2d 5 3 padding=same; batchnorm\n    }\n"
    "    global_avgpool\n    dense 3 softmax"
)


def _classifier(**options: object) -> RunPlan:
    text = _spec(
        "2x6x6", CONCAT_WITH_IDENTITY, "sparse_categorical_crossentropy", "classification classes=3"
    )
    return plan_for(text, **options)


def test_torch_compile_traces_the_graph_without_breaks() -> None:
    """`fullgraph=True` fails on any graph break; aot_eager also traces the backward pass.
    (Inductor's code generation takes ~30 s on this CPU: benchmarks run it, not tests.)"""
    plan = _classifier()
    state = backend.build(plan, initial_weights(plan.shapes, 0), "cpu")
    state.network.train()
    x = torch.from_numpy(X_IMG)
    compiled = torch.compile(state.body, backend="aot_eager", fullgraph=True)
    eager_out = state.body(x)
    eager_out.square().sum().backward()
    eager_grads = [p.grad.clone() for p in state.body.parameters()]  # type: ignore[union-attr]
    state.optimizer.zero_grad()
    compiled_out = compiled(x)
    compiled_out.square().sum().backward()
    torch.testing.assert_close(compiled_out, eager_out)
    for got, want in zip((p.grad for p in state.body.parameters()), eager_grads, strict=True):
        torch.testing.assert_close(got, want)


def test_bf16_graph_trains_and_predicts_close_to_fp32() -> None:
    y = np.arange(len(X_IMG)) % 3
    fp32, bf16 = _classifier(), _classifier(precision="bf16")
    weights = initial_weights(fp32.shapes, 0)
    outs = []
    for plan in (fp32, bf16):
        state = backend.build(plan, weights, "cpu")
        assert state.autocast_dtype == (torch.bfloat16 if plan is bf16 else None)
        data = backend.load_data(state, X_IMG, y)
        outs.append(backend.predict(state, data))
        losses = backend.train_epoch(state, data, np.arange(4), 4, np.full(1, 0.01), None, 0)
        assert np.isfinite(losses).all()
    assert outs[1].dtype == np.float32
    np.testing.assert_allclose(outs[1], outs[0], atol=2e-2)
