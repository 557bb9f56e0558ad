"""A graph model's wiring: which Keras layers compute which value from which values.

A chain is a `keras.Sequential` (specc/executors/tensorflow/model.py); a model that
branches or merges (docs/semantics.md#graphs) is the same Keras layers called value by
value, following each lowered step's `sources`. One `Wiring` serves three callers: the
symbolic call that builds the Keras functional model, the training/evaluation forward
(eager or inside `tf.function`), and the stock-layer copy written to `model.keras`
(specc/executors/tensorflow/portable.py), which swaps some layers while calling.

A value nothing reads on the way to the output (a branch W507 warns about) is built, so
its arrays exist and are saved, but never computed: its weights never learn.

Importing this module imports Keras: only the TensorFlow executor does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import keras

Call = Callable[[keras.layers.Layer, Any], Any]
"""How to call one layer on a value (or, for a merge, the list of its operands)."""


@dataclass(frozen=True)
class Node:
    """One lowered step: its Keras layers, applied in order, give the value `name`."""

    name: str
    reads: tuple[str, ...]
    """The values it reads: one, or a merge's operands in the order written."""
    layers: tuple[keras.layers.Layer, ...]


@dataclass(frozen=True)
class Wiring:
    """A graph: every node in computing order, and the value it outputs. It reads the
    input `input`, or several (`inputs`: their names and shapes, in the model's order)."""

    input: str
    nodes: tuple[Node, ...]
    output: str
    inputs: tuple[tuple[str, tuple[int, ...]], ...] = ()
    outputs: tuple[tuple[str, str], ...] = ()
    """A model with `output` blocks: (output name, the value computing it); `run` then
    gives a dict by output name (docs/semantics.md#outputs)."""

    @property
    def live(self) -> tuple[Node, ...]:
        """The nodes the output(s) depend on, in computing order."""
        wanted = {self.output, *(value for _, value in self.outputs)}
        keep: list[Node] = []
        for node in reversed(self.nodes):
            if node.name in wanted:
                keep.append(node)
                wanted.update(node.reads)
        return tuple(reversed(keep))

    def run(self, x: Any, call: Call, everything: bool = False) -> Any:
        """The output for input `x` (a dict by input name for several inputs); `everything`:
        also the nodes the output does not read (the symbolic build, so that every layer
        gets its weights)."""
        values = dict(x) if isinstance(x, dict) else {self.input: x}
        for node in self.nodes if everything else self.live:
            operands = [values[source] for source in node.reads]
            y = operands if len(operands) > 1 else operands[0]
            for layer in node.layers:
                y = call(layer, y)
            values[node.name] = y
        if self.outputs:
            return {name: values[value] for name, value in self.outputs}
        return values[self.output]


def plain_call(layer: keras.layers.Layer, x: Any) -> Any:
    return layer(x)


def symbolic_inputs(wiring: Wiring, shape: tuple[int, ...], dtype: str = "float32") -> Any:
    """The `keras.Input` (one input of `shape`) or the dict of them (several) to call the
    wiring on; each input's shape is the data's, channels-first (the steps permute).
    `dtype`: int64 for a single token-id input (several inputs are numbers)."""
    if len(wiring.inputs) <= 1:
        return keras.Input(shape=shape, name=wiring.input, dtype=dtype)
    return {name: keras.Input(shape=tuple(s), name=name) for name, s in wiring.inputs}
