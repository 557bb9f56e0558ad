"""Graph constructs: merges, residual blocks, parallel branches, named branches.

A model is still read top to bottom: every statement takes "the current tensor" and gives
the next one (docs/semantics.md#graphs). These kinds are what makes that a graph:

- a merge (`add`, `concat`, `multiply`, `average`) combines earlier values by name:
  `concat img tab`; with one name, the current tensor is the other operand (`add skip`);
- `residual { body; shortcut { ... } }` is `current = shortcut(current) + body(current)`
  (the shortcut is the identity unless written);
- `parallel MERGE { branch { ... } branch { ... } }` runs every branch on the current
  tensor and merges their outputs;
- `branch NAME from=VALUE { ... }` computes a named value (from the current tensor by
  default) and leaves the current tensor as it was;
- `output NAME from=VALUE { ... }` is a branch whose value the model returns: a model
  with output blocks has several named outputs, each trained with its own loss
  (`output NAME { loss ... }` in `train`), and ends with them.

Names resolve to earlier statements only, so a cycle cannot be written. Each merge kind
says how it combines shapes (`combine`); the concat axis is the channel/feature axis, the
first one of the IR's channels-first layout, so a spec never writes `axis=`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field

from specc.diagnostics import SpecError
from specc.ir.base import Identifier, Node
from specc.ir.layer import Layer, Shape, fmt_shape, size

if TYPE_CHECKING:
    from specc.ir.layers import AnyLayer


class Merge(Layer):
    """Base of the merges: combine several values of the model into one."""

    variadic = "operands"
    refers = ("operands",)
    layout = "spatial"  # operands must share a layout; concat joins the channel axis

    operands: list[Identifier] = Field(default_factory=list)
    """Names of the values to merge (inputs, branches, named layers). With one name, the
    current tensor is the first operand."""

    same_shapes: ClassVar[bool] = True
    """Element-wise: every operand must have the same shape."""

    def combine(self, shapes: list[Shape], names: list[str]) -> Shape:
        """The merged shape; E408 naming the operands that do not fit."""
        first = shapes[0]
        for shape, name in zip(shapes[1:], names[1:], strict=True):
            if shape != first:
                raise SpecError(
                    "E408",
                    f"`{self.kind_name()}` needs operands of one shape, but {names[0]} is "
                    f"{fmt_shape(first)} and {name} is {fmt_shape(shape)}",
                    self.span,
                    help=self.mismatch_help(first, shape),
                )
        return first

    def mismatch_help(self, first: Shape, other: Shape) -> str:
        if first[1:] == other[1:] and len(first) == len(other):
            return "they differ only in channels: `concat` joins them, or project one with a 1x1 conv / dense"
        return "make the branches end in the same shape (strides, pools, padding and channels)"

    def flops(self, shape: Shape, out: Shape) -> int:
        return size(out)


class Add(Merge):
    """Element-wise sum of values of one shape: `add a b`, `add skip`."""

    kind: Literal["add"] = "add"
    aliases = ("sum",)


class Multiply(Merge):
    """Element-wise product of values of one shape (gating)."""

    kind: Literal["multiply"] = "multiply"
    aliases = ("mul",)


class Average(Merge):
    """Element-wise mean of values of one shape."""

    kind: Literal["average"] = "average"
    aliases = ("mean",)


class Concat(Merge):
    """Joins values along the channel/feature axis (channels of CxHxW images and CxL
    sequences, features of a vector); every other axis must agree."""

    kind: Literal["concat"] = "concat"
    aliases = ("concatenate", "cat")
    same_shapes = False

    def combine(self, shapes: list[Shape], names: list[str]) -> Shape:
        first = shapes[0]
        for shape, name in zip(shapes[1:], names[1:], strict=True):
            if len(shape) != len(first) or shape[1:] != first[1:]:
                what = "sizes" if len(shape) == len(first) else "ranks"
                raise SpecError(
                    "E408",
                    f"`concat` joins channels, so every other axis must agree, but "
                    f"{names[0]} is {fmt_shape(first)} and {name} is {fmt_shape(shape)} "
                    f"(different {what} after the channels)",
                    self.span,
                    help="make the branches downsample alike (same strides, pools and padding), "
                    "or `flatten`/`global_avgpool` each before joining features",
                )
        return (sum(s[0] for s in shapes), *first[1:])

    def flops(self, shape: Shape, out: Shape) -> int:
        return 0


MergeKind = Literal["add", "concat", "multiply", "average"]
MERGES: dict[str, type[Merge]] = {cls.kind_name(): cls for cls in (Add, Concat, Multiply, Average)}


class Shortcut(Node):
    """The path a residual block adds its body to: `shortcut { conv2d 128 1 stride=2 }`.
    Without one, the input itself (the identity)."""

    kind: Literal["shortcut"] = "shortcut"
    collector = "layers"

    layers: list[AnyLayer] = Field(default_factory=list)
    """The layers of the shortcut path, in order."""


class Residual(Layer):
    """y = shortcut(x) + body(x): the statements of the block are the body; the
    shortcut is the identity unless a `shortcut { ... }` block is given. The body must end
    in the shape it started with, or the shortcut must reach the body's shape."""

    structural = True
    kind: Literal["residual"] = "residual"
    collector = "layers"
    keywords = {"shortcut": "shortcut"}

    layers: list[AnyLayer] = Field(default_factory=list)
    """The body, in order."""
    shortcut: Shortcut | None = None
    """The shortcut path (default: the identity)."""

    def nested(self) -> list[Layer]:
        shortcut = list(self.shortcut.layers) if self.shortcut else []
        return [*self.layers, *shortcut]

    def merge_node(self) -> Merge:
        """The sum this block ends in, located at the block."""
        return Add(span=self.span)


class Branch(Layer):
    """A named path: `branch img from=image { conv2d 32 3 relu; global_avgpool }`.

    At model level it computes a value from `from` (default: the current tensor) and
    leaves the current tensor unchanged; merges and later `from=` refer to it by name.
    Inside `parallel`, each branch starts from the current tensor unless `from` says
    otherwise."""

    structural = True
    kind: Literal["branch"] = "branch"
    positional = ("name",)
    collector = "layers"
    arg_aliases = {"from": "source"}
    spelled = {"source": "from"}
    refers = ("source",)

    source: Identifier | None = None
    """The value it starts from (`from=`): an input, a branch or a named layer."""
    layers: list[AnyLayer] = Field(default_factory=list)
    """The layers of the branch, in order (none: the source itself)."""

    def nested(self) -> list[Layer]:
        return list(self.layers)


class Output(Branch):
    """A named output of the model: `output digit { dense 10 }`.

    It starts from the current tensor (or `from=`) like a model-level `branch`, and its
    value is one of the model's outputs. A model with output blocks ends with them: only
    other output blocks may follow the first. Each output needs its loss in `train`
    (`output digit { loss sparse_categorical_crossentropy }`); its data target is the
    array `y_<name>` (docs/data.md#several-outputs)."""

    kind: Literal["output"] = "output"  # type: ignore[assignment]


class Parallel(Layer):
    """Branches side by side on the current tensor, merged: `parallel concat { branch
    { ... } branch { ... } }` (an Inception block). The merge is `add`, `concat`,
    `multiply` or `average`."""

    structural = True
    kind: Literal["parallel"] = "parallel"
    positional = ("merge",)
    keywords = {"branch": "branches"}

    merge: MergeKind
    """How the branches' outputs are combined."""
    branches: list[Branch] = Field(default_factory=list)
    """The branches, in order (at least two)."""

    def nested(self) -> list[Layer]:
        return list(self.branches)

    def merge_node(self) -> Merge:
        """The merge this block ends in, located at the block."""
        return MERGES[self.merge](span=self.span)
