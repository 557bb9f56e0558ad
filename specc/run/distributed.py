"""Data-parallel training over several ranks (docs/distributed.md).

A run started by `torchrun` (or `specc run --nproc N`, which starts torchrun itself) finds
RANK, WORLD_SIZE and LOCAL_RANK in its environment; a tensorflow worker finds TF_CONFIG.
`World.from_env()` reads them. The shared loop then keeps the single-process meaning by
construction:

- `batch B` is the global batch: each epoch's one permutation (from the seed and the epoch)
  is cut step by step into N equal rank slices (`rank_order`), so no sampler needs a
  `set_epoch`; a B that N does not divide is E602.
- per-step losses and evaluation sums are reduced over ranks (`mean`, `evaluate_split`),
  evaluation over disjoint shards of the unpadded split;
- decisions (early stopping, NaN abort, a sweep's pruning) are taken by rank 0 and
  broadcast (`agree`), so no rank leaves the loop alone;
- only rank 0 writes: the other ranks hold a `MirrorRunDir` that keeps records in memory.

Collectives go through the engine that started the ranks (`COMMS`: torch.distributed with
gloo on CPU and NCCL on CUDA, or TensorFlow's MultiWorkerMirroredStrategy), imported only
when the world has more than one rank.
"""

from __future__ import annotations

import importlib
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from specc.diagnostics import Diagnostic
from specc.errors import DivergenceError, InterruptedRun, PlanError, RunError, UsageError
from specc.run.record import RunDir

if TYPE_CHECKING:
    from specc.executors import Executor
    from specc.plan import RunPlan

RANK_SEED_STRIDE = 1_000_003  # dropout/augmentation streams: seed + rank * this
LAUNCH_INFO_ENV = "SPECC_LAUNCH_INFO"  # `--nproc`: rank 0 writes the run directory here
LAUNCHED_ENV = "SPECC_LAUNCHED"  # set by `--nproc`: its launcher reports a lost rank


class PeerLost(RunError):
    """Another rank stopped answering (killed, or failed on its own)."""


# kind -> the module with that engine's collectives (start, stop, barrier, broadcast,
# sum_arrays, gather, lost_peer); imported only when a run has several ranks.
COMMS: dict[str, str] = {
    "torch": "specc.executors.torch.comm",
    "tensorflow": "specc.executors.tensorflow.comm",
}


@dataclass(frozen=True)
class World:
    """This process's place among the ranks; `World()` is one process alone. `kind`: the
    engine that started the ranks (torchrun: torch; TF_CONFIG: tensorflow)."""

    rank: int = 0
    size: int = 1
    local_rank: int = 0
    kind: str = "torch"

    @classmethod
    def from_env(cls) -> World:
        """torchrun's variables, else TF_CONFIG's workers; neither means one process."""
        size = int(os.environ.get("WORLD_SIZE", "1") or 1)
        if size > 1:
            rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
            return cls(rank, size, local)
        config = _tf_config()
        workers = config.get("cluster", {}).get("worker", [])
        if len(workers) > 1:
            return cls(int(config.get("task", {}).get("index", 0)), len(workers), 0, "tensorflow")
        return cls()

    @property
    def active(self) -> bool:
        return self.size > 1

    @property
    def main(self) -> bool:
        return self.rank == 0

    def _comm(self) -> Any:
        return importlib.import_module(COMMS[self.kind])

    # ---- the process group ---------------------------------------------------------------

    def start(self, requested: str, resolve: Callable[[str], str]) -> str:
        """Join the other ranks (before the framework does anything else); the device this
        rank trains on (`resolve` turns the requested one into a concrete device)."""
        return str(self._comm().start(self, requested, resolve))

    def stop(self) -> None:
        if self.active and COMMS[self.kind] in sys.modules:  # not when refused before joining
            self._comm().stop()

    def barrier(self) -> None:
        if self.active:
            self._comm().barrier(self)

    # ---- collectives ---------------------------------------------------------------------

    def broadcast(self, value: Any) -> Any:
        """Rank 0's `value` on every rank (any picklable object)."""
        return self._comm().broadcast(self, value) if self.active else value

    def agree(self, decision: bool) -> bool:
        """Rank 0's decision, taken once and obeyed by every rank."""
        return bool(self.broadcast(bool(decision)))

    def sum(self, values: np.ndarray) -> np.ndarray:
        """Element-wise sum over ranks, in float64."""
        if not self.active:
            return np.asarray(values, dtype=np.float64)
        return np.asarray(self._comm().sum_arrays(self, values), dtype=np.float64)

    def mean(self, values: np.ndarray) -> np.ndarray:
        return self.sum(values) / self.size

    def gather(self, array: Any) -> Any:
        """Every rank's array concatenated in rank order (shards back into the whole); a
        dict of arrays (several outputs' predictions): each array so, by the same key."""
        if not self.active:
            return array
        if isinstance(array, dict):
            return {name: self.gather(part) for name, part in array.items()}
        return np.asarray(self._comm().gather(self, array))

    # ---- data ----------------------------------------------------------------------------

    def rank_order(self, order: np.ndarray, batch: int, steps: int) -> np.ndarray:
        """This rank's slice of every step's global batch, step after step."""
        if not self.active:
            return order
        per = batch // self.size
        grid = np.asarray(order[: steps * batch]).reshape(steps, self.size, per)
        return grid[:, self.rank, :].reshape(-1)

    def gathered_order(self, order: np.ndarray, batch: int, steps: int) -> np.ndarray:
        """The examples `gather` of every rank's `rank_order` outputs stands for, in order."""
        if not self.active:
            return order
        per = batch // self.size
        grid = np.asarray(order[: steps * batch]).reshape(steps, self.size, per)
        return grid.transpose(1, 0, 2).reshape(-1)

    def shard(self, n: int) -> slice:
        """This rank's contiguous part of an evaluation split of n examples (unpadded)."""
        bounds = np.linspace(0, n, self.size + 1).astype(int)
        return slice(int(bounds[self.rank]), int(bounds[self.rank + 1]))

    def seed(self, seed: int) -> int:
        """Dropout and augmentation streams differ per rank (rank 0 keeps the seed)."""
        return (seed + self.rank * RANK_SEED_STRIDE) % (2**31 - 1)


SINGLE = World()


def _tf_config() -> dict[str, Any]:
    try:
        found = json.loads(os.environ.get("TF_CONFIG") or "{}")
    except json.JSONDecodeError:
        raise UsageError(
            "TF_CONFIG is not valid JSON", "see docs/distributed.md#tensorflow"
        ) from None
    return found if isinstance(found, dict) else {}


def check_batch(plan: RunPlan, world: World, n_train: int, replicas: int = 1) -> None:
    """E602 at the spec's `batch` when the global batch does not split into equal slices
    (one per rank, or per replica where a process trains `replicas` local devices)."""
    parts = world.size * replicas
    if parts == 1:
        return
    who = "ranks" if replicas == 1 else "replicas"
    batch, node = plan.batch_size, plan.data.batch
    full = bool(node.drop_last) or n_train % batch == 0
    if batch % parts == 0 and full:
        return
    if batch % parts:
        message = f"batch {batch} cannot be split over {parts} {who}"
        fix = f"use a batch that {parts} divides (e.g. {batch - batch % parts or parts})"
    else:
        message = (
            f"the last batch of each epoch has {n_train % batch} examples, which {parts} "
            f"{who} cannot share equally"
        )
        fix = "add `drop_last` to the batch line (or make the training set a multiple of it)"
    span = node.where("size") or plan.data.span
    diagnostics = (
        [] if span is None else [Diagnostic(code="E602", message=message, span=span, help=fix)]
    )
    raise PlanError(message, diagnostics, fix, source=(plan.path, plan.text))


def evaluate_split(
    world: World, backend: Executor, state: Any, data: Any, count: int, width: int = 0
) -> tuple[Any, Any]:
    """(mean loss, outputs) over a split sharded across ranks: exact sums and counts.

    `width`: a model with several outputs gives a loss row `[total, each output's loss]`
    of `width` values (each reduced alike) and its outputs as a dict by output name."""
    empty = np.zeros(width) if width else 0.0  # an empty shard adds nothing to the sums
    loss = backend.evaluate_loss(state, data) if count else empty
    outputs = backend.predict(state, data)
    if not world.active:
        return loss, outputs
    row = np.atleast_1d(np.asarray(loss, dtype=np.float64))
    summed = world.sum(np.concatenate([row * count, [count]]))
    examples = summed[-1]
    means = summed[:-1] / examples if examples else np.full(len(row), np.nan)
    return (means if width else float(means[0])), world.gather(outputs)


class MirrorRunDir(RunDir):
    """The run directory as a rank other than 0 sees it: records in memory, no writes
    (`add_records` and `truncate_records` write through `write_text`)."""

    def write_text(self, name: str, text: str) -> Path:
        return self.path / name

    def write_json(self, name: str, value: Any) -> Path:
        return self.path / name

    def save_weights(self, name: str, weights: dict[str, np.ndarray], layers: list[str]) -> Path:
        return self.path / name

    def save_checkpoint(self, *args: Any, **kwargs: Any) -> None:
        return None


def announce(path: Path) -> None:
    """Tell `specc run --nproc`'s launcher where the run is (for its resume hint)."""
    target = os.environ.get(LAUNCH_INFO_ENV)
    if target:
        Path(target).write_text(str(path), encoding="utf-8")


def speaks(err: Exception) -> bool:
    """Whether this rank reports `err`: rank 0 always; the others only for errors that are
    their own (every rank meets a spec, usage or data error, or one with a diagnostic code,
    alike, so rank 0 says it once)."""
    from specc.data import DataError

    world = World.from_env()
    if os.environ.get(LAUNCHED_ENV):  # `--nproc`: every rank is on this terminal
        if isinstance(err, PeerLost):
            return False  # the launcher names the rank that was lost
        if isinstance(err, InterruptedRun):
            return world.main  # Ctrl-C reached every rank: rank 0 says how to resume
    agreed = (PlanError, UsageError, DataError, DivergenceError)  # NaN: the reduced losses
    # an error with a diagnostic code (E600 for fp16 on CPU, E400 for data that does not fit
    # the model) is about the spec, its data and the flags, which every rank reads alike
    return world.main or not (isinstance(err, agreed) or getattr(err, "code", None))


def peer_lost(world: World, err: Exception, run_dir: Path) -> PeerLost | None:
    """A collective that failed because another rank is gone, as a message (else None)."""
    if not world._comm().lost_peer(err):
        return None
    text = re.sub(r"\{\{function_node [^}]*\}\}\s*", "", str(err))  # tensorflow's prefix
    first = text.splitlines()[0][:120] if text.strip() else type(err).__name__
    return PeerLost(
        f"rank {world.rank}: another rank stopped answering ({first})",
        f"continue from the last checkpoint: specc run --resume {run_dir}"
        + (f" --nproc {world.size}" if world.kind == "torch" else " (on every worker)"),
    )


def check_backend(world: World, backend: Executor, sync_batchnorm: bool = False) -> None:
    """Refuse, before any rank trains, ranks started for another engine (torchrun for the
    tensorflow backend, TF_CONFIG for torch) or a backend without `distribute`."""
    if not world.active:
        return
    name = backend.NAME
    if sync_batchnorm and name != "torch":
        raise UsageError(
            f"--sync-batchnorm is for the torch backend; `{name}` workers normalise per worker",
            "drop --sync-batchnorm, or train with --backend torch",
        )
    if world.kind != name or not hasattr(backend, "distribute"):
        how = {
            "torch": f"torchrun (WORLD_SIZE={world.size})",
            "tensorflow": f"TF_CONFIG ({world.size} workers)",
        }[world.kind]
        raise UsageError(
            f"{how} starts ranks for the `{world.kind}` backend, not `{name}`",
            "torch trains under torchrun or --nproc, tensorflow under TF_CONFIG "
            "(MultiWorkerMirroredStrategy); docs/distributed.md",
        )
