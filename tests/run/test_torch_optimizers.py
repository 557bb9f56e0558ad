"""Optimizers and losses against a direct PyTorch computation (docs/semantics.md).

Each test builds the spec's model with specc's torch backend and the same network by hand
(same initial weights), runs 3 steps of the backend's `train_epoch` and 3 steps of a plain
loop with `torch.optim.X` given the settings the semantics names, and compares losses and
weights to 1e-6.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from run_helpers import arrays, plan_for, tabular_spec
from torch import nn

from specc.executors import torch as backend
from specc.init_weights import initial_weights

LAYERS = "    dense 5 tanh\n    dense 3"


def _by_hand(weights: dict[str, np.ndarray]) -> nn.Sequential:
    net = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 3))
    with torch.no_grad():
        for i, j in ((0, "dense_1"), (2, "dense_2")):
            net[i].weight.copy_(torch.from_numpy(weights[f"{j}.weight"]))
            net[i].bias.copy_(torch.from_numpy(weights[f"{j}.bias"]))
    return net


def _compare(spec: str, make_opt, loss_fn, y: np.ndarray, lrs=(0.1, 0.05, 0.02), clip=None) -> None:
    plan = plan_for(spec)
    w0 = initial_weights(plan.shapes, plan.seed)
    state = backend.build(plan, w0, "cpu")
    x = arrays()
    data = backend.load_data(state, x, y)
    ours = backend.train_epoch(state, data, np.arange(48), 16, np.array(lrs), None, 0)

    net = _by_hand(w0)
    opt = make_opt(net.parameters())
    theirs = []
    for step in range(3):
        for group in opt.param_groups:
            group["lr"] = lrs[step]
        xb = torch.from_numpy(x[step * 16 : (step + 1) * 16])
        yb = torch.from_numpy(y[step * 16 : (step + 1) * 16])
        loss = loss_fn(net(xb), yb)
        opt.zero_grad()
        loss.backward()
        if clip is not None:
            clip(net.parameters())
        opt.step()
        theirs.append(loss.item())
    np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-7)
    got = backend.get_weights(state)
    np.testing.assert_allclose(got["dense_1.weight"], net[0].weight.detach().numpy(), atol=1e-6)
    np.testing.assert_allclose(got["dense_2.bias"], net[2].bias.detach().numpy(), atol=1e-6)
    assert not np.allclose(got["dense_1.weight"], w0["dense_1.weight"])  # it did train


REGRESSION_Y = np.random.default_rng(2).normal(size=(48, 3)).astype(np.float32)

OPTIMIZERS = {
    # IR text -> the torch optimizer with the settings docs/semantics.md prescribes
    "sgd lr=0.1": lambda p: torch.optim.SGD(p, lr=0.1),
    "sgd lr=0.1 momentum=0.9 nesterov=true weight_decay=0.01": lambda p: torch.optim.SGD(
        p, lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.01
    ),
    "adam lr=0.1": lambda p: torch.optim.Adam(p, lr=0.1, betas=(0.9, 0.999), eps=1e-7),
    "adam lr=0.1 weight_decay=0.1 amsgrad=true": lambda p: torch.optim.Adam(
        p, lr=0.1, eps=1e-7, weight_decay=0.1, amsgrad=True
    ),
    "adamw lr=0.1": lambda p: torch.optim.AdamW(p, lr=0.1, eps=1e-7, weight_decay=0.01),
    "rmsprop lr=0.1": lambda p: torch.optim.RMSprop(p, lr=0.1, alpha=0.9, eps=1e-7),
    "rmsprop lr=0.1 momentum=0.5 centered=true weight_decay=0.01": lambda p: torch.optim.RMSprop(
        p, lr=0.1, alpha=0.9, eps=1e-7, momentum=0.5, centered=True, weight_decay=0.01
    ),
    "adagrad lr=0.1": lambda p: torch.optim.Adagrad(
        p, lr=0.1, initial_accumulator_value=0.1, eps=1e-7
    ),
}


@pytest.mark.parametrize("optimizer", list(OPTIMIZERS))
def test_optimizer_matches_torch(optimizer: str) -> None:
    _compare(
        tabular_spec(LAYERS, "mse", optimizer), OPTIMIZERS[optimizer], F.mse_loss, REGRESSION_Y
    )


def test_sgd_momentum_is_pytorch_form_by_formula() -> None:
    """v = m*v + g; w -= lr*v (not Keras's v = m*v - lr*g), checked by hand on one weight."""
    plan = plan_for(
        tabular_spec("    dense 1 bias=false", "mse", "sgd lr=0.5 momentum=0.9", features=1)
    )
    w0 = {"dense_1.weight": np.array([[1.0]], np.float32)}
    state = backend.build(plan, w0, "cpu")
    x = np.ones((3, 1), np.float32)
    y = np.zeros((3, 1), np.float32)
    data = backend.load_data(state, x, y)
    lrs = np.array([0.5, 0.1, 0.1])
    backend.train_epoch(state, data, np.arange(3), 1, lrs, None, 0)
    w, v = 1.0, 0.0
    for lr in lrs:
        g = 2.0 * w  # d/dw (w*1 - 0)^2
        v = 0.9 * v + g
        w -= lr * v
    assert backend.get_weights(state)["dense_1.weight"][0, 0] == pytest.approx(w, rel=1e-6)


@pytest.mark.parametrize(
    ("extra", "clip"),
    [
        ("clip_norm=0.05", lambda p: torch.nn.utils.clip_grad_norm_(list(p), 0.05)),
        ("clip_value=0.01", lambda p: torch.nn.utils.clip_grad_value_(list(p), 0.01)),
    ],
)
def test_gradient_clipping(extra: str, clip) -> None:
    spec = tabular_spec(LAYERS, "mse", f"sgd lr=0.1 {extra}")
    _compare(spec, lambda p: torch.optim.SGD(p, lr=0.1), F.mse_loss, REGRESSION_Y, clip=clip)


CLASSES = np.random.default_rng(3).integers(0, 3, size=48).astype(np.int64)
ONE_HOT = np.eye(3, dtype=np.float32)[CLASSES]


def _smoothed_ce(out: torch.Tensor, y: torch.Tensor, s: float) -> torch.Tensor:
    target = F.one_hot(y, 3).float() * (1 - s) + s / 3
    return -(target * torch.log_softmax(out, -1)).sum(-1).mean()


def _huber(out: torch.Tensor, y: torch.Tensor, d: float) -> torch.Tensor:
    e = (out - y).abs()
    return torch.where(e <= d, 0.5 * e**2, d * (e - 0.5 * d)).mean()


LOSSES = {
    # (layers, loss IR, targets, direct formula on the logits/outputs of the hand-built net)
    "ce_fused_softmax": (
        LAYERS + " softmax",
        "sparse_categorical_crossentropy",
        CLASSES,
        lambda o, y: -torch.log_softmax(o, -1)[torch.arange(len(y)), y].mean(),
    ),
    "ce_logits_smoothing": (
        LAYERS,
        "cross_entropy label_smoothing=0.2",
        CLASSES,
        lambda o, y: _smoothed_ce(o, y, 0.2),
    ),
    "categorical_ce": (
        LAYERS + " softmax",
        "categorical_crossentropy label_smoothing=0.1",
        ONE_HOT,
        lambda o, y: -(((1 - 0.1) * y + 0.1 / 3) * torch.log_softmax(o, -1)).sum(-1).mean(),
    ),
    "mae": (LAYERS, "mae", REGRESSION_Y, lambda o, y: (o - y).abs().mean()),
    "huber": (LAYERS, "huber 0.3", REGRESSION_Y, lambda o, y: _huber(o, y, 0.3)),
}


@pytest.mark.parametrize("name", list(LOSSES))
def test_loss_matches_formula(name: str) -> None:
    layers, loss, y, formula = LOSSES[name]
    spec = tabular_spec(layers, loss, "sgd lr=0.1")
    if y is CLASSES:  # class-index losses on regression data are E406
        spec = spec.replace("regression", "classification classes=3")
    if loss.startswith("categorical"):
        spec = spec.replace("regression", "classification classes=3").replace(
            "batch 16", "one_hot\n    batch 16"
        )
    _compare(spec, lambda p: torch.optim.SGD(p, lr=0.1), formula, y)


def test_nll_on_log_softmax() -> None:
    layers = LAYERS + " log_softmax"
    spec = tabular_spec(layers, "nll", "sgd lr=0.1")
    plan = plan_for(spec.replace("regression", "classification classes=3"))
    state = backend.build(plan, initial_weights(plan.shapes, 0), "cpu")
    net = _by_hand(initial_weights(plan.shapes, 0))
    x = arrays()
    data = backend.load_data(state, x, CLASSES)
    direct = F.nll_loss(torch.log_softmax(net(torch.from_numpy(x)), -1), torch.from_numpy(CLASSES))
    assert backend.evaluate_loss(state, data) == pytest.approx(direct.item(), rel=1e-6)


def test_binary_crossentropy_fuses_sigmoid_and_smooths() -> None:
    layers = "    dense 4 relu\n    dense 1 sigmoid"
    plan = plan_for(tabular_spec(layers, "binary_crossentropy label_smoothing=0.1", "adam"))
    assert plan.fused_activation == "sigmoid"
    w = initial_weights(plan.shapes, 0)
    state = backend.build(plan, w, "cpu")
    x = arrays()
    y = (np.random.default_rng(4).random((48, 1)) > 0.5).astype(np.float32)
    data = backend.load_data(state, x, y)
    h = np.maximum(x @ w["dense_1.weight"].T + w["dense_1.bias"], 0)
    logit = (h @ w["dense_2.weight"].T + w["dense_2.bias"]).astype(np.float64)
    target = y * 0.9 + 0.05
    p = 1 / (1 + np.exp(-logit))
    expected = -np.mean(target * np.log(p) + (1 - target) * np.log(1 - p))
    assert backend.evaluate_loss(state, data) == pytest.approx(expected, rel=1e-5)
    # predictions still apply the sigmoid
    np.testing.assert_allclose(backend.predict(state, data), p, rtol=1e-5)
