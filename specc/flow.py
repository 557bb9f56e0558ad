"""The model as a flow of named values: blocks unrolled, every layer named, every name
resolved, every shape inferred (docs/semantics.md#graphs).

A model is read top to bottom. Each statement reads "the current tensor" (or the values a
merge names) and the result becomes the current tensor; a residual block adds its body to
its shortcut, a parallel block merges its branches, a model-level `branch` computes a
named value and leaves the current tensor alone. What comes out is a flat list of
`LayerInfo`s in an order every framework can compute them in, each naming the values it
reads (`sources`), so a chain and a graph are the same data.

Layer names: explicit `name=`, else `<kind>_<n>` counting per kind over the whole model,
with `_<copy>` suffixes inside `repeat` (weights are saved and matched by them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from specc.diagnostics import Related, SpecError, did_you_mean
from specc.ir.layers import (
    Branch,
    Layer,
    Merge,
    Output,
    Parallel,
    Repeat,
    Residual,
    fmt_shape,
)
from specc.ir.sequence import check_input
from specc.ir.spaces import is_space
from specc.ir.spec import Model
from specc.output_checks import after_outputs, check_output_places
from specc.shapes import LayerInfo, Shape, Unused
from specc.span import Span


class Stop(Exception):
    """Inference reached the editor's stop offset or a search space: keep what was found."""


@dataclass
class Value:
    shape: Shape
    step: str
    """The layer or input that computes it."""
    where: Span | None
    label: str
    """How a message names it: "the input", "`conv2d_1`", "branch `img`"."""
    dtype: str = "float"
    """`int` for token ids (an `input N int` until its embedding)."""


@dataclass
class Flow:
    model: Model
    stop: int | None = None
    """Editors: only layers written before this offset (the first error)."""
    infos: list[LayerInfo] = field(default_factory=list)
    values: dict[str, Value] = field(default_factory=dict)
    """Every name a merge or `from=` may use, so far."""
    used: set[str] = field(default_factory=set)
    counts: dict[str, int] = field(default_factory=dict)
    branches: list[tuple[str, Span | None]] = field(default_factory=list)
    nameless: list[Span | None] = field(default_factory=list)
    """Branches outside `parallel` without a name: nothing can read them."""
    outputs: list[tuple[str, str]] = field(default_factory=list)
    """The model's named outputs, in order: (output name, the step computing it)."""
    first_output: Output | None = None
    in_output: bool = False

    # ---- the walk ----------------------------------------------------------------------

    def run(self) -> str | None:
        """Walk the model; the name of the value it outputs."""
        for inp in self.model.inputs:
            name = inp.value_name
            label = f"input `{name}`" if inp.name else "the input"
            value = Value(tuple(inp.shape), name, inp.span, label, inp.dtype)
            self._define(name, value, inp.where("name"))
        current = self.model.inputs[0].value_name if len(self.model.inputs) == 1 else None
        check_output_places(self.model)
        current = self.walk(list(self.model.layers), "", False, current)
        if self.outputs:
            self._outputs_read_alone()
            return self.outputs[0][1]
        if current is None:
            raise SpecError(
                "E209",
                f"model `{self.model.name}` never brings its inputs together",
                self.model.where("name"),
                help="merge them, e.g. `concat "
                + " ".join(i.value_name for i in self.model.inputs)
                + "`, before the layers that should see them all",
            )
        self.used.add(current)
        return current

    def walk(
        self, layers: list[Layer], suffix: str, frozen: bool, current: str | None
    ) -> str | None:
        for layer in layers:
            if self.stop is not None and layer.span is not None and layer.span.start >= self.stop:
                raise Stop
            if isinstance(layer, Repeat):
                for copy in range(1, layer.times + 1):
                    current = self.walk(
                        list(layer.layers), f"{suffix}_{copy}", frozen or layer.frozen, current
                    )
                continue
            frozen_here = frozen or layer.frozen
            if self.first_output and not self.in_output and not isinstance(layer, Output):
                raise after_outputs(layer, self.first_output)
            if isinstance(layer, Output):
                self.output(layer, frozen_here, current)
            elif isinstance(layer, Branch):
                self.branch(layer, suffix, frozen_here, current)
            elif isinstance(layer, Residual):
                current = self.residual(layer, suffix, frozen_here, self._need(current, layer))
            elif isinstance(layer, Parallel):
                current = self.parallel(layer, suffix, frozen_here, self._need(current, layer))
            elif isinstance(layer, Merge):
                current = self.merge(layer, suffix, current)
            else:
                current = self.layer(layer, suffix, frozen_here, self._need(current, layer))
        return current

    def layer(self, layer: Layer, suffix: str, frozen: bool, source: str) -> str:
        if any(is_space(getattr(layer, f)) for f in type(layer).model_fields):
            raise Stop  # `units=choice(...)`: shapes exist only per sweep trial
        if frozen and not layer.frozen:
            layer = layer.model_copy(update={"frozen": True})
        value = self.values[source]
        try:
            check_input(layer, value.shape, value.dtype)
            out = layer.infer(value.shape)
        except SpecError as err:
            if value.where is not None:  # None for IR made in code (sweep trials, tests)
                gives = f"{value.label} gives {fmt_shape(value.shape)}"
                err.related = (Related(span=value.where, message=gives),)
            raise
        name = self._name(layer, suffix)
        self._add(LayerInfo.of(name, layer, value.shape, out, (value.step,)))
        return name

    def branch(
        self, layer: Branch, suffix: str, frozen: bool, current: str | None, merged: bool = False
    ) -> str:
        start = self._resolve(layer.source, layer, "source") if layer.source else None
        start = self._need(start or current, layer)
        out = self.walk(list(layer.layers), suffix, frozen, start)
        assert out is not None
        if layer.name:
            name = layer.name + suffix
            value = self.values[out]
            label = f"branch `{layer.name}`"
            self._define(
                name, Value(value.shape, value.step, layer.span, label), layer.where("name")
            )
            if not merged:  # a parallel block's branches are always read by its merge
                self.branches.append((name, layer.where("name")))
        elif not merged:
            self.nameless.append(layer.span)
        return out

    def output(self, layer: Output, frozen: bool, current: str | None) -> None:
        """A named output: a branch whose value the model returns (docs/semantics.md#outputs)."""
        if self.first_output is None:
            self.first_output = layer
        if not layer.name or not layer.layers:
            raise SpecError(
                "E210",
                "an `output` block needs a name and at least one layer"
                if layer.name
                else "an `output` block needs a name",
                layer.span,
                help="for example `output digit { dense 10 }`: the name keys its loss in "
                "`train` and its target `y_<name>` in the data",
            )
        start = self._resolve(layer.source, layer, "source") if layer.source else None
        start = self._need(start or current, layer)
        self.in_output = True
        out = self.walk(list(layer.layers), "", frozen, start)
        self.in_output = False
        assert out is not None
        value = self.values[out]
        label = f"output `{layer.name}`"
        where = layer.where("name") or layer.span
        self._define(layer.name, Value(value.shape, out, where, label), where)
        self.outputs.append((layer.name, out))
        self.used.add(out)

    def _outputs_read_alone(self) -> None:
        """Nothing may read the value an output returns (its final activation is split off
        for its loss, docs/semantics.md#losses)."""
        steps = {step: name for name, step in self.outputs}
        for info in self.infos:
            for source in info.sources:
                if source in steps:
                    raise SpecError(
                        "E210",
                        f"`{info.name}` reads the value of output `{steps[source]}`",
                        info.layer.span,
                        help="start it from the layer before (give that one `name=` and "
                        "write `from=` that name), so each output ends in a layer of its own",
                    )

    def residual(self, layer: Residual, suffix: str, frozen: bool, source: str) -> str:
        body = self.walk(list(layer.layers), suffix, frozen, source)
        shortcut: str | None = source
        if layer.shortcut is not None:
            shortcut = self.walk(list(layer.shortcut.layers), suffix, frozen, source)
        assert body is not None and shortcut is not None
        got, want = self.values[body].shape, self.values[shortcut].shape
        if got != want:
            raise self._residual_mismatch(layer, source, body, shortcut)
        node = layer.merge_node()
        name = self._name(layer, suffix)
        self._add(LayerInfo.of(name, node, got, got, (body, shortcut), block=layer))
        return name

    def parallel(self, layer: Parallel, suffix: str, frozen: bool, source: str) -> str:
        if len(layer.branches) < 2:
            raise SpecError(
                "E209",
                "`parallel` needs at least two branches",
                layer.span,
                help="add `branch { ... }` blocks, or write the layers without `parallel`",
            )
        outs = [self.branch(b, suffix, frozen, source, merged=True) for b in layer.branches]
        node = layer.merge_node()
        labels = [
            f"branch `{b.name}`" if b.name else f"branch {i} (`{self.values[o].step}`)"
            for i, (b, o) in enumerate(zip(layer.branches, outs, strict=True), start=1)
        ]
        shape = node.combine([self.values[o].shape for o in outs], labels)
        name = self._name(layer, suffix)
        self._add(
            LayerInfo.of(name, node, self.values[outs[0]].shape, shape, tuple(outs), block=layer)
        )
        return name

    def merge(self, layer: Merge, suffix: str, current: str | None) -> str:
        if not layer.operands:
            raise SpecError(
                "E209",
                f"`{layer.kind_name()}` needs the names of the values it merges",
                layer.span,
                help=f"for example `{layer.kind_name()} a b` (branches, inputs or named layers)",
            )
        operands = [self._resolve(n, layer, f"operands.{i}") for i, n in enumerate(layer.operands)]
        if len(operands) == 1:
            operands.insert(0, self._need(current, layer))
        labels = [self.values[o].label for o in operands]
        shape = layer.combine([self.values[o].shape for o in operands], labels)
        name = self._name(layer, suffix)
        self._add(LayerInfo.of(name, layer, self.values[operands[0]].shape, shape, tuple(operands)))
        return name

    # ---- names -------------------------------------------------------------------------

    def _name(self, layer: Layer, suffix: str) -> str:
        if layer.name:
            return layer.name + suffix
        kind = layer.kind_name()
        self.counts[kind] = self.counts.get(kind, 0) + 1
        return f"{kind}_{self.counts[kind]}"

    def _add(self, info: LayerInfo) -> None:
        for source in info.sources:
            self.used.add(source)
        span = info.layer.span
        label = f"`{info.name}`"
        self._define(info.name, Value(info.output, info.name, span, label), None)
        self.infos.append(info)

    def _define(self, name: str, value: Value, where: Span | None) -> None:
        first = self.values.get(name)
        if first is not None and first.step != value.step:
            raise SpecError(
                "E203",
                f"two values are named `{name}`",
                where or value.where,
                help="inputs, branches and layers share one namespace; rename one",
                related=[Related(span=first.where, message="first named here")]
                if first.where
                else [],
            )
        self.values[name] = value

    def _resolve(self, name: str, node: Layer, field: str) -> str:
        value = self.values.get(name)
        if value is None:
            guess = did_you_mean(name, list(self.values))
            raise SpecError(
                "E207",
                f"no value named `{name}` before this line",
                node.where(field),
                help=f"did you mean `{guess}`?"
                if guess
                else "names refer to earlier inputs, branches and named layers: "
                + ", ".join(f"`{n}`" for n in self.values),
                fix=guess,
            )
        self.used.add(value.step)
        self.used.add(name)
        return value.step

    def _need(self, current: str | None, layer: Layer) -> str:
        if current is None:
            names = " ".join(i.value_name for i in self.model.inputs)
            raise SpecError(
                "E208",
                f"`{layer.kind_name()}` has no current tensor to read: model "
                f"`{self.model.name}` has several inputs and none was picked",
                layer.span,
                help=f"start from one with `branch NAME from=INPUT {{ ... }}`, or merge them "
                f"first (`concat {names}`)",
            )
        return current

    # ---- messages ----------------------------------------------------------------------

    def _residual_mismatch(
        self, layer: Residual, source: str, body: str, shortcut: str
    ) -> SpecError:
        start = self.values[source].shape
        got, want = self.values[body].shape, self.values[shortcut].shape
        changer = next(
            (i for i in self.infos if i.input != i.output and _inside(i.layer.span, layer.span)),
            None,
        )
        related = []
        if changer is not None and changer.layer.span is not None:
            msg = f"`{changer.name}` changes {fmt_shape(changer.input)} to {fmt_shape(changer.output)}"
            related.append(Related(span=changer.layer.span, message=msg))
        if layer.shortcut is None:
            message = (
                f"residual body changes the shape from {fmt_shape(start)} to {fmt_shape(got)}, "
                f"so it cannot be added to its input"
            )
            fit = shortcut_for(start, got)
            help: str | None = (
                f"add `shortcut {{ {fit} }}` inside the block to bring the input to "
                f"{fmt_shape(got)}"
                if fit
                else "keep the body's output shape equal to its input"
            )
        else:
            message = (
                f"residual body gives {fmt_shape(got)} but its shortcut gives {fmt_shape(want)}"
            )
            fit = shortcut_for(start, got)
            help = f"a shortcut that fits: `shortcut {{ {fit} }}`" if fit else None
        return SpecError("E408", message, layer.span, help=help, related=related)

    def unused(self) -> list[Unused]:
        """Inputs and named branches that nothing reads (W507)."""
        out = [
            Unused(f"input `{i.value_name}`", i.where("name") or i.span)
            for i in self.model.inputs
            if i.value_name not in self.used
        ]
        out += [
            Unused(f"branch `{name}`", where)
            for name, where in self.branches
            if name not in self.used
        ]
        return out


def _inside(span: Span | None, block: Span | None) -> bool:
    return span is not None and block is not None and block.start <= span.start < block.end


def shortcut_for(start: Shape, end: Shape) -> str | None:
    """The projection that takes a residual block's input to its body's output shape:
    `conv2d C 1 stride=S` for images and sequences, `dense N` for features."""
    if len(start) == 1 and len(end) == 1:
        return f"dense {end[0]}"
    if len(start) != len(end) or len(start) not in (2, 3):
        return None
    for stride in range(1, max(start[1:]) + 1):
        if all((n - 1) // stride + 1 == m for n, m in zip(start[1:], end[1:], strict=True)):
            kind = "conv2d" if len(start) == 3 else "conv1d"
            return f"{kind} {end[0]} 1" + (f" stride={stride}" if stride > 1 else "")
    return None
