"""Learning rates for every step, from the step index alone (docs/semantics.md#schedules).

Pure NumPy so both backends (and the emitters' tests) get the same numbers: the loop asks
for one epoch's rates at a time and hands them to the backend, which sets the rate before
each step without any framework scheduler. `reduce_on_plateau` is the only stateful
schedule; its state round-trips through `state_dict` for `--resume`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from specc.ir import schedules as S
from specc.ir.training import Train
from specc.metrics import is_minimised

# base rate for (schedule, lr, epoch, step indices t, total steps T) -> rates per step
BaseRule = Callable[[Any, float, int, np.ndarray, int], np.ndarray]


def _constant(node: S.Constant, lr: float, e: int, t: np.ndarray, total: int) -> np.ndarray:
    return np.full(t.shape, lr)


def _step(node: S.StepDecay, lr: float, e: int, t: np.ndarray, total: int) -> np.ndarray:
    return np.full(t.shape, lr * float(node.gamma) ** (e // int(node.every)))


def _multistep(node: S.MultiStep, lr: float, e: int, t: np.ndarray, total: int) -> np.ndarray:
    passed = sum(1 for m in node.milestones if m <= e)
    return np.full(t.shape, lr * float(node.gamma) ** passed)


def _exponential(node: S.Exponential, lr: float, e: int, t: np.ndarray, total: int) -> np.ndarray:
    return np.full(t.shape, lr * float(node.gamma) ** e)


def _cosine(node: S.Cosine, lr: float, e: int, t: np.ndarray, total: int) -> np.ndarray:
    low = float(node.min_lr)
    return low + (lr - low) * (1.0 + np.cos(math.pi * t / total)) / 2.0


def _one_cycle(node: S.OneCycle, lr: float, e: int, t: np.ndarray, total: int) -> np.ndarray:
    """torch.optim.lr_scheduler.OneCycleLR (two phases, cosine annealing), per step."""
    peak = float(node.max_lr) if node.max_lr is not None else lr
    start = peak / float(node.div_factor)
    end = start / float(node.final_div_factor)
    rise_end = float(node.pct_start) * total - 1.0
    fall_end = float(total - 1)

    def anneal(a: float, b: float, pct: np.ndarray) -> np.ndarray:
        return b + (a - b) / 2.0 * (np.cos(math.pi * pct) + 1.0)

    rising = t <= rise_end
    pct_up = np.divide(t, rise_end, out=np.ones(t.shape), where=rise_end > 0)
    span = fall_end - rise_end
    pct_down = np.divide(t - rise_end, span, out=np.ones(t.shape), where=span > 0)
    return np.where(rising, anneal(start, peak, pct_up), anneal(peak, end, pct_down))


def _plateau(node: S.ReduceOnPlateau, lr: float, e: int, t: np.ndarray, total: int) -> np.ndarray:
    return np.full(t.shape, lr)  # the reduction is a state multiplier (see Schedule)


BASE_RULES: dict[type, BaseRule] = {
    S.Constant: _constant,
    S.StepDecay: _step,
    S.MultiStep: _multistep,
    S.Exponential: _exponential,
    S.Cosine: _cosine,
    S.OneCycle: _one_cycle,
    S.ReduceOnPlateau: _plateau,
}


class Schedule:
    """The rate of every step of a run: `epoch_lrs(e)`, then `after_epoch(metrics)`."""

    def __init__(self, train: Train, base_lr: float, steps_per_epoch: int, epochs: int) -> None:
        self.node = train.schedule
        self.warmup = train.warmup
        self.base_lr = float(base_lr)
        self.steps_per_epoch = max(1, int(steps_per_epoch))
        self.total = self.steps_per_epoch * int(epochs)
        # reduce_on_plateau state
        self.scale = 1.0
        self.best: float | None = None
        self.wait = 0

    def warmup_steps(self) -> int:
        if self.warmup is None:
            return 0
        if self.warmup.steps is not None:
            return int(self.warmup.steps)
        return max(1, round(float(self.warmup.epochs or 0) * self.steps_per_epoch))

    def epoch_lrs(self, epoch: int) -> np.ndarray:
        """float64 rates for the steps of `epoch` (0-based)."""
        t = np.arange(
            epoch * self.steps_per_epoch, (epoch + 1) * self.steps_per_epoch, dtype=np.float64
        )
        rates = BASE_RULES[type(self.node)](self.node, self.base_lr, epoch, t, self.total)
        rates = rates * self.scale
        if isinstance(self.node, S.ReduceOnPlateau):
            rates = np.maximum(rates, float(self.node.min_lr))
        width = self.warmup_steps()
        if width:
            rates = rates * np.minimum(1.0, (t + 1.0) / width)
        return rates.astype(np.float64)

    def after_epoch(self, metrics: dict[str, float]) -> None:
        """Feed an epoch's metrics to `reduce_on_plateau` (no-op for other schedules)."""
        node = self.node
        if not isinstance(node, S.ReduceOnPlateau):
            return
        value = metrics.get(node.monitor)
        if value is None or not math.isfinite(value):
            return
        minimise = is_minimised(node.monitor)
        better = self.best is None or (value < self.best if minimise else value > self.best)
        if better:
            self.best, self.wait = value, 0
            return
        self.wait += 1
        if self.wait >= int(node.patience):
            floor = float(node.min_lr) / self.base_lr
            self.scale = max(self.scale * float(node.factor), floor)
            self.wait = 0

    def state_dict(self) -> dict[str, Any]:
        return {"scale": self.scale, "best": self.best, "wait": self.wait}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.scale = float(state["scale"])
        self.best = None if state["best"] is None else float(state["best"])
        self.wait = int(state["wait"])
