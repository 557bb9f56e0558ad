"""Schedules vs torch.optim.lr_scheduler (or closed forms), metrics and initialisers by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from run_helpers import plan_for, tabular_spec

from specc import metrics as M
from specc.analysis import analyze
from specc.init_weights import fans, initial_weights
from specc.schedule import Schedule

S, E = 10, 6  # steps per epoch, epochs


def _schedule(text: str) -> Schedule:
    plan = plan_for(tabular_spec("    dense 1", "mse", "sgd lr=0.1", extra=f"    {text}\n"))
    return Schedule(plan.train, 0.1, S, E)


def _ours(schedule: Schedule) -> np.ndarray:
    return np.concatenate([schedule.epoch_lrs(e) for e in range(E)])


def _torch(make, per_step: bool) -> np.ndarray:
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    scheduler = make(opt)
    out = []
    for _ in range(E):
        for _ in range(S):
            out.append(opt.param_groups[0]["lr"])
            opt.step()
            if per_step:
                scheduler.step()
        if not per_step:
            scheduler.step()
    return np.array(out)


LR = torch.optim.lr_scheduler
CASES = {
    "schedule step every=2 gamma=0.5": (lambda o: LR.StepLR(o, 2, 0.5), False),
    "schedule multistep milestones=[1, 4] gamma=0.3": (
        lambda o: LR.MultiStepLR(o, [1, 4], 0.3),
        False,
    ),
    "schedule exponential 0.9": (lambda o: LR.ExponentialLR(o, 0.9), False),
    "schedule cosine min_lr=0.01": (lambda o: LR.CosineAnnealingLR(o, S * E, 0.01), True),
    "schedule one_cycle max_lr=0.5 pct_start=0.25": (
        lambda o: LR.OneCycleLR(
            o, 0.5, total_steps=S * E, pct_start=0.25, cycle_momentum=False, anneal_strategy="cos"
        ),
        True,
    ),
}


@pytest.mark.parametrize("text", list(CASES))
def test_schedule_matches_torch(text: str) -> None:
    make, per_step = CASES[text]
    np.testing.assert_allclose(_ours(_schedule(text)), _torch(make, per_step), rtol=1e-6)


def test_warmup_multiplies_any_schedule() -> None:
    ours = _ours(_schedule("schedule exponential 0.9\n    warmup 1.5"))
    t = np.arange(S * E)
    expected = 0.1 * 0.9 ** (t // S) * np.minimum(1.0, (t + 1) / 15)  # W = round(1.5 * 10)
    np.testing.assert_allclose(ours, expected, rtol=1e-12)
    steps = _ours(_schedule("warmup steps=4"))
    np.testing.assert_allclose(steps[:5], 0.1 * np.array([0.25, 0.5, 0.75, 1.0, 1.0]))


def test_cosine_closed_form() -> None:
    ours = _ours(_schedule("schedule cosine min_lr=0.01"))
    t = np.arange(S * E)
    np.testing.assert_allclose(ours, 0.01 + 0.09 * (1 + np.cos(math.pi * t / (S * E))) / 2)


def test_reduce_on_plateau_and_state_round_trip() -> None:
    schedule = _schedule(
        "schedule reduce_on_plateau monitor=val_loss factor=0.5 patience=1 min_lr=0.01"
    )
    seen = []
    for value in [1.0, 0.9, 0.95, 0.96, 0.8, 0.85, 0.86, 0.87]:
        seen.append(schedule.epoch_lrs(0)[0])
        schedule.after_epoch({"val_loss": value})
    assert seen == pytest.approx([0.1, 0.1, 0.1, 0.05, 0.025, 0.025, 0.0125, 0.01])
    again = _schedule("schedule reduce_on_plateau factor=0.5 patience=1 min_lr=0.01")
    again.load_state_dict(schedule.state_dict())
    assert again.epoch_lrs(3)[0] == schedule.epoch_lrs(3)[0] == pytest.approx(0.01)
    maximise = _schedule("schedule reduce_on_plateau monitor=val_accuracy factor=0.5 patience=0")
    maximise.after_epoch({"val_accuracy": 0.5})
    maximise.after_epoch({"val_accuracy": 0.6})
    assert maximise.epoch_lrs(0)[0] == pytest.approx(0.1)
    maximise.after_epoch({"val_accuracy": 0.55})
    assert maximise.epoch_lrs(0)[0] == pytest.approx(0.05)


# ---- metrics -----------------------------------------------------------------------------

PROBS = np.array([[0.7, 0.2, 0.1], [0.1, 0.3, 0.6], [0.2, 0.5, 0.3], [0.5, 0.4, 0.1]])
LABELS = np.array([0, 2, 2, 1])  # predicted: 0, 2, 1, 0


def test_classification_metrics_by_hand() -> None:
    assert M.accuracy(PROBS, LABELS) == 0.5
    assert M.accuracy(PROBS, np.eye(3)[LABELS]) == 0.5  # one-hot targets
    assert M.top_k_accuracy(1)(PROBS, LABELS) == 0.5
    assert M.top_k_accuracy(2)(PROBS, LABELS) == 1.0  # every label is in its top two
    # per class (0, 1, 2): precision 1/2, 0/1, 1/1; recall 1/1, 0/1, 1/2
    assert M.precision(PROBS, LABELS) == pytest.approx((0.5 + 0 + 1) / 3)
    assert M.recall(PROBS, LABELS) == pytest.approx((1 + 0 + 0.5) / 3)
    assert M.f1(PROBS, LABELS) == pytest.approx((2 / 3 + 0 + 2 / 3) / 3)


def test_binary_metrics_score_class_one() -> None:
    p = np.array([[0.9], [0.4], [0.6], [0.2]])
    y = np.array([[1.0], [1.0], [0.0], [0.0]])
    assert M.accuracy(p, y) == 0.5
    assert M.precision(p, y) == 0.5
    assert M.recall(p, y) == 0.5


def test_regression_metrics_and_direction() -> None:
    out = np.array([[1.0, 2.0], [3.0, 5.0]])
    y = np.array([[1.0, 1.0], [2.0, 5.0]])
    assert M.mse(out, y) == 0.5
    assert M.mae(out, y) == 0.5
    assert M.is_minimised("val_loss") and M.is_minimised("test_mae")
    assert not M.is_minimised("val_accuracy")


# ---- initialisers ------------------------------------------------------------------------


def test_initial_weights_follow_the_semantics_draw_order() -> None:
    text = tabular_spec(
        "    dense 5 init=he_normal bias_init=ones\n    batchnorm\n    dense 3\n    layernorm",
        "mse",
    )
    plan = plan_for(text, seed=9)
    weights = initial_weights(plan.shapes, 9)
    rng = np.random.default_rng(9)
    expected_1 = rng.normal(0.0, math.sqrt(2.0 / 6), size=(5, 6))
    limit = math.sqrt(6.0 / (5 + 3))
    expected_2 = rng.uniform(-limit, limit, size=(3, 5))
    np.testing.assert_array_equal(weights["dense_1.weight"], expected_1.astype(np.float32))
    np.testing.assert_array_equal(weights["dense_1.bias"], np.ones(5, np.float32))
    np.testing.assert_array_equal(weights["dense_2.weight"], expected_2.astype(np.float32))
    np.testing.assert_array_equal(weights["batchnorm_1.running_var"], np.ones(5))
    assert list(weights) == [
        "dense_1.weight", "dense_1.bias", "batchnorm_1.weight", "batchnorm_1.bias",
        "batchnorm_1.running_mean", "batchnorm_1.running_var", "dense_2.weight", "dense_2.bias",
        "layernorm_1.weight", "layernorm_1.bias",
    ]  # fmt: skip
    assert all(v.dtype == np.float32 for v in weights.values())


def test_conv_fans_and_uniform_normal_inits() -> None:
    assert fans((8, 3, 5, 5)) == (75, 200)
    text = (
        "model m { input 1x6x6; conv2d 4 3 init=uniform(-0.5, 0.25); flatten;"
        " dense 2 init=normal(0.5, 3) }\n"
        "data synthetic regression features=36 { batch 4 }\n"
        "train { loss mse; epochs 1 }\n"
    )
    analysis = analyze(text)
    assert analysis.ok, analysis.errors
    w = initial_weights(analysis.shapes["m"], 0)
    conv = w["conv2d_1.weight"]
    assert conv.shape == (4, 1, 3, 3) and conv.min() >= -0.5 and conv.max() <= 0.25
    dense = w["dense_2.weight"] if "dense_2.weight" in w else w["dense_1.weight"]
    assert abs(dense.mean() - 3.0) < 0.2 and abs(dense.std() - 0.5) < 0.1


def test_tracker_ignores_an_unreported_monitor_and_respects_min_delta() -> None:
    from specc.run.loop import Tracker

    tracker = Tracker("val_loss", min_delta=0.1)
    assert not tracker.update(None, 1) and tracker.wait == 0 and tracker.best is None
    assert tracker.update(1.0, 2)
    assert not tracker.update(0.95, 3) and tracker.wait == 1  # not better by > 0.1
    assert tracker.update(0.8, 4) and tracker.best_epoch == 4 and tracker.wait == 0
    accuracy = Tracker("val_accuracy")
    assert accuracy.update(0.5, 1) and accuracy.update(0.6, 2) and not accuracy.update(0.55, 3)
