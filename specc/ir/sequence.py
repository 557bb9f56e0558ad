"""Token and sequence layers: embeddings, recurrent layers, self-attention, pooling over time.

A token sequence is (L, D) per example: time first, features last, as Keras and
`batch_first` PyTorch hold it (docs/semantics.md#sequences). That is the transpose of
conv1d's channels-first (C, L), so an (L, D) shape is a `TimeMajor` tuple: the shape pass
carries the mark from an `embedding` on, the global pools pool its L axis, the channels-last
rewrite leaves it alone (it already is features-last), and the channels-first kinds
(`conv1d`, the 1-D pools, `batchnorm`) refuse it with a located E402.

Masking (docs/semantics.md#masking): an `embedding` with a `pad` id, fed the model's int
input, makes a mask (token != pad). It reaches the layers after it while each keeps the
positions (`keeps_mask`), and the kinds that honour it (`honours_mask`) ignore padded
positions; `mask_reaches` is the one place that decides which layers get it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, ClassVar, Literal

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.inits import Init, UniformInit
from specc.ir.layer import Layer, Shape, Weight, fmt_shape, size
from specc.ir.spaces import PositiveInt, is_space

if TYPE_CHECKING:
    from specc.shapes import ModelShapes


class TimeMajor(tuple[int, ...]):
    """An (L, D) token-sequence shape: time first, features last (not conv1d's (C, L))."""

    __slots__ = ()


def is_sequence(shape: Shape) -> bool:
    return isinstance(shape, TimeMajor)


def honours_mask(layer: Layer) -> bool:
    return bool(getattr(type(layer), "honours_mask", False))


def keeps_mask(layer: Layer) -> bool:
    """Whether a mask stays valid after `layer`: it keeps every position in place."""
    return bool(getattr(type(layer), "keeps_mask", type(layer).layout == "pointwise"))


def mask_reaches(layers: list[Layer]) -> list[bool]:
    """For each layer (unrolled, in order): whether it is given the padding mask.

    The mask exists when the first layer is an `embedding` with `pad`; a layer that honours
    it gets it while every layer between keeps the positions in place.
    """
    out: list[bool] = []
    alive = bool(layers) and isinstance(layers[0], Embedding) and layers[0].pad is not None
    for i, layer in enumerate(layers):
        if i == 0:
            out.append(False)
            continue
        out.append(alive and honours_mask(layer))
        alive = alive and keeps_mask(layer)
    return out


def need_sequence(layer: Layer, shape: Shape) -> None:
    """E402 unless `shape` is an (L, D) token sequence (what an `embedding` gives)."""
    if not is_sequence(shape):
        raise SpecError(
            "E402",
            f"`{layer.kind_name()}` needs a token sequence (LxD, from an `embedding`), "
            f"but its input has shape {fmt_shape(shape)}",
            layer.span,
            help="feed it token ids through `embedding V D` first (`input 200 int`)",
        )


class Sequential(Layer):
    """Base of the kinds that read (L, D) sequences: computed in the IR's own layout."""

    layout = "ordered"
    keeps_mask: ClassVar[bool] = False
    honours_mask: ClassVar[bool] = False
    dropout_fields: ClassVar[tuple[str, ...]] = ()
    """Fields holding a dropout rate (`specc parity` sets them to 0)."""


class Embedding(Sequential):
    """Token ids (L,) -> learned vectors (L, D) (Keras Embedding, PyTorch nn.Embedding).

    `pad`: the padding id; it makes the mask later layers honour (docs/semantics.md#masking).
    Its row is an ordinary, trainable row (unlike PyTorch's `padding_idx`, which freezes it
    at zero), so every backend trains the same numbers.
    """

    kind: Literal["embedding"] = "embedding"
    positional = ("vocab", "dim")
    aliases = ("embed",)
    arg_aliases = {
        "input_dim": "vocab",
        "num_embeddings": "vocab",
        "output_dim": "dim",
        "embedding_dim": "dim",
        "padding_idx": "pad",
    }
    takes_token_ids: ClassVar[bool] = True

    vocab: PositiveInt
    """Vocabulary size: token ids run from 0 to vocab - 1."""
    dim: PositiveInt
    """Width of each token's vector."""
    pad: int | None = None
    """The padding id (e.g. `pad=0`): padded positions are masked."""
    init: Init = Field(default_factory=UniformInit)
    """Initialiser of the table (Keras's default, uniform(-0.05, 0.05))."""

    @model_validator(mode="after")
    def _pad_in_vocab(self) -> Embedding:
        if is_space(self.vocab):
            return self  # `vocab=choice(...)`: checked per sweep trial
        if self.pad is not None and not 0 <= self.pad < int(self.vocab):
            raise SpecError(
                "E301",
                f"`pad` must be a token id between 0 and {int(self.vocab) - 1}",
                self.where("pad"),
            )
        return self

    def infer(self, shape: Shape) -> Shape:
        self._need_rank(shape, (1,), "token ids (L,)", "declare the input as `input 200 int`")
        return TimeMajor((shape[0], int(self.dim)))

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        return (Weight("weight", (int(self.vocab), int(self.dim)), "embedding", self.init),)


class PositionEmbedding(Sequential):
    """Adds a learned vector per position: (L, D) -> (L, D), L taken from the input."""

    kind: Literal["position_embedding"] = "position_embedding"
    aliases = ("positional_embedding", "pos_embedding")
    keeps_mask = True

    init: Init = Field(default_factory=UniformInit)
    """Initialiser of the (L, D) table (uniform(-0.05, 0.05))."""

    def infer(self, shape: Shape) -> Shape:
        need_sequence(self, shape)
        return shape

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        return (Weight("weight", tuple(shape), "embedding", self.init),)

    def flops(self, shape: Shape, out: Shape) -> int:
        return size(shape)


class Recurrent(Sequential):
    """Base of `lstm` and `gru`: fields declared by each kind, the rules live here.

    Arrays (PyTorch's names and layout, the neutral one): per direction `weight_ih_l0`
    (G*H, I), `weight_hh_l0` (G*H, H), `bias_ih_l0`, `bias_hh_l0` (G*H,), with `_reverse`
    for the backward direction; `gates` names the G blocks of axis 0 in that order.
    """

    positional = ("units",)
    arg_aliases = {"hidden_size": "units", "return_sequences": "sequences"}
    gates: ClassVar[tuple[str, ...]] = ()

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1  # type: ignore[attr-defined]

    def infer(self, shape: Shape) -> Shape:
        need_sequence(self, shape)
        width = int(self.units) * self.directions  # type: ignore[attr-defined]
        if self.sequences:  # type: ignore[attr-defined]
            return TimeMajor((shape[0], width))
        return (width,)

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        hidden, g = int(self.units), len(self.gates)  # type: ignore[attr-defined]
        # PyTorch's default for every array: U(-1/sqrt(H), 1/sqrt(H)).
        bound = 1.0 / math.sqrt(hidden)
        init, gates = UniformInit(low=-bound, high=bound), self.gates
        out: list[Weight] = []
        for suffix in ("", "_reverse")[: self.directions]:
            out += [
                Weight(
                    f"weight_ih_l0{suffix}",
                    (g * hidden, shape[-1]),
                    "gate_kernel",
                    init,
                    gates=gates,
                ),
                Weight(
                    f"weight_hh_l0{suffix}",
                    (g * hidden, hidden),
                    "gate_recurrent",
                    init,
                    gates=gates,
                ),
                Weight(f"bias_ih_l0{suffix}", (g * hidden,), "gate_bias", init, gates=gates),
                Weight(
                    f"bias_hh_l0{suffix}", (g * hidden,), "gate_recurrent_bias", init, gates=gates
                ),
            ]
        return tuple(out)

    def flops(self, shape: Shape, out: Shape) -> int:
        hidden, g = int(self.units), len(self.gates)  # type: ignore[attr-defined]
        per_step = 2 * g * hidden * (shape[-1] + hidden)
        return self.directions * shape[0] * per_step


class LSTM(Recurrent):
    """Long short-term memory over (L, D) (Keras LSTM, PyTorch nn.LSTM).

    Gates in PyTorch's order [i, f, g, o] with two biases (`bias_ih`, `bias_hh`).
    `sequences=true` gives every step's output (L, H), else the last one (H,);
    `bidirectional` concatenates a backward pass (2H).
    """

    kind: Literal["lstm"] = "lstm"
    gates = ("i", "f", "g", "o")

    units: PositiveInt
    """Hidden size H."""
    sequences: bool = False
    """Return the output at every step (L, H) instead of the last (H,)."""
    bidirectional: bool = False
    """Also run backwards and concatenate (forward first)."""


class GRU(Recurrent):
    """Gated recurrent unit over (L, D) (PyTorch nn.GRU; Keras GRU with `reset_after`).

    Gates in PyTorch's order [r, z, n]; the reset gate multiplies the recurrent term after
    its bias (`reset_after=True` in Keras).
    """

    kind: Literal["gru"] = "gru"
    gates = ("r", "z", "n")

    units: PositiveInt
    """Hidden size H."""
    sequences: bool = False
    """Return the output at every step (L, H) instead of the last (H,)."""
    bidirectional: bool = False
    """Also run backwards and concatenate (forward first)."""


def vocabulary(shapes: ModelShapes) -> int | None:
    """The vocabulary size of a model reading token ids (its first layer, an `embedding`);
    None for a float input. The data loader checks every id against it."""
    model_input = shapes.model.input
    first = shapes.layers[0].layer if shapes.layers else None
    if model_input is None or model_input.dtype != "int" or not isinstance(first, Embedding):
        return None
    return int(first.vocab)


def check_input(layer: Layer, shape: Shape, dtype: str) -> None:
    """What an input's type allows, before `layer.infer`: token ids (`input N int`) go into
    an `embedding` and only there; an (L, D) sequence is not a channels-first one."""
    ids = bool(getattr(type(layer), "takes_token_ids", False))
    kind = layer.kind_name()
    if dtype == "int" and not ids:
        raise SpecError(
            "E410",
            f"`{kind}` needs numbers, but its input is token ids (`int`)",
            layer.span,
            help="turn the ids into vectors first: `embedding VOCAB DIM` right after the input",
        )
    if dtype != "int" and ids:
        raise SpecError(
            "E410",
            f"`{kind}` reads token ids, but its input is {fmt_shape(shape)} float numbers",
            layer.span,
            help="put it first, after an integer input: `input 200 int`",
        )
    if is_sequence(shape) and type(layer).layout == "spatial" and not honours_mask(layer):
        raise SpecError(
            "E402",
            f"`{kind}` reads a channels-first (CxL) sequence, but an `embedding` gives "
            f"{fmt_shape(shape)} time first (LxD)",
            layer.span,
            help="pool over time with `global_avgpool`/`global_maxpool`, or use `lstm`, "
            "`gru`, `attention` or `transformer_encoder`",
        )
