"""Backends that train a plan: the contract every executor package follows, and the table.

Each backend is a package with the same module names: `__init__` (the functions of the
contract, `Executor` below, and `UNSUPPORTED`, its capability table), `model` (`LAYERS`:
one builder per IR layer kind), `losses` (`LOSSES`), `optimizers` (`OPTIMIZERS`),
`augment` and `train` (state, the epoch, evaluation). Policies they share live in
`policies`. The shared loop in `specc.run.loop` only calls the contract, so the framework
is imported inside the package's functions, lazily, when a run actually needs it.
`specc check`, `fmt` and `lsp` never import a framework.
"""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType
from typing import TYPE_CHECKING, Any, Protocol, cast

import numpy as np

from specc import DISTRIBUTION
from specc.data.dataset import X, Y
from specc.errors import BackendError

if TYPE_CHECKING:
    from specc.diagnostics import Diagnostic
    from specc.plan import RunPlan

# name -> module path; imported only when asked for.
BACKENDS: dict[str, str] = {
    "torch": "specc.executors.torch",
    "tensorflow": "specc.executors.tensorflow",
}
# Friendly spellings users type.
ALIASES: dict[str, str] = {"pytorch": "torch", "tf": "tensorflow", "keras": "tensorflow"}


class StepCallback(Protocol):
    """`progress(done_steps, loss)` for the terminal bar; `every`: steps between calls."""

    every: int

    def __call__(self, done: int, loss: float) -> None: ...


class Executor(Protocol):
    """What a backend module provides. `State` is whatever the backend needs (model, optimizer)."""

    NAME: str

    def available(self) -> bool:
        """The framework is importable."""
        ...

    def resolve_device(self, requested: str) -> str:
        """A concrete device for `requested` ("auto", "cpu", "cuda", "cuda:N", "mps", "gpu").

        Raises `specc.errors.DeviceError` when the device is absent (no silent fallback).
        """
        ...

    def unsupported(self, plan: RunPlan) -> list[Diagnostic]:
        """E600 diagnostics for IR features this backend cannot do."""
        ...

    def build(self, plan: RunPlan, weights: dict[str, np.ndarray], device: str) -> Any:
        """The model (and optimizer) with these initial weights, on `device`."""
        ...

    def load_data(self, state: Any, x: X, y: Y) -> Any:
        """Put a whole split on the device once (`Outputs`: several outputs' targets)."""
        ...

    def train_epoch(
        self,
        state: Any,
        data: Any,
        order: np.ndarray,
        batch_size: int,
        lrs: np.ndarray,
        augment: Any,
        rng_seed: int,
        progress: StepCallback | None = None,
        keep_outputs: bool = False,
    ) -> Any:
        """`len(lrs)` steps over the batches of `order`; per-step losses, read after the epoch.

        `progress(done_steps, loss)`, given when a terminal bar is shown, has an attribute
        `every` (the steps between calls). A backend calls it at most every `every` steps
        (a host sync); one that runs a whole epoch in one compiled call calls it once, at
        the end.

        `keep_outputs=True` (passed when the spec has metrics) returns `(losses, outputs)`:
        the outputs of the training forward passes themselves, probabilities as `predict`
        gives them, one row per example of `order`. The train metrics are computed from
        them, as Keras does, with no second pass over the data.
        """
        ...

    def predict(self, state: Any, data: Any) -> np.ndarray:
        """Model outputs with the final softmax/sigmoid applied, in evaluation mode."""
        ...

    def evaluate_loss(self, state: Any, data: Any) -> float:
        """Mean training loss over a split, in evaluation mode."""
        ...

    def get_weights(self, state: Any) -> dict[str, np.ndarray]:
        """Weights in the neutral (PyTorch) layout, keys as `specc.init_weights`."""
        ...

    def set_weights(self, state: Any, weights: dict[str, np.ndarray]) -> None: ...

    def optimizer_state(self, state: Any) -> dict[str, np.ndarray]:
        """Optimizer slots as flat arrays, for `--resume`."""
        ...

    def load_optimizer_state(self, state: Any, blob: dict[str, np.ndarray]) -> None: ...

    def save_native(self, state: Any, directory: Path) -> list[Path]:
        """The framework's own model file(s) in `directory` (torch: model.pt; tf: model.keras)."""
        ...

    def versions(self) -> dict[str, str]:
        """Framework versions for the run record."""
        ...


# Optional, asked with hasattr by the loop:
#   will_compile(state, steps_per_epoch) -> str | None: the compiler the next epoch runs
#       (the loop announces it: compiling is silent and can take a minute);
#   compile_seconds(state) -> float: seconds spent compiling, kept out of train_seconds;
#   replicas(device) -> int: local replicas one process trains on `device` (tensorflow's
#       MirroredStrategy); the global batch must split over them (1 when absent).


def backend_name(name: str) -> str:
    """The table name for a user-typed backend name (`pytorch` -> `torch`)."""
    lowered = name.strip().lower()
    return ALIASES.get(lowered, lowered)


def get(name: str) -> Executor:
    """The backend module for `name`; `BackendError` when unknown or not installed."""
    key = backend_name(name)
    if key not in BACKENDS:
        known = ", ".join(sorted(BACKENDS))
        raise BackendError(f"unknown backend `{name}`", f"choose one of: {known}")
    try:
        module: ModuleType = importlib.import_module(BACKENDS[key])
    except ModuleNotFoundError as err:
        if err.name == BACKENDS[key]:
            raise BackendError(
                f"the `{key}` backend is not part of this installation yet", None
            ) from None
        raise
    executor = cast(Executor, module)
    if not executor.available():
        raise BackendError(
            f"the `{key}` backend needs its framework, which is not installed",
            f'install it: pip install "{DISTRIBUTION}[{key}]"',
        )
    return executor
