"""Graph models as a `torch.nn.Module`: the merges, and a network computing named values.

A model that branches or merges (docs/semantics.md#graphs) is not an `nn.Sequential`. Its
children are still the spec's layers under their own names (so `state_dict` keys are the
neutral weight keys, exactly as for a chain), and `forward` computes the steps in the
order written, each from the values it names (`LayerInfo.sources`), keeping every value
in a dict until the model's output. Steps the output does not depend on (a branch nothing
reads, W507) keep their weights but are not computed. Importing this module imports torch.
"""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

import torch
from torch import nn


def _sum(values: tuple[torch.Tensor, ...]) -> torch.Tensor:
    out = values[0]
    for value in values[1:]:
        out = out + value
    return out


class Sum(nn.Module):
    """`add` and the sum closing a residual block: element-wise sum."""

    def forward(self, *values: torch.Tensor) -> torch.Tensor:
        return _sum(values)


class Product(nn.Module):
    """`multiply`: element-wise product."""

    def forward(self, *values: torch.Tensor) -> torch.Tensor:
        out = values[0]
        for value in values[1:]:
            out = out * value
        return out


class Mean(nn.Module):
    """`average`: element-wise mean."""

    def forward(self, *values: torch.Tensor) -> torch.Tensor:
        return _sum(values) / len(values)


class Concat(nn.Module):
    """`concat`: joins the channel/feature axis, the first after the batch (channels-first)."""

    def forward(self, *values: torch.Tensor) -> torch.Tensor:
        return torch.cat(values, dim=1)


@dataclass(frozen=True)
class Wire:
    """One step of a graph network: which children compute which value from which."""

    name: str
    """The value it computes: the spec's layer name."""
    sources: tuple[str, ...]
    """The values it reads (an input's name or an earlier step's)."""
    module: str
    """The child computing it (`child_name` of the layer)."""
    activation: str | None = None
    """The child applying its fused activation (`<layer>:act`), if any."""


class GraphNetwork(nn.Module):
    """Children named after the spec's layers, computed along `wires` from the input (a
    tensor), or from several (a dict of tensors by input name)."""

    def __init__(
        self,
        children: OrderedDict[str, nn.Module],
        wires: Iterable[Wire],
        input_name: str,
        output_name: str,
        outputs: dict[str, str] | None = None,
    ) -> None:
        super().__init__()
        for key, module in children.items():
            self.add_module(key, module)
        self.input_name = input_name
        self.output_name = output_name
        self.outputs = dict(outputs or {})
        """A model with `output` blocks: output name -> the value computing it; forward
        then returns a dict by output name (docs/semantics.md#outputs)."""
        self.wires = live_wires(tuple(wires), output_name, tuple(self.outputs.values()))

    def forward(
        self, x: torch.Tensor | dict[str, torch.Tensor]
    ) -> torch.Tensor | dict[str, torch.Tensor]:
        values = dict(x) if isinstance(x, dict) else {self.input_name: x}
        for wire in self.wires:
            out = self._modules[wire.module](*(values[s] for s in wire.sources))  # type: ignore[misc]
            if wire.activation is not None:
                out = self._modules[wire.activation](out)  # type: ignore[misc]
            values[wire.name] = out
        if self.outputs:
            return {name: values[value] for name, value in self.outputs.items()}
        return values[self.output_name]

    def without_heads(self, heads: dict[str, bool]) -> GraphNetwork:
        """Several outputs: each output named in `heads` with True computed before its
        final activation (what `without_head` does for the one output)."""
        wires = list(self.wires)
        outputs = dict(self.outputs)
        for name, fused in heads.items():
            if fused:
                outputs[name] = _drop_head(wires, outputs[name])
        children = OrderedDict(self.named_children())
        return GraphNetwork(children, wires, self.input_name, self.output_name, outputs)

    def without_head(self) -> GraphNetwork:
        """The same children computing the output before its final activation (the one a
        loss takes logits of): the output step's fused activation is skipped, or, when the
        output step is that activation itself, the value it reads becomes the output. What
        a chain's `network[:-1]` is."""
        wires = list(self.wires)
        output = _drop_head(wires, self.output_name)
        children = OrderedDict(self.named_children())
        return GraphNetwork(children, wires, self.input_name, output)

    def idle_parameters(self) -> bool:
        """Whether a trainable parameter never takes part in `forward` (a dead branch):
        DistributedDataParallel must then look for unused parameters."""
        used = {key for wire in self.wires for key in (wire.module, wire.activation) if key}
        return any(
            p.requires_grad
            for key, child in self.named_children()
            if key not in used
            for p in child.parameters()
        )


def _drop_head(wires: list[Wire], output: str) -> str:
    """Remove the final activation computing `output` from `wires` (in place): the
    fused activation of its step, or the step itself; the value then computing it."""
    at = next(i for i, wire in enumerate(wires) if wire.name == output)
    last = wires[at]
    if last.activation is not None:
        wires[at] = dataclasses.replace(last, activation=None)
        return output
    del wires[at]
    return last.sources[0]


def live_wires(
    wires: tuple[Wire, ...], output_name: str, more: tuple[str, ...] = ()
) -> tuple[Wire, ...]:
    """The wires the output (and the values in `more`) depend on, in their order."""
    needed = {output_name, *more}
    kept: list[Wire] = []
    for wire in reversed(wires):
        if wire.name in needed:
            kept.append(wire)
            needed.update(wire.sources)
    return tuple(reversed(kept))
