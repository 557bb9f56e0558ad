"""Token and sequence layers: embeddings, recurrent layers, self-attention, pooling over time.

A token sequence is (L, D) per example: time first, features last, as Keras and
`batch_first` PyTorch hold it (docs/semantics.md#sequences). That is the transpose of
conv1d's channels-first (C, L), so an (L, D) shape is a `TimeMajor` tuple: the shape pass
carries the mark from an `embedding` on, the global pools pool its L axis, `conv1d` and the
1-D pools run along L with D channels (`reads_time_major`, giving (L', F) time first), the
channels-last rewrite leaves it alone (it already is features-last), and the other
channels-first kinds (`batchnorm`, the 2-D ones) refuse it with a located E402.

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
from specc.ir.spaces import OpenUnitFloat, PositiveInt, is_space

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
    if isinstance(layer, Sequential):
        return layer.keeps_positions()
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

    def keeps_positions(self) -> bool:
        """Whether the padding mask still describes this layer's output (`keeps_mask`)."""
        return type(self).keeps_mask


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
    """Adds a vector per position: (L, D) -> (L, D), L taken from the input. Learned (an
    (L, D) table), or with `sinusoidal` the fixed table of `sinusoid` (no weights)."""

    kind: Literal["position_embedding"] = "position_embedding"
    aliases = ("positional_embedding", "pos_embedding")
    keeps_mask = True

    sinusoidal: bool = False
    """Add the fixed sine/cosine table (Vaswani et al. 2017) instead of learning one."""
    init: Init = Field(default_factory=UniformInit)
    """Initialiser of the learned (L, D) table (uniform(-0.05, 0.05))."""

    @model_validator(mode="after")
    def _init_needs_a_table(self) -> PositionEmbedding:
        if self.sinusoidal and self.init != UniformInit():
            raise SpecError(
                "E202",
                "`init` draws the learned table, and `position_embedding sinusoidal` has none",
                self.where("init"),
                help="remove `init=`, or `sinusoidal` to learn the positions",
            )
        return self

    def infer(self, shape: Shape) -> Shape:
        need_sequence(self, shape)
        return shape

    def weights(self, shape: Shape) -> tuple[Weight, ...]:
        if self.sinusoidal:
            return ()
        return (Weight("weight", tuple(shape), "embedding", self.init),)

    def options(self) -> tuple[tuple[str, str], ...]:
        return (("position_embedding.sinusoidal", "sinusoidal"),) if self.sinusoidal else ()

    def flops(self, shape: Shape, out: Shape) -> int:
        return size(shape)


def sinusoid(length: int, dim: int) -> list[list[float]]:
    """The fixed position table of `position_embedding sinusoidal` (docs/semantics.md#sequences):
    row p, columns 2i and 2i+1: sin(p / 10000^(2i/D)) and cos(p / 10000^(2i/D)), computed in
    double precision (every backend casts the same numbers to float32)."""
    return [
        [
            (math.sin if j % 2 == 0 else math.cos)(p / 10000 ** ((j - j % 2) / dim))
            for j in range(dim)
        ]
        for p in range(length)
    ]


class LastStep(Sequential):
    """The last step of an (L, D) sequence: (L, D) -> (D,). With the padding mask, the last
    unpadded step (zeros for an all-padding example), wherever the padding sits."""

    kind: Literal["last"] = "last"
    aliases = ("last_step",)
    honours_mask = True

    def infer(self, shape: Shape) -> Shape:
        need_sequence(self, shape)
        return (shape[-1],)


class Recurrent(Sequential):
    """Base of `lstm` and `gru`: fields declared by each kind, the rules live here.

    Arrays (PyTorch's names and layout, the neutral one): per stacked layer k and direction
    `weight_ih_l{k}` (G*H, I), `weight_hh_l{k}` (G*H, H), `bias_ih_l{k}`, `bias_hh_l{k}`
    (G*H,), with `_reverse` for the backward direction; `gates` names the G blocks of axis 0
    in that order. Layer 0 reads the input's D, the others the previous layer's H*dirs.

    It honours the padding mask (docs/semantics.md#masking): a padded step leaves the state
    as it was and outputs zeros; with `sequences=true` the mask still describes the output.
    """

    positional = ("units",)
    arg_aliases = {
        "hidden_size": "units",
        "return_sequences": "sequences",
        "num_layers": "layers",
    }
    gates: ClassVar[tuple[str, ...]] = ()
    honours_mask = True
    dropout_fields = ("dropout",)

    @property
    def directions(self) -> int:
        return 2 if self.bidirectional else 1  # type: ignore[attr-defined]

    @property
    def depth(self) -> int:
        return int(self.layers)  # type: ignore[attr-defined]

    def keeps_positions(self) -> bool:
        return bool(self.sequences)  # type: ignore[attr-defined]

    def options(self) -> tuple[tuple[str, str], ...]:
        layers = self.layers  # type: ignore[attr-defined]
        stacked = is_space(layers) or int(layers) > 1  # a search space may stack
        return (("recurrent.stacked", "layers"),) if stacked else ()

    @model_validator(mode="after")
    def _dropout_between_layers(self) -> Recurrent:
        rate, layers = self.dropout, self.layers  # type: ignore[attr-defined]
        if is_space(rate) or is_space(layers) or not rate or int(layers) > 1:
            return self
        raise SpecError(
            "E301",
            f"`dropout` drops between stacked layers, but this `{self.kind_name()}` has one",
            self.where("dropout"),
            help="stack layers with `layers=2`, or put a `dropout` layer after it",
        )

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
        for k in range(self.depth):
            inputs = shape[-1] if k == 0 else hidden * self.directions
            for suffix in ("", "_reverse")[: self.directions]:
                tail = f"_l{k}{suffix}"
                arrays = (
                    ("weight_ih", (g * hidden, inputs), "gate_kernel"),
                    ("weight_hh", (g * hidden, hidden), "gate_recurrent"),
                    ("bias_ih", (g * hidden,), "gate_bias"),
                    ("bias_hh", (g * hidden,), "gate_recurrent_bias"),
                )
                out += [
                    Weight(name + tail, shape_, role, init, gates=gates)  # type: ignore[arg-type]
                    for name, shape_, role in arrays
                ]
        return tuple(out)

    def flops(self, shape: Shape, out: Shape) -> int:
        hidden, g = int(self.units), len(self.gates)  # type: ignore[attr-defined]
        total = 0
        for k in range(self.depth):
            inputs = shape[-1] if k == 0 else hidden * self.directions
            total += self.directions * shape[0] * 2 * g * hidden * (inputs + hidden)
        return total


class LSTM(Recurrent):
    """Long short-term memory over (L, D) (Keras LSTM, PyTorch nn.LSTM).

    Gates in PyTorch's order [i, f, g, o] with two biases (`bias_ih`, `bias_hh`).
    `sequences=true` gives every step's output (L, H), else the last one (H,);
    `bidirectional` concatenates a backward pass (2H); `layers=N` stacks N of them with
    `dropout` between (PyTorch's `num_layers`, `dropout`).
    """

    kind: Literal["lstm"] = "lstm"
    gates = ("i", "f", "g", "o")

    units: PositiveInt
    """Hidden size H."""
    sequences: bool = False
    """Return the output at every step (L, H) instead of the last (H,)."""
    bidirectional: bool = False
    """Also run backwards and concatenate (forward first)."""
    layers: PositiveInt = 1
    """Stacked layers, each reading the previous one's outputs (PyTorch's `num_layers`)."""
    dropout: OpenUnitFloat = 0.0
    """Dropout on the outputs of every stacked layer but the last, while training."""


class GRU(Recurrent):
    """Gated recurrent unit over (L, D) (PyTorch nn.GRU; Keras GRU with `reset_after`).

    Gates in PyTorch's order [r, z, n]; the reset gate multiplies the recurrent term after
    its bias (`reset_after=True` in Keras). `layers` and `dropout` as for `lstm`.
    """

    kind: Literal["gru"] = "gru"
    gates = ("r", "z", "n")

    units: PositiveInt
    """Hidden size H."""
    sequences: bool = False
    """Return the output at every step (L, H) instead of the last (H,)."""
    bidirectional: bool = False
    """Also run backwards and concatenate (forward first)."""
    layers: PositiveInt = 1
    """Stacked layers, each reading the previous one's outputs (PyTorch's `num_layers`)."""
    dropout: OpenUnitFloat = 0.0
    """Dropout on the outputs of every stacked layer but the last, while training."""


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
    reads_time_major = honours_mask(layer) or getattr(type(layer), "reads_time_major", False)
    if is_sequence(shape) and type(layer).layout == "spatial" and not reads_time_major:
        raise SpecError(
            "E402",
            f"`{kind}` reads channels-first values (CxL or CxHxW), but an `embedding` gives "
            f"{fmt_shape(shape)} time first (LxD)",
            layer.span,
            help="pool over time with `global_avgpool`/`global_maxpool`, or use `conv1d`, "
            "the 1-D pools, `lstm`, `gru`, `attention` or `transformer_encoder`",
        )
