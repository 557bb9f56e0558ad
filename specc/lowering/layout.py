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
    IR's meaning; a model ending on an image gives it back channels-first."""
    namer = Namer({step.name for step in lowered.steps})
    out: list[Step] = []
    last = False  # is the current (rank >= 2) tensor channels-last?

    def permute(name: str, shape: Shape, dims: Shape) -> Step:
        return Step(
            name=namer.take(name),
            kind="permute",
            ir=None,
            input=shape,
            output=tuple(shape[d - 1] for d in dims),
            dims=dims,
        )

    for step in lowered.steps:
        # an (L, D) token sequence already is features-last: no kind moves its axes
        multi = len(step.input) >= 2 and not is_sequence(step.input)
        if multi and not last and step.spatial:
            out.append(permute("to_channels_last", step.input, to_last_dims(len(step.input))))
            last = True
        elif multi and last and _ordered(step):
            shape = last_shape(step.input)
            out.append(permute("to_channels_first", shape, to_first_dims(len(shape))))
            last = False
        if last:
            step = dataclasses.replace(
                step,
                input=last_shape(step.input),
                output=last_shape(step.output) if len(step.output) >= 2 else step.output,
                channels_last=True,
            )
        act = step.activation
        if last and len(step.output) >= 2 and act is not None and type(act).layout == "ordered":
            out.append(dataclasses.replace(step, activation=None))
            shape = step.output
            out.append(permute("to_channels_first", shape, to_first_dims(len(shape))))
            first = (shape[-1], *shape[:-1])
            out.append(
                Step(
                    name=namer.take(f"{step.name}_activation"),
                    kind=act.kind_name(),
                    ir=act,
                    input=first,
                    output=first,
                )
            )
            last = False
            continue
        out.append(step)
        if len(step.output) < 2:
            last = False
    if last and out:
        shape = out[-1].output
        out.append(permute("to_channels_first", shape, to_first_dims(len(shape))))
    return lowered.replace(steps=tuple(out))
