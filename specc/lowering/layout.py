"""The channels-last rewrite: the IR's channels-first meaning on a channels-last framework.

The IR lays images out (C, H, W) and sequences (C, L) (docs/semantics.md#shapes); Keras
and TensorFlow compute convolutions, pools and batchnorm channels-last. Each kind says how
it reads its axes (`Layer.layout`): a `spatial` step gets a channels-last input (a
`permute` step is inserted before it when needed), an `ordered` one (flatten, reshape,
layernorm, softmax over "the last axis") gets the channels-first layout back, and a
`pointwise` one keeps whatever it is given. A spatial step whose fused activation is
ordered (`conv2d 4 3 softmax`) is split so the activation reads the IR's axes.

Used by the TensorFlow executor and by the keras and tensorflow emit targets alike.
"""

from __future__ import annotations

import dataclasses

from specc.emit.names import Namer
from specc.ir.sequence import is_sequence
from specc.lowering.steps import Lowered, Shape, Step


def to_last_dims(rank: int) -> Shape:
    """Keras `Permute` dims (1-based) from (C, *S) to (*S, C)."""
    return (*range(2, rank + 1), 1)


def to_first_dims(rank: int) -> Shape:
    """Keras `Permute` dims (1-based) from (*S, C) to (C, *S)."""
    return (rank, *range(1, rank))


def last_shape(shape: Shape) -> Shape:
    """(C, *S) -> (*S, C)."""
    return (*shape[1:], shape[0]) if len(shape) >= 2 else shape


def _ordered(step: Step) -> bool:
    return step.ir is not None and type(step.ir).layout == "ordered"


def channels_last(lowered: Lowered) -> Lowered:
    """`lowered` with transposes so spatial steps run channels-last and the rest keep the
    IR's meaning; a model ending on an image gives it back channels-first.

    Works value by value, so a graph is rewritten like a chain: each value remembers its
    layout, a step reading a value in the wrong layout reads a `permute` of it (made once
    per value and direction), and a merge (spatial: its operands share one layout, and
    `concat` joins the channel axis, last in a channels-last framework) gets all its
    operands channels-last."""
    namer = Namer({step.name for step in lowered.steps} | {n for n, _ in lowered.inputs})
    out: list[Step] = []
    last: dict[str, bool] = {name: False for name, _ in lowered.inputs}
    shapes: dict[str, Shape] = dict(lowered.inputs)
    moved: dict[tuple[str, bool], str] = {}  # (value, to last?) -> the permute's name
    alias: dict[str, str] = {}  # a step split in two -> the step now giving its value

    def permute(source: str, to_last: bool) -> str:
        if (source, to_last) in moved:
            return moved[(source, to_last)]
        shape = shapes[source]
        dims = to_last_dims(len(shape)) if to_last else to_first_dims(len(shape))
        step = Step(
            name=namer.take("to_channels_last" if to_last else "to_channels_first"),
            kind="permute",
            ir=None,
            input=shape,
            output=tuple(shape[d - 1] for d in dims),
            dims=dims,
            sources=(source,),
        )
        out.append(step)
        shapes[step.name], last[step.name] = step.output, to_last
        moved[(source, to_last)] = step.name
        return step.name

    def read(source: str, want_last: bool | None) -> str:
        """`source` in the layout wanted (None: as it is)."""
        shape = shapes[source]
        if want_last is None or len(shape) < 2 or is_sequence(shape) or last[source] == want_last:
            return source
        return permute(source, want_last)

    for step in lowered.steps:
        layout = None if step.ir is None else type(step.ir).layout
        want: bool | None = {"spatial": True, "ordered": False}.get(layout or "pointwise")
        sources = tuple(read(alias.get(s, s), want) for s in step.sources)
        here = any(last[s] for s in sources if len(shapes[s]) >= 2)
        step = dataclasses.replace(step, sources=sources)
        if here:
            step = dataclasses.replace(
                step,
                input=last_shape(step.input),
                output=last_shape(step.output) if len(step.output) >= 2 else step.output,
                channels_last=True,
            )
        act = step.activation
        if here and len(step.output) >= 2 and act is not None and type(act).layout == "ordered":
            out.append(dataclasses.replace(step, activation=None))
            shapes[step.name], last[step.name] = step.output, True
            first = permute(step.name, False)
            split = Step(
                name=namer.take(f"{step.name}_activation"),
                kind=act.kind_name(),
                ir=act,
                input=shapes[first],
                output=shapes[first],
                sources=(first,),
            )
            out.append(split)
            shapes[split.name], last[split.name] = split.output, False
            alias[step.name] = split.name
            continue
        out.append(step)
        shapes[step.name] = step.output
        last[step.name] = here and len(step.output) >= 2

    def given_back(value: str) -> str:
        value = alias.get(value, value)
        return permute(value, False) if last.get(value) else value

    output = given_back(lowered.output_name)
    outputs = tuple(dataclasses.replace(o, value=given_back(o.value)) for o in lowered.outputs)
    return lowered.replace(steps=tuple(out), output_name=output, outputs=outputs)
