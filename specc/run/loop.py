"""THE epoch loop, shared by every backend (docs/semantics.md#training).

The loop owns everything that must not differ between frameworks: the order examples are
visited in (one NumPy generator seeded from the train seed), the learning rate of every
step (`specc.schedule`), the metrics (`specc.metrics`), early stopping, checkpoints and
divergence detection. A backend only runs the steps of one epoch and evaluates.
"""

from __future__ import annotations

import math
import os
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from specc import metrics as M
from specc.data import Dataset
from specc.data.dataset import X, Y
from specc.errors import DIVERGED, DivergenceError
from specc.executors import Executor
from specc.plan import RunPlan
from specc.run import outputs as several
from specc.run.distributed import SINGLE, World, evaluate_split
from specc.run.order import ExampleOrder
from specc.run.progress import BAR_EVERY, Progress
from specc.run.record import RunDir
from specc.schedule import Schedule

STOP_AFTER_EPOCH_ENV = "SPECC_TEST_STOP_AFTER_EPOCH"  # tests: SIGKILL after this epoch's checkpoint
INTERRUPT_AT_EPOCH_ENV = "SPECC_TEST_INTERRUPT_AT_EPOCH"  # tests: Ctrl-C once N epochs are done
STOP_RANK_ENV = "SPECC_TEST_STOP_RANK"  # distributed tests: only this rank kills itself
EpochHook = Callable[[int, dict[str, Any]], bool]  # (epoch, record) -> stop training?


@dataclass
class Tracker:
    """Best-so-far bookkeeping for early stopping or checkpoint-best on one monitor."""

    monitor: str
    min_delta: float = 0.0
    best: float | None = None
    best_epoch: int = 0
    wait: int = 0

    def update(self, value: float | None, epoch: int) -> bool:
        """True when `value` improves on the best by more than `min_delta`.

        A monitor that is never reported (W506 warns) changes nothing; a NaN never improves.
        """
        if value is None:
            return False
        if not math.isfinite(value):
            self.wait += 1
            return False
        if self.best is None:
            improved = True
        elif M.is_minimised(self.monitor):
            improved = value < self.best - self.min_delta
        else:
            improved = value > self.best + self.min_delta
        if improved:
            self.best, self.best_epoch, self.wait = value, epoch, 0
        else:
            self.wait += 1
        return improved

    def state(self) -> dict[str, Any]:
        return {"best": self.best, "best_epoch": self.best_epoch, "wait": self.wait}

    def load(self, state: dict[str, Any]) -> None:
        self.best, self.best_epoch, self.wait = state["best"], state["best_epoch"], state["wait"]


@dataclass
class LoopResult:
    device: str
    epochs: int
    train_seconds: float
    metrics: dict[str, float]
    train_cpu_seconds: float = 0.0  # process CPU time of the epochs (steady on a busy machine)
    history: list[dict[str, Any]] = field(default_factory=list)
    stopped_early: bool = False
    best_epoch: int | None = None
    state: Any = None
    restored_epoch: int | None = None  # restore_best put back this epoch's weights
    compile_seconds: float = 0.0  # compiling the train step, not counted in train_seconds


def steps_per_epoch(n: int, batch_size: int, drop_last: bool) -> int:
    return n // batch_size if drop_last else -(-n // batch_size)


def _batch_sizes(n: int, batch_size: int, steps: int) -> np.ndarray:
    sizes = np.full(steps, batch_size, dtype=np.float64)
    sizes[-1] = n - batch_size * (steps - 1) if steps * batch_size > n else batch_size
    return sizes


def _evaluate(
    backend: Executor,
    state: Any,
    plan: RunPlan,
    data: Any,
    y: Y,
    prefix: str,
    world: World = SINGLE,
) -> dict[str, float]:
    """Loss and metrics over a split (sharded over ranks in a distributed run: `y` whole);
    per output too for a model with several (specc/run/outputs.py)."""
    count = len(y[world.shard(len(y))])
    width = 1 + len(plan.outputs) if plan.outputs else 0  # several: [total, each output's]
    loss, predicted = evaluate_split(world, backend, state, data, count, width)
    return several.evaluation(plan, loss, predicted, y, prefix)


def _load_shard(backend: Executor, state: Any, x: X, y: Y, world: World) -> Any:
    part = world.shard(len(x))
    return backend.load_data(state, x[part], y[part])


def train(
    plan: RunPlan,
    backend: Executor,
    dataset: Dataset,
    run: RunDir,
    progress: Progress,
    device: str,
    weights: dict[str, np.ndarray],
    resume: tuple[dict[str, np.ndarray], dict[str, Any]] | None = None,
    on_epoch_end: EpochHook | None = None,
    world: World = SINGLE,
) -> LoopResult:
    """Train `plan` from `weights` (or a checkpoint's `resume` state) and evaluate on test.

    `on_epoch_end(epoch, record)` sees each epoch's record; returning True ends training
    there (a sweep's pruner stopping a hopeless trial), and the run still finishes normally.
    In a distributed `world` (specc.run.distributed) each rank trains its slice of every
    global batch; rank 0 takes the decisions and broadcasts them.
    """
    state = backend.build(plan, weights, device)
    if world.active:  # the backend has it: specc.run.api refuses a run without it
        backend.distribute(state, plan.options.sync_batchnorm)  # type: ignore[attr-defined]
    train_data = backend.load_data(state, dataset.x_train, dataset.y_train)
    val_data = (
        _load_shard(backend, state, dataset.x_val, dataset.y_val, world)
        if len(dataset.x_val)
        else None
    )
    n, batch = len(dataset.x_train), plan.batch_size
    drop_last = bool(plan.data.batch.drop_last) and n >= batch
    steps = steps_per_epoch(n, batch, drop_last)
    sizes = _batch_sizes(steps * batch if drop_last else n, batch, steps)
    schedule = Schedule(plan.train, float(plan.train.optimizer.lr), steps, plan.epochs)
    examples = ExampleOrder(plan.seed, n, bool(plan.data.batch.shuffle))
    es = plan.train.early_stopping
    stopper = Tracker(es.monitor, float(es.min_delta)) if es else None
    keeper = Tracker(plan.train.checkpoint.monitor) if plan.train.checkpoint else None
    layer_names = [info.name for info in plan.shapes.layers]
    start, seconds_before = 0, 0.0
    if resume is not None:
        optimizer_blob, loop_state = resume
        backend.load_optimizer_state(state, optimizer_blob)
        schedule.load_state_dict(loop_state["schedule"])
        examples.load(loop_state["order"])
        if stopper and loop_state.get("stopper"):
            stopper.load(loop_state["stopper"])
        if keeper and loop_state.get("keeper"):
            keeper.load(loop_state["keeper"])
        start, seconds_before = int(loop_state["epoch"]), float(loop_state["train_seconds"])
        if loop_state.get("stopped_early"):
            start = plan.epochs  # it had already finished by early stopping
    on_step = progress.step_callback()
    stop_after = int(os.environ.get(STOP_AFTER_EPOCH_ENV, "0") or 0)
    if os.environ.get(STOP_RANK_ENV, str(world.rank)) != str(world.rank):
        stop_after = 0
    stopped_early = bool(resume and resume[1].get("stopped_early"))
    began, began_cpu = time.perf_counter(), time.process_time()
    compiler = backend.will_compile(state, steps) if hasattr(backend, "will_compile") else None
    if compiler and start < plan.epochs:
        progress.info(
            f"compiling the train step with {compiler} during epoch {start + 1}; this can take "
            "a minute, on a CPU most of all (`compile off` skips it)"
        )
    interrupt_at = os.environ.get(INTERRUPT_AT_EPOCH_ENV)
    for epoch in range(start, plan.epochs):
        if interrupt_at is not None and epoch == int(interrupt_at):
            os.kill(os.getpid(), signal.SIGINT)  # a test's stand-in for Ctrl-C
        t0 = time.perf_counter()
        order, rng_seed = examples.next_epoch()
        order = order[: steps * batch] if drop_last else order
        lrs = schedule.epoch_lrs(epoch)
        progress.start_epoch(epoch, steps)
        losses = backend.train_epoch(
            state,
            train_data,
            world.rank_order(order, batch, steps),
            batch // world.size,
            lrs,
            plan.augment,
            world.seed(rng_seed),
            progress=_rate(on_step) if on_step else None,
            keep_outputs=several.keep_outputs(plan),
        )
        outputs = None
        if several.keep_outputs(plan):
            losses, outputs = losses
        if world.active:  # each rank's loss is its slice's mean: the global mean is theirs
            losses = world.mean(losses)  # several outputs: each row [total, each output's]
        losses, parts = several.split_losses(plan, losses)
        seen = order
        if outputs is not None and world.active:  # every rank's slices, in rank order
            outputs, seen = world.gather(outputs), world.gathered_order(order, batch, steps)
        first = epoch * steps
        bad = np.flatnonzero(~np.isfinite(losses))
        if world.active and not world.agree(bool(len(bad))):
            bad = bad[:0]
        step_records = [
            {"step": first + i + 1, "epoch": epoch + 1, "loss": float(losses[i])}
            for i in range(len(losses) if not len(bad) else int(bad[0]))
        ]
        if len(bad):
            run.add_records(step_records)
            _diverged(plan, run, first + int(bad[0]) + 1, epoch + 1, float(lrs[int(bad[0])]))
        record: dict[str, Any] = {
            "epoch": epoch + 1,
            "loss": float(np.dot(losses, sizes) / sizes.sum()),
        }
        if parts is not None and not len(bad):
            record.update(several.epoch_losses(plan, parts, sizes))
        if outputs is not None:  # the training passes' own outputs, as the steps saw them
            record.update(several.metrics(plan, outputs, dataset.y_train[seen]))
        if val_data is not None:
            record.update(_evaluate(backend, state, plan, val_data, dataset.y_val, "val_", world))
        record["lr"] = float(lrs[-1])
        record["seconds"] = time.perf_counter() - t0
        schedule.after_epoch(record)
        if keeper and keeper.update(record.get(keeper.monitor), epoch + 1):
            run.save_weights("best.safetensors", backend.get_weights(state), layer_names)
        if (
            stopper
            and stopper.update(record.get(stopper.monitor), epoch + 1)
            and es
            and es.restore_best
        ):
            run.save_weights(
                "checkpoints/restore_best.safetensors", backend.get_weights(state), layer_names
            )
        run.add_records([*step_records, record])
        if plan.train.checkpoint and plan.train.checkpoint.save == "last":
            run.save_weights("last.safetensors", backend.get_weights(state), layer_names)
        stopped_early = world.agree(
            bool(stopper and es and stopper.wait >= int(es.patience) and stopper.best is not None)
        )
        loop_state = {
            "epoch": epoch + 1,
            "epochs": plan.epochs,  # the length its schedule was computed for
            "schedule": schedule.state_dict(),
            "order": examples.state(),
            "stopper": stopper.state() if stopper else None,
            "keeper": keeper.state() if keeper else None,
            "train_seconds": seconds_before
            + time.perf_counter()
            - began
            - _compiled(backend, state),
            "stopped_early": stopped_early,
        }
        run.save_checkpoint(backend.get_weights(state), backend.optimizer_state(state), loop_state)
        world.barrier()  # the checkpoint is on disk before any rank goes on
        progress.end_epoch(record)
        if compiler and epoch == start and _compiled(backend, state):
            progress.info(
                f"compiled in {_compiled(backend, state):.1f}s (kept apart from the training time)"
            )
        if stop_after and epoch + 1 == stop_after:
            os.kill(os.getpid(), signal.SIGKILL)  # a test's stand-in for a killed run
        if stopped_early and es is not None:
            progress.info(
                f"early stopping: `{es.monitor}` did not improve for {es.patience} epoch(s)"
            )
            break
        if on_epoch_end is not None and world.agree(on_epoch_end(epoch + 1, record)):
            break
    compile_seconds = _compiled(backend, state)
    train_seconds = seconds_before + time.perf_counter() - began - compile_seconds
    cpu_seconds = time.process_time() - began_cpu
    history = [r for r in run.records if "step" not in r]
    reported = history[-1] if history else {}
    restored = None
    if (
        stopper
        and es
        and es.restore_best
        and world.agree((run.path / "checkpoints/restore_best.safetensors").exists())
        and stopper.best_epoch != len(history)
    ):
        from specc.run.record import load_arrays

        best = (
            load_arrays(run.path / "checkpoints/restore_best.safetensors")[0]
            if world.main
            else None
        )
        backend.set_weights(state, world.broadcast(best))
        restored = stopper.best_epoch
        reported = next((r for r in history if r["epoch"] == restored), reported)
        progress.info(
            f"restore_best: the final weights are epoch {restored}'s "
            f"(best `{stopper.monitor}` {stopper.best:.4f}), not epoch {len(history)}'s"
        )
    # the metrics of the weights kept: the restored epoch's, else the last epoch's
    final: dict[str, float] = {k: v for k, v in reported.items() if k not in ("epoch", "seconds")}
    if len(dataset.x_test):
        test_data = _load_shard(backend, state, dataset.x_test, dataset.y_test, world)
        final.update(_evaluate(backend, state, plan, test_data, dataset.y_test, "test_", world))
    return LoopResult(
        device=device,
        epochs=len(history),
        train_seconds=train_seconds,
        metrics=final,
        train_cpu_seconds=cpu_seconds,
        history=history,
        stopped_early=stopped_early,
        best_epoch=stopper.best_epoch if stopper else (keeper.best_epoch if keeper else None),
        state=state,
        restored_epoch=restored,
        compile_seconds=compile_seconds,
    )


def _compiled(backend: Executor, state: Any) -> float:
    """Seconds this process spent compiling the train step (0 where a backend cannot tell)."""
    return float(backend.compile_seconds(state)) if hasattr(backend, "compile_seconds") else 0.0


def _rate(update: Any) -> Any:
    """Wrap the bar's update so it also shows steps per second."""
    began = time.perf_counter()

    def on_step(done: int, loss: float) -> None:
        update(done, loss, done / max(1e-9, time.perf_counter() - began))

    on_step.every = BAR_EVERY  # type: ignore[attr-defined]
    return on_step


def _diverged(plan: RunPlan, run: RunDir, step: int, epoch: int, lr: float) -> None:
    lower = f"{lr / 10:.0e}" if lr > 0 else "a smaller value"
    kept = (
        "the last good checkpoint is kept in checkpoints/"
        if epoch > 1
        else "no epoch finished, so no checkpoint was kept"
    )
    raise DivergenceError(
        f"{DIVERGED} at step {step} (epoch {epoch}); training stopped ({kept})",
        f"lower the learning rate (e.g. lr={lower}), add `clip_norm`, or check the data scaling",
        str(run.path),
    )
