"""The IR as a `torch.nn.Module`: one small builder per layer kind, looked up in a table.

A chain is an `nn.Sequential` whose children are named after the spec's layers, so its
`state_dict` keys are exactly the neutral weight keys (`dense_1.weight`); activations given
as a layer argument become an extra parameter-free child `<layer>:act` (a colon no spec name
holds, so a layer named `<layer>__act` cannot take its place). A model that branches or
merges is a `GraphNetwork` (specc/executors/torch/graph.py) with the same children under
the same names. Importing this module imports torch: only `specc.executors.torch` does,
lazily.
"""

from __future__ import annotations

import warnings
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from specc.executors.torch import sequence
from specc.executors.torch.graph import Concat, GraphNetwork, Mean, Product, Sum, Wire
from specc.ir import layers as L
from specc.ir.sequence import is_sequence, mask_reaches
from specc.shapes import LayerInfo, ModelShapes

ACT_SUFFIX = ":act"
# torch notes that an even `same` kernel pads a copy of the input: correct, only slower,
# and the semantics ask for exactly that padding; not worth a warning on every run.
warnings.filterwarnings(
    "ignore", message="Using padding='same' with even kernel", category=UserWarning
)


class Reshape(nn.Module):
    def __init__(self, shape: tuple[int, ...]) -> None:
        super().__init__()
        self.shape = shape

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x.reshape(x.shape[0], *self.shape)


class FrozenBatchNorm(nn.modules.batchnorm._BatchNorm):
    """A `frozen` batchnorm: batch statistics in training, running ones never updated.

    docs/semantics.md#layers: frozen layers keep their weights, and their running
    statistics too, but normalisation in training mode still uses the batch.
    """

    def _check_input_dim(self, input: torch.Tensor) -> None:  # any rank is fine here
        return None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training:
            return F.batch_norm(x, None, None, self.weight, self.bias, True, 0.0, self.eps)
        return F.batch_norm(
            x, self.running_mean, self.running_var, self.weight, self.bias, False, 0.0, self.eps
        )


def _activation(node: L.Layer) -> nn.Module:
    return ACTIVATIONS[type(node)](node)


ACTIVATIONS: dict[type, Callable[[Any], nn.Module]] = {
    L.ReLU: lambda n: nn.ReLU(),
    L.LeakyReLU: lambda n: nn.LeakyReLU(float(n.slope)),
    L.Sigmoid: lambda n: nn.Sigmoid(),
    L.Tanh: lambda n: nn.Tanh(),
    L.Softmax: lambda n: nn.Softmax(dim=-1),
    L.LogSoftmax: lambda n: nn.LogSoftmax(dim=-1),
    L.GELU: lambda n: nn.GELU(approximate="none"),
    L.ELU: lambda n: nn.ELU(float(n.alpha)),
    L.SELU: lambda n: nn.SELU(),
    L.SiLU: lambda n: nn.SiLU(),
}


def _dense(info: LayerInfo) -> nn.Module:
    layer = info.layer
    assert isinstance(layer, L.Dense)
    return nn.Linear(info.input[-1], int(layer.units), bias=layer.bias)  # per step on (L, D)


def _conv(kind: type[nn.Module]) -> Callable[[LayerInfo], nn.Module]:
    def build(info: LayerInfo) -> nn.Module:
        layer = info.layer
        assert isinstance(layer, L.Conv)
        # torch's padding="same" splits an even kernel's padding (k-1)//2 before, the rest
        # after: exactly docs/semantics.md#shapes (stride 1 is enforced by the IR).
        padding: Any = "same" if layer.padding == "same" else layer.padding_amount()  # type: ignore[attr-defined]
        time_major = is_sequence(info.input)  # along L of an (L, D) token sequence
        built = sequence.TIME_MAJOR[kind] if time_major else kind
        return built(
            info.input[-1] if time_major else info.input[0],
            int(layer.filters),  # type: ignore[attr-defined]
            layer.window(layer.kernel),  # type: ignore[attr-defined]
            stride=layer.window(layer.stride),  # type: ignore[attr-defined]
            padding=padding,
            bias=layer.bias,  # type: ignore[attr-defined]
        )

    return build


def _pool(kind: type[nn.Module]) -> Callable[[LayerInfo], nn.Module]:
    def build(info: LayerInfo) -> nn.Module:
        layer = info.layer
        assert isinstance(layer, L.Pool)
        built = sequence.TIME_MAJOR[kind] if is_sequence(info.input) else kind
        return built(layer.window(layer.pool), stride=layer.strides())  # type: ignore[attr-defined]

    return build


def _batchnorm(info: LayerInfo) -> nn.Module:
    layer = info.layer
    assert isinstance(layer, L.BatchNorm)
    if layer.frozen:
        return FrozenBatchNorm(info.input[0], eps=float(layer.eps), momentum=0.0)
    kind = nn.BatchNorm1d if len(info.input) == 1 else nn.BatchNorm2d
    return kind(info.input[0], eps=float(layer.eps), momentum=float(layer.momentum))


def _layernorm(info: LayerInfo) -> nn.Module:
    layer = info.layer
    assert isinstance(layer, L.LayerNorm)
    return nn.LayerNorm(list(info.input), eps=float(layer.eps))


LAYERS: dict[type, Callable[[LayerInfo], nn.Module]] = {
    L.Dense: _dense,
    L.Conv2D: _conv(nn.Conv2d),
    L.Conv1D: _conv(nn.Conv1d),
    L.MaxPool2D: _pool(nn.MaxPool2d),
    L.AvgPool2D: _pool(nn.AvgPool2d),
    L.MaxPool1D: _pool(nn.MaxPool1d),
    L.AvgPool1D: _pool(nn.AvgPool1d),
    L.GlobalAvgPool: sequence.global_pool("avg"),  # also over an (L, D) sequence, masked
    L.Flatten: lambda info: nn.Flatten(),
    L.Reshape: lambda info: Reshape(tuple(info.output)),
    L.Dropout: lambda info: nn.Dropout(float(info.layer.rate)),  # type: ignore[attr-defined]
    L.BatchNorm: _batchnorm,
    L.LayerNorm: _layernorm,
    **{kind: (lambda info: _activation(info.layer)) for kind in ACTIVATIONS},
    # merges: operands in the order `LayerInfo.sources` names them (docs/semantics.md#graphs)
    L.Add: lambda info: Sum(),
    L.Multiply: lambda info: Product(),
    L.Average: lambda info: Mean(),
    L.Concat: lambda info: Concat(),
    **sequence.LAYERS,  # embedding, lstm, gru, attention, ... (specc/ir/sequence.py)
}


# A layer named like an attribute every module has (`eval`, `training`, `__class__`, or a
# graph network's `wires`) cannot be a child under its own name (torch: "attribute 'eval'
# already exists"). Such children get a prefix no spec name can hold, and `neutral_key`
# strips it again, so parameter and weight keys are the spec's names (the emitters rename
# such layers the same way).
CLASH_PREFIX = "spec:"
_PLAIN_CHAIN = nn.Sequential()
_PLAIN_GRAPH = GraphNetwork(OrderedDict(), (), "input", "input")


def child_name(name: str, parent: nn.Module = _PLAIN_CHAIN) -> str:
    """The child's name for layer `name` in a module like `parent`."""
    return CLASH_PREFIX + name if hasattr(parent, name) else name


def neutral_key(key: str) -> str:
    """A state_dict or parameter key as the weights file names it (`spec:eval.weight` -> `eval.weight`)."""
    return key.removeprefix(CLASH_PREFIX)


Network = nn.Sequential | GraphNetwork


def build_network(shapes: ModelShapes) -> Network:
    """The whole model, including its final activation (see `trunk`): an `nn.Sequential`
    for a chain, else a `GraphNetwork` (several inputs: its forward takes a dict)."""
    parent = _PLAIN_CHAIN if shapes.is_chain else _PLAIN_GRAPH
    children: OrderedDict[str, nn.Module] = OrderedDict()
    wires: list[Wire] = []
    # the padding mask follows a chain (docs/semantics.md#masking); graphs refuse `pad=`
    layers = [info.layer for info in shapes.layers]
    masked = mask_reaches(layers) if shapes.is_chain else [False] * len(layers)
    for info, takes_mask in zip(shapes.layers, masked, strict=True):
        key = child_name(info.name, parent)
        module = LAYERS[type(info.layer)](info)
        if takes_mask:
            setattr(module, "takes_mask", True)  # noqa: B010 (nn.Module's typed __setattr__)
        children[key] = module
        activation = info.layer.fused_activation()
        act = None
        if activation is not None:
            act = child_name(info.name + ACT_SUFFIX, parent)
            children[act] = _activation(activation)
        wires.append(Wire(info.name, info.sources, key, act))
    if shapes.is_chain:
        return sequence.MaskedSequential(children)
    (input_name, _), *_ = shapes.inputs
    outputs = dict(shapes.outputs)
    return GraphNetwork(children, wires, input_name, shapes.output_name or input_name, outputs)


def trunk(network: Network, fused: bool) -> nn.Module:
    """The network without its final activation when the loss absorbs it: a chain's last
    child, a graph's last step computing the output."""
    if not fused:
        return network
    if isinstance(network, GraphNetwork):
        return network.without_head()
    return network[:-1]


def frozen_names(shapes: ModelShapes) -> set[str]:
    return {info.name for info in shapes.layers if info.layer.frozen}
