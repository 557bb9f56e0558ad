"""specc/emit/graph.py: the script variables of a graph always carry the right values.

Each step's `reads`/`writes`/`copies` are executed symbolically (a dict from variable to
the value it holds): every step must find each of its sources in the variable it reads,
and the returned variable must hold the model's output. Checked on the example graphs
and on a few hundred random ones (forks, merges, blocks, dead branches).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Any

import pytest

from specc.emit.graph import MAIN, Variables, assign
from specc.ir.graph import Add, Concat, Parallel, Residual
from specc.ir.layers import Dense


@dataclass(frozen=True)
class Step:
    weights_name: str
    sources: tuple[str, ...]
    ir: Any
    block: Any = None


def run(steps: list[Step], found: list[Variables], output_var: str, input_var: str) -> dict:
    held = {input_var: "input"}
    for step, v in zip(steps, found, strict=True):
        for to, source in v.copies:
            held[to] = held[source]
        assert tuple(held[r] for r in v.reads) == step.sources, (step, v, held)
        held[v.writes] = step.weights_name
    return held


def random_graph(rng: random.Random) -> tuple[list[Step], str]:
    values, steps = ["input"], []
    for i in range(rng.randint(1, 14)):
        name = f"s{i}"
        roll = rng.random()
        if roll < 0.55 or len(values) < 2:  # a layer, usually on the latest value
            source = values[-1] if rng.random() < 0.6 else rng.choice(values)
            steps.append(Step(name, (source,), Dense(units=4)))
        else:
            operands = tuple(rng.sample(values, rng.randint(2, min(4, len(values)))))
            block: Any = None
            if rng.random() < 0.3 and len(operands) == 2:
                block = Residual()
            elif rng.random() < 0.3:
                block = Parallel(merge="concat", branches=[])
            merge = Concat() if rng.random() < 0.5 else Add(operands=[])
            steps.append(Step(name, operands, merge, block))
        values.append(name)
    return steps, rng.choice(values[1:]) if rng.random() < 0.2 else values[-1]


@pytest.mark.parametrize("input_var", [MAIN, "inputs"])
def test_random_graphs_compute_what_they_read(input_var: str) -> None:
    rng = random.Random(11)
    for _ in range(400):
        steps, output = random_graph(rng)
        for step in steps:  # a parallel block names as many branches as it merges
            if isinstance(step.block, Parallel):
                object.__setattr__(
                    step,
                    "block",
                    Parallel.model_construct(branches=[_Branch()] * len(step.sources)),
                )
        found, output_var, _ = assign(
            steps, "input", output, input_var=input_var, reserved={"torch"}
        )
        held = run(steps, found, output_var, input_var)
        assert held[output_var] == output
        if input_var != MAIN:  # Keras's `inputs` stays the input for keras.Model(inputs, x)
            assert held[input_var] == "input"
            assert all(v.writes != input_var for v in found)


class _Branch:
    name = None


def test_a_chain_is_x_throughout() -> None:
    steps = [Step("a", ("input",), Dense(units=4)), Step("b", ("a",), Dense(units=4))]
    found, output, _ = assign(steps, "input", "b")
    assert [(v.reads, v.writes, v.copies) for v in found] == [(("x",), "x", ())] * 2
    assert output == "x"
