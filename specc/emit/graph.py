"""Script variables for a graph model: which variable each step reads and which it writes.

Run once on the lowered steps (after the target's rewrites), so templates only interpolate
`l.reads`, `l.writes` and `l.copies`. The code reads the way people write these models
(nanoGPT, keras-io, torchvision's ResNet):

- a value read only by the next step stays in its variable: a chain is `x = f(x)`
  throughout, exactly as before graphs existed;
- a residual block keeps its input before the body overwrites it (`skip = x`), computes
  its shortcut on `skip` and ends in `x = x + skip`;
- the branches of a parallel block each compute into their own variable (the branch's
  name, else `b1`, `b2`, ...) and merge into `x`: `x = torch.cat([b1, b2], dim=1)`;
- a model-level merge reads its operands under the names the spec gives them
  (`concat img tab`).

How: every value read exactly once is given a *hint*, the variable its one reader wants
it in (a merge's operand role, or the hint of the reader's own output); a value read
several times (a fork) is computed in place and, when a later step is about to overwrite
its variable while it is still needed, copied to the name its last reader wants (`skip =
x`). A wanted variable that still holds another live value is never overwritten: the step
continues in its source's variable, or takes a fresh name (`skip_2`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from specc.emit.names import Namer
from specc.ir.graph import Merge, Parallel, Residual

MAIN = "x"
"""The variable the model's current tensor lives in."""

RETURN = -1
"""The reader index of the model's output (`return x`)."""

Read = tuple[int, int]
"""(reader index, operand position)."""


class Node(Protocol):
    """What the pass reads of a step (a `LayerView`)."""

    @property
    def weights_name(self) -> str: ...
    @property
    def sources(self) -> tuple[str, ...]: ...
    @property
    def ir(self) -> Any: ...
    @property
    def block(self) -> Any: ...


@dataclass(frozen=True)
class Variables:
    """Where one step reads its operands from and writes its value."""

    reads: tuple[str, ...]
    writes: str
    copies: tuple[tuple[str, str], ...] = ()
    """`(to, from)` assignments made just before the step (`skip = x`)."""


def _merge_roles(node: Node, out: str) -> list[str]:
    """`add skip` / `concat img tab`: operands by the names the spec writes; the implicit
    current tensor (one name written) stays in the merge's own variable."""
    names = list(node.ir.operands)
    return [out] * (len(node.sources) - len(names)) + names


def _residual_roles(node: Node, out: str) -> list[str]:
    """The body continues in the block's variable; the shortcut is `skip`."""
    return [out, "skip"]


def _parallel_roles(node: Node, out: str) -> list[str]:
    return [b.name or f"b{i}" for i, b in enumerate(node.block.branches, start=1)]


ROLES: dict[type | None, Callable[[Node, str], list[str]]] = {
    None: _merge_roles,
    Residual: _residual_roles,
    Parallel: _parallel_roles,
}
"""The variable each operand of a merge wants, by the block the merge closes (None: a
merge the spec writes itself)."""


def assign(
    nodes: Sequence[Node],
    input_name: str,
    output_name: str,
    *,
    input_var: str = MAIN,
    reserved: Iterable[str] = (),
    inputs: Mapping[str, str] | None = None,
    outputs: Mapping[str, str] | None = None,
) -> tuple[list[Variables], str, dict[str, str]]:
    """The variables of every step, and the variable holding the model's output.

    `input_name` is the value the model's input gives (`input`); `input_var` the variable
    it arrives in; `reserved`: names a local variable must not shadow (the script's
    modules and functions). `inputs`, for a model with several: every input's value ->
    the variable it arrives in (`forward(self, image, meta)`); those variables keep their
    inputs throughout, as Keras's `inputs` does. `outputs`, for a model with several:
    every output's value -> the variable it wants (its name); the third result gives the
    variable each of those values ends in."""
    arrives = dict(inputs) if inputs else {input_name: input_var}
    kept = set(arrives.values()) - ({MAIN} if inputs is None else set())
    names = [n.weights_name for n in nodes]
    reads: dict[str, list[Read]] = {}
    for i, node in enumerate(nodes):
        for position, source in enumerate(node.sources):
            reads.setdefault(source, []).append((i, position))
    returned = list(outputs) if outputs else [output_name]
    for position, value in enumerate(returned):
        reads.setdefault(value, []).append((RETURN, position))
    taken = Namer({*reserved, MAIN, *arrives.values()})
    local: dict[str, str] = {MAIN: MAIN}

    def variable(wanted: str) -> str:
        """A spec name as a local variable that shadows nothing the script uses."""
        if wanted not in local:
            local[wanted] = taken.take(wanted)
        return local[wanted]

    # Backward: the variable a value read exactly once wants (its one reader's choice).
    hint: dict[str, str | None] = {}

    def role(read: Read) -> str:
        reader, position = read
        if reader == RETURN:
            return variable(outputs[returned[position]]) if outputs else MAIN
        node = nodes[reader]
        own = hint.get(names[reader]) or MAIN
        if not isinstance(node.ir, Merge):
            return own
        roles = ROLES[type(node.block) if node.block is not None else None]
        return variable(roles(node, own)[position])

    for i in range(len(nodes) - 1, -1, -1):
        out_reads = reads.get(names[i], [])
        hint[names[i]] = role(out_reads[0]) if len(out_reads) == 1 else None

    # Forward: place each value; copy a still-needed fork away before it is overwritten.
    where: dict[str, str] = dict(arrives)
    holder: dict[str, str] = {var: name for name, var in arrives.items()}
    left = {name: len(r) for name, r in reads.items()}

    def live(var: str) -> bool:
        value = holder.get(var)
        return value is not None and left.get(value, 0) > 0

    def fresh(wanted: str, busy: tuple[str, ...] = ()) -> str:
        """`wanted`, or `wanted_2`, `wanted_3`, ...: the first that holds nothing still
        needed (nor a variable in `busy`, which the step being written reads)."""
        candidate, n = wanted, 1
        while (
            live(candidate)
            or candidate in busy
            or (candidate != wanted and candidate in taken.taken)
        ):
            n += 1
            candidate = f"{wanted}_{n}"
        return candidate

    out: list[Variables] = []
    for i, node in enumerate(nodes):
        step_reads = tuple(where[s] for s in node.sources)
        for s in node.sources:
            left[s] -= 1
        # A layer may continue in its source's variable, never in a kept input's (Keras's
        # functional API still needs `inputs` for `keras.Model(inputs, x)`).
        layer = len(node.sources) == 1 and not isinstance(node.ir, Merge)
        layer = layer and step_reads[0] not in kept
        wanted = hint[names[i]] or (step_reads[0] if layer else MAIN)
        copies: tuple[tuple[str, str], ...] = ()
        if live(wanted):
            held = holder[wanted]
            fork = len(reads[held]) > 1
            if layer and not (fork and held in node.sources) and not live(step_reads[0]):
                wanted = step_reads[0]  # continue where the source was
            elif fork:  # keep it for its later readers, under the name they want
                keep = fresh(role(reads[held][-1]), step_reads)
                copies = ((keep, wanted),)
                where[held], holder[keep] = keep, held
            else:
                wanted = fresh(wanted, step_reads)
        where[names[i]], holder[wanted] = wanted, names[i]
        out.append(Variables(step_reads, wanted, copies))
    named = {value: where.get(value, input_var) for value in returned}
    return out, where.get(output_name, input_var), named
