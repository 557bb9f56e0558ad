"""What each export format cannot hold, and why: the export side of the capability gate.

Like a backend's `UNSUPPORTED` and an emit target's `Target.unsupported`
(specc/lowering/capabilities.py), each exporter declares a table feature key -> reason;
everything not listed must export and pass verification. `refusals` turns the features a
run's spec uses that the chosen exporter refuses into E600 diagnostics pointing at the spec
(`specc export` raises them before any work, nothing written). The TorchScript-based ONNX
exporter (`--legacy-onnx`, or torch < 2.6) is an exporter of its own here: it cannot trace
what the default one can.
"""

from __future__ import annotations

from specc.diagnostics import Diagnostic
from specc.lowering.capabilities import features, gate
from specc.predict.trained import TrainedRun

LEGACY_ONNX = "onnx --legacy-onnx"

UNSUPPORTED: dict[str, dict[str, str]] = {
    "onnx": {},
    LEGACY_ONNX: {
        "recurrent.mask": "a masked `lstm`/`gru` exports as a step loop (torch's `scan`, ONNX "
        "`Scan`), which the TorchScript-based exporter cannot trace; export without "
        "--legacy-onnx (the torch.export-based exporter, torch >= 2.6)",
    },
    "torch": {},
    # Stock Keras layers given the padding mask hold every sequence kind
    # (specc/executors/tensorflow/stock_sequence.py).
    "savedmodel": {},
    "keras": {},
}
"""Exporter (a `--format`, or `onnx --legacy-onnx`) -> feature key -> why it cannot."""


def exporter(fmt: str, legacy_onnx: bool) -> str:
    """The key of `UNSUPPORTED` that `--format fmt` (with `--legacy-onnx` or not) uses."""
    return LEGACY_ONNX if fmt == "onnx" and legacy_onnx else fmt


def refusals(run: TrainedRun, how: str) -> list[Diagnostic]:
    """E600 at the spec for every feature of the run's model that exporter `how` refuses."""
    plan = run.plan
    uses = features(plan.spec, plan.model)
    return gate(uses, UNSUPPORTED[how], f"`--format {how}`", plan.text)
