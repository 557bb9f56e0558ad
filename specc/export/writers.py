"""One writer per export format: the run's model in float32, saved as that format's file.

Each writer gets the run's framework state (built by `TrainedRun.build`), an example
batch and the path to write, and returns a note on how it wrote (which exporter ran).
The model written is the one `specc predict` uses: the network in evaluation mode plus
the probability head (softmax/sigmoid) the loss implies, input channels-first like the
spec, the batch axis dynamic. A model with several inputs takes one named input per model
input (ONNX graph inputs `image`, `meta`; Keras a dict by those names), one batch axis; a
model with several named outputs gives one named output per spec output, each after its
own probability head (ONNX graph outputs `kind`, `big`; torch.export and Keras a dict by
those names).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from specc import DISTRIBUTION
from specc.data.dataset import Inputs, X
from specc.export.verify import ExportError
from specc.lowering import probability_head

INPUT_NAME = "input"
OUTPUT_NAME = "output"
Writer = Callable[[Any, X, Path, dict[str, Any]], str]

# ---- PyTorch -------------------------------------------------------------------------------


def _torch_module(state: Any) -> Any:
    """The network as evaluation runs it: body, then the probability head. With several
    inputs, `forward` takes them positionally, in the model's order."""
    import torch

    names = [name for name, _ in state.plan.shapes.inputs]

    class Inference(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.body = state.body

        def forward(self, *x: torch.Tensor) -> Any:
            given = dict(zip(names, x, strict=True)) if len(names) > 1 else x[0]
            out = self.body(given)
            if isinstance(out, dict):  # several named outputs, each with its own head
                return state.head({name: value.float() for name, value in out.items()})
            return state.head(out.float())

    module = Inference().eval()
    return module.cpu()


def _traceable(module: Any) -> Any:
    """Masked recurrent layers as a step loop while the exporter traces (torch.export
    cannot trace `pack_padded_sequence`; specc/executors/torch/steps.py)."""
    from specc.executors.torch.steps import stepwise

    return stepwise(module)


def _torch_args(example: X) -> tuple[Any, ...]:
    """Two examples as the exporter's arguments: one tensor per input."""
    import torch

    arrays = list(example.arrays.values()) if isinstance(example, Inputs) else [example]
    return tuple(torch.from_numpy(np.ascontiguousarray(a[:2])) for a in arrays)


def _dynamic(batch: Any, inputs: int) -> tuple[Any, ...]:
    """The batch axis of each input, shaped like `forward(*x)`: one varargs tuple."""
    return (tuple({0: batch} for _ in range(inputs)),)


def output_names(plan: Any) -> list[str]:
    """The graph's output names: the spec's output names in the model's order, or
    `output` for a model with one."""
    return [o.name for o in plan.outputs] or [OUTPUT_NAME]


def _names(example: X) -> list[str]:
    """The graph's input names: the model's input names, or `input` for one."""
    return list(example.arrays) if isinstance(example, Inputs) else [INPUT_NAME]


def _batch_dim() -> Any:
    import torch

    return torch.export.Dim("batch", min=1)


def _quiet_torch() -> None:
    # The dynamo exporter logs optional-op registrations (torchvision) as warnings.
    for name in ("torch.onnx", "torch.export", "torch._dynamo", "torch.fx"):
        logging.getLogger(name).setLevel(logging.ERROR)


DYNAMO_FROM = (2, 6)  # torch.onnx's torch.export-based exporter: stable from 2.6, default 2.9


def _torch_version() -> tuple[int, int]:
    import torch

    major, minor = torch.__version__.split(".")[:2]
    return int(major), int("".join(ch for ch in minor if ch.isdigit()) or 0)


def torch_before_dynamo() -> bool:
    """Whether this torch predates the torch.export-based ONNX exporter (then: legacy)."""
    return _torch_version() < DYNAMO_FROM


def write_onnx(state: Any, example: X, path: Path, options: dict[str, Any]) -> str:
    """torch.onnx: the torch.export-based (dynamo) exporter on torch >= 2.6, the
    TorchScript-based one on older torch or on request (`--legacy-onnx`)."""
    import torch

    module = _torch_module(state)
    args, names, outputs = _torch_args(example), _names(example), output_names(state.plan)
    old_torch = torch_before_dynamo()
    legacy = bool(options.get("legacy_onnx")) or old_torch
    _quiet_torch()
    with warnings.catch_warnings(), _traceable(module):
        warnings.simplefilter("ignore")
        try:
            if legacy:
                torch.onnx.export(
                    module,
                    args,
                    str(path),
                    dynamo=False,
                    input_names=names,
                    output_names=outputs,
                    dynamic_axes={name: {0: "batch"} for name in [*names, *outputs]},
                )
            else:
                batch = _batch_dim()  # one batch axis shared by every input
                program = torch.onnx.export(
                    module,
                    args,
                    dynamo=True,
                    input_names=names,
                    output_names=outputs,
                    dynamic_shapes=_dynamic(batch, len(names)),
                    verbose=False,
                )
                if program is None:
                    raise ExportError("torch.onnx.export returned no program")
                program.save(str(path))
        except ImportError as err:
            raise ExportError(
                f"the ONNX exporter needs a package that is missing: {err.name or err}",
                f'install it: pip install "{DISTRIBUTION}[export]" (or use --legacy-onnx)',
            ) from None
    why = "torch < 2.6" if old_torch else "--legacy-onnx"
    how = f"TorchScript-based (legacy, {why})" if legacy else "torch.export-based (dynamo)"
    return f"torch.onnx.export {how}, torch {torch.__version__}"


def write_pt2(state: Any, example: X, path: Path, options: dict[str, Any]) -> str:
    import torch

    module = _torch_module(state)
    args = _torch_args(example)
    _quiet_torch()
    with warnings.catch_warnings(), _traceable(module):
        warnings.simplefilter("ignore")
        batch = _batch_dim()
        program = torch.export.export(module, args, dynamic_shapes=_dynamic(batch, len(args)))
        torch.export.save(program, str(path))
    return f"torch.export.export + torch.export.save, torch {torch.__version__}"


# ---- TensorFlow / Keras ----------------------------------------------------------------------


def _keras_model(state: Any) -> Any:
    from specc.executors.tensorflow.portable import HEADS, stock_model

    plan = state.plan
    if not plan.outputs:
        head = probability_head(plan.train.main_loss)
        return stock_model(state.keras, head=head, logits=True)
    import keras

    # several named outputs: the logits of each, then the head its loss takes logits for
    logits = stock_model(state.keras, logits=True)
    given = logits.input  # one Input, or a dict of them by input name
    found = logits(given)
    out = {}
    for o in plan.outputs:
        head = probability_head(o.loss)  # as the run's `predict` (executors' several_head)
        layer = keras.layers.Activation(HEADS[head], name=f"{o.name}_{head}") if head else None
        out[o.name] = layer(found[o.name]) if layer is not None else found[o.name]
    return keras.Model(given, out, name=logits.name)


def write_savedmodel(state: Any, example: X, path: Path, options: dict[str, Any]) -> str:
    import keras

    model = _keras_model(state)
    model.export(str(path), format="tf_saved_model", verbose=False)
    return f"keras Model.export(format='tf_saved_model'), keras {keras.__version__}"


def write_keras(state: Any, example: X, path: Path, options: dict[str, Any]) -> str:
    import keras

    _keras_model(state).save(str(path))
    return f"keras Model.save (stock layers only), keras {keras.__version__}"


# format -> (backend it needs, writer)
WRITERS: dict[str, tuple[str, Writer]] = {
    "onnx": ("torch", write_onnx),
    "torch": ("torch", write_pt2),
    "savedmodel": ("tensorflow", write_savedmodel),
    "keras": ("tensorflow", write_keras),
}
