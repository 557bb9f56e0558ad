"""The base of every layer kind, and the facts a kind declares about itself.

Everything a backend, an emitter or a lint needs to know about a kind lives on its class
(docs/semantics.md#layers): which arrays it owns and in which (neutral, PyTorch) layout
(`weights`), whether it takes an `activation=` and initialisers (`takes_activation`), how
it reads its input's axes (`layout`), and which parity tolerance it needs
(`parity_group`). Nothing outside specc/ir keeps a list of kinds: it asks the class.

Shapes exclude the batch dimension; images are channels-first (C, H, W) and sequences
(C, L): see docs/semantics.md#shapes. Token sequences from an `embedding` are (L, D),
marked as such (`TimeMajor`, specc/ir/sequence.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, ClassVar, Literal

from specc.diagnostics import SpecError
from specc.ir.base import Identifier, Node

if TYPE_CHECKING:
    from specc.ir.inits import Init

Shape = tuple[int, ...]

Layout = Literal["pointwise", "spatial", "ordered"]
"""How a kind reads the axes of its input (docs/semantics.md#shapes):

- `pointwise`: value by value (activations, dropout): any layout gives the same result;
- `spatial`: over positions with a channel axis (convolutions, pools, batchnorm): a
  channels-last framework computes it channels-last;
- `ordered`: the result depends on which axis is last or on the order of values in memory
  (flatten, reshape, layernorm, softmax): computed in the IR's channels-first layout."""

WeightRole = Literal[
    "kernel",
    "bias",
    "scale",
    "shift",
    "running_mean",
    "running_var",
    # sequence kinds (specc/ir/sequence.py)
    "embedding",
    "gate_kernel",
    "gate_recurrent",
    "gate_bias",
    "gate_recurrent_bias",
    "matrix",
    "vector",
]
"""What an array is for; each framework maps a role to its own name and axis order
(specc/lowering/weights.py). A `kernel` is (out, in, *window) in the neutral layout; an
`embedding` (rows, D); `gate_*` arrays stack their gates' blocks along axis 0 in the
kind's `gates` order (PyTorch's); a `matrix` is an (out, in) array and a `vector` any other
array of a kind with several of each (attention, a transformer block), each kept under its
own name by a framework that does not share PyTorch's names."""

ParityGroup = Literal["dense", "conv", "norm"]
"""Which parity tolerance a kind needs (docs/parity.md#tolerances)."""


@dataclass(frozen=True)
class Weight:
    """One array a layer owns, in the neutral (PyTorch) layout: saved as `<layer>.<name>`."""

    name: str
    shape: Shape
    role: WeightRole
    init: Init | None = None
    """Drawn with this initialiser (docs/semantics.md#init); None: the role's constant
    (ones for a scale and a running variance, zeros otherwise)."""
    trainable: bool = True
    """False for running statistics: buffers, not parameters."""
    gates: tuple[str, ...] = ()
    """For `gate_*` roles: the gate blocks along axis 0, in order (`("r", "z", "n")`)."""

    @property
    def constant(self) -> float:
        return 1.0 if self.role in ("scale", "running_var") else 0.0


def size(shape: Shape) -> int:
    return math.prod(shape)


def fmt_shape(shape: Shape) -> str:
    return "x".join(str(d) for d in shape) if shape else "a scalar"


class Layer(Node):
    """Base of every layer."""

    name: Identifier | None = None
    """A name for the layer (weights are saved under it); default `<kind>_<n>`."""
    frozen: bool = False
    """Keep this layer's weights fixed during training (fine-tuning)."""

    layout: ClassVar[Layout] = "pointwise"
    takes_activation: ClassVar[bool] = False
    """Takes `activation=`, `init=` and `bias_init=` arguments (dense, convolutions)."""
    parity_group: ClassVar[ParityGroup] = "dense"
    structural: ClassVar[bool] = False
    """Holds layers and computes nothing itself (repeat, residual, parallel, branch): the
    flow (specc/flow.py) lowers it away, so backends and targets never build it."""

    def infer(self, shape: Shape) -> Shape:
        """Output shape for one example of input `shape`."""
        return shape

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        """The arrays this layer owns for input `shape`, in the order they are drawn."""
        return ()

    def params(self, shape: Shape) -> int:
        """Number of trainable-kind weights (running statistics excluded) for input `shape`."""
        return sum(size(w.shape) for w in self.weights(shape) if w.trainable)

    def flops(self, shape: Shape, out: Shape) -> int:
        """Floating-point operations for one example (a multiply-add counts as 2)."""
        return 0

    def nested(self) -> list[Layer]:
        """The layers written inside this one's block (repeat, residual, branches), in order."""
        return []

    def options(self) -> tuple[tuple[str, str], ...]:
        """The options this layer uses that a backend or target may lack, as (feature key,
        the field that wrote it) (specc/lowering/capabilities.py OPTIONS)."""
        return ()

    def fused_activation(self) -> Layer | None:
        """The activation given as an argument (`dense 10 relu`), if any."""
        return getattr(self, "activation", None) if self.takes_activation else None

    def _need_rank(self, shape: Shape, ranks: tuple[int, ...], what: str, help: str) -> None:
        if len(shape) not in ranks:
            raise SpecError(
                "E402",
                f"`{self.kind_name()}` needs {what}, but its input has shape {fmt_shape(shape)}",
                self.span,
                help=help,
            )


class Affine(Layer):
    """A layer computing x W + b followed by its optional activation (dense, convolutions).

    Subclasses declare the fields `activation`, `bias`, `init`, `bias_init` themselves (so
    each kind's arguments keep their written order) and say how big the kernel is.
    """

    takes_activation = True

    def kernel_shape(self, shape: Shape) -> Shape:
        raise NotImplementedError

    def out_channels(self) -> int:
        raise NotImplementedError

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        kernel = Weight("weight", self.kernel_shape(shape), "kernel", self.init)  # type: ignore[attr-defined]
        if not self.bias:  # type: ignore[attr-defined]
            return (kernel,)
        bias = Weight("bias", (self.out_channels(),), "bias", self.bias_init)  # type: ignore[attr-defined]
        return (kernel, bias)

    def activation_flops(self, out: Shape) -> int:
        act = self.fused_activation()
        return act.flops(out, out) if act is not None else 0
