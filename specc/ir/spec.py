"""The whole spec: models, data and training. This is what every later stage consumes."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Identifier, Node
from specc.ir.data import AnyData
from specc.ir.layers import AnyLayer, Branch, Layer, Merge, Parallel, Repeat, Residual
from specc.ir.training import Train


class Input(Node):
    """The shape of one example, without the batch axis: `input 28x28`, `input 1x28x28`,
    `input 8`; `input 200 int` for token ids (docs/semantics.md#sequences). A model with
    several inputs names each: `input image 1x28x28`, `input meta 12`; the names bind to
    the data's arrays or column groups (docs/data.md)."""

    kind: Literal["input"] = "input"
    positional = ("name", "shape", "dtype")

    name: Identifier | None = None
    """The input's name (needed when a model has several; default `input`)."""
    shape: tuple[int, ...] = Field(min_length=1, max_length=4)
    """Sizes of each axis; images are channels-first (CxHxW)."""
    dtype: Literal["float", "int"] = "float"
    """`int`: token ids, read by an `embedding` (the data keeps them as int64)."""

    @property
    def value_name(self) -> str:
        """What merges and `from=` call it."""
        return self.name or "input"

    def written(self, shape: tuple[int, ...]) -> str:
        """This statement as written, with another shape (for fix suggestions)."""
        dims = "x".join(str(d) for d in shape)
        words = ["input", self.name, dims, "int" if self.dtype == "int" else None]
        return " ".join(w for w in words if w)

    @model_validator(mode="after")
    def _positive(self) -> Input:
        if any(d < 1 or d > 1_000_000 for d in self.shape):
            raise SpecError("E301", "input sizes must be between 1 and 1,000,000", self.span)
        return self


class InitFrom(Node):
    """Start from a previous run's weights: `init from "runs/mnist_mlp-20261122-101500"`.

    Layers are matched by name, then by position; shapes must agree. Combine with
    `frozen` on the first layers to fine-tune only the rest.
    """

    kind: Literal["init"] = "init"
    positional = ("source",)
    filler_words = ("from",)

    source: str = Field(min_length=1)
    """A run directory, or a weights file (.safetensors) inside one."""
    strict: bool = True
    """Fail when a layer of the model has no weights in the source."""


class Model(Node):
    """A network: its inputs and layers applied in order (a graph where it merges)."""

    kind: Literal["model"] = "model"
    positional = ("name",)
    collector = "layers"
    keywords = {"input": "inputs", "init": "init"}

    name: Identifier
    """The model's name (used for run directories and `--model`)."""
    inputs: list[Input] = Field(default_factory=list)
    """Shape of one example, per input (usually one)."""
    layers: list[AnyLayer] = Field(default_factory=list)
    """The layers, in order."""
    init: InitFrom | None = None
    """Weights to start from (transfer learning)."""

    @property
    def input(self) -> Input | None:
        """The first (usually the only) input."""
        return self.inputs[0] if self.inputs else None

    @property
    def is_graph(self) -> bool:
        """More than a chain: several inputs, or a merge or branch somewhere."""
        return len(self.inputs) > 1 or any(
            isinstance(layer, Merge | Residual | Parallel | Branch)
            for layer in flat_layers(list(self.layers), blocks=True)
        )


class Spec(Node):
    """A .nn file: one or more models, a data source and a training recipe."""

    kind: Literal["spec"] = "spec"
    keywords = {"model": "models", "data": "data", "train": "train"}

    models: list[Model] = Field(default_factory=list)
    """The models, in file order."""
    data: AnyData | None = None
    """The data source."""
    train: Train | None = None
    """How to train."""

    def model_named(self, name: str | None) -> Model | None:
        """The model to train: by name, else the train block's choice, else the first."""
        wanted = name or (self.train.model if self.train else None)
        if wanted is None:
            return self.models[0] if self.models else None
        return next((m for m in self.models if m.name == wanted), None)


def flat_layers(layers: list[Layer], blocks: bool = False) -> list[Layer]:
    """Every layer written, with `repeat` blocks unrolled and the layers inside residual,
    parallel and branch blocks (after their block when `blocks`; names not yet assigned)."""
    out: list[Layer] = []
    for layer in layers:
        if isinstance(layer, Repeat):
            for _ in range(layer.times):
                out.extend(flat_layers(list(layer.layers), blocks))
            continue
        inner = layer.nested()
        if not inner or blocks:
            out.append(layer)
        out.extend(flat_layers(inner, blocks))
    return out
