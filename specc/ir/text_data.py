"""Text sources of the `data` block and `tokenize`, how their text becomes token ids:
generated token ids (`synthetic_text`), Keras's IMDB reviews, a folder of text files, a
text corpus cut into next-token windows, and a generated one (docs/data.md, from
`synthetic_text` to `corpus`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Node
from specc.ir.data_block import Data, Task
from specc.ir.spaces import PositiveInt, is_space


class Tokenize(Node):
    """How a text source becomes token ids: `tokenize words vocab=20000 length=200 lowercase`
    (docs/data.md#text-folder). Id 0 pads, 1 is out-of-vocabulary, 2.. are the training split's
    tokens by frequency."""

    kind: Literal["tokenize"] = "tokenize"
    positional = ("mode",)

    mode: Literal["words", "chars"] = "words"
    """Tokens: runs of word characters (`words`), or single characters (`chars`)."""
    vocab: int = Field(default=20000, ge=3, le=1_000_000)
    """Ids in all: 0 (padding), 1 (out-of-vocabulary) and the vocab - 2 commonest tokens."""
    length: PositiveInt = 200
    """Ids per example: padded with 0 at the start, a longer text keeps its last ids."""
    lowercase: bool = False
    """Lower-case the text before splitting it."""


class SyntheticText(Data):
    """Generated token-id sequences with a planted signal (docs/data.md#synthetic-text):
    random ids, pre-padded with id 0 to `length`, and one token per example that alone
    decides its class (id 1 + class). A stand-in for a text data set: what a model that
    reads the sequence learns fully and one that ignores it cannot."""

    kind: Literal["synthetic_text"] = "synthetic_text"
    positional = ("task",)
    aliases = ("synthetic_tokens",)
    reads_files = False

    task: Literal["classification", "binary"] = "classification"
    """Class labels, or 0/1 targets (`binary`: two classes)."""
    samples: PositiveInt = 1000
    """Number of examples (train and test together)."""
    length: PositiveInt = 200
    """Token ids per example (padded with 0 at the start)."""
    vocab: int = Field(default=20000, ge=4, le=1_000_000)
    """Vocabulary size: ids run from 0 (padding) to vocab - 1."""
    classes: int = Field(default=2, ge=2, le=1000)
    """Number of classes; ids 1..classes are the signal tokens."""
    data_seed: int = Field(default=0, ge=0)
    """Seed of the generator (separate from the training seed)."""

    @model_validator(mode="after")
    def _room(self) -> SyntheticText:
        if (
            not is_space(self.vocab)
            and not is_space(self.classes)
            and self.vocab <= self.classes + 1
        ):
            raise SpecError(
                "E301",
                "`vocab` must exceed `classes` + 1 (id 0 pads, ids 1..classes are the signal)",
                self.where("vocab"),
            )
        return self

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        classes = int(self.classes) if self.task == "classification" else 2
        if is_space(self.length):  # `length=choice(...)`: known only per sweep trial
            return None, classes, self.task
        return (int(self.length),), classes, self.task


class IMDB(Data):
    """Keras's IMDB reviews (`imdb.npz`): 25,000 training and 25,000 test reviews as token
    ids, labelled negative (0) or positive (1). `vocab=V length=L` means Keras's
    `imdb.load_data(num_words=V)` then `pad_sequences(maxlen=L)`: id 0 pads (at the start),
    1 starts a review, 2 is out-of-vocabulary, word ranks from 3 (docs/data.md#imdb)."""

    kind: Literal["imdb"] = "imdb"
    positional = ("task",)
    downloadable = True
    own_test_split = True
    title = "IMDB"

    task: Literal["classification", "binary"] = "classification"
    """Class indices 0/1 (a 2-way softmax), or 0/1 targets (`binary`: one sigmoid)."""
    vocab: int = Field(default=20000, ge=4, le=1_000_000)
    """Keras's `num_words`: ids run from 0 to vocab - 1; rarer words become id 2."""
    length: PositiveInt = 200
    """Ids per review: shorter ones padded with 0 at the start, longer ones keep their end."""

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        if is_space(self.length):
            return None, 2, self.task
        return (int(self.length),), 2, self.task


class TextFolder(Data):
    """A folder of text files per class, aclImdb's layout: `train/<class>/*.txt` and
    optionally `test/<class>/*.txt`, tokenized by the block's `tokenize` statement, the
    vocabulary built from the training split only (docs/data.md#text-folder)."""

    kind: Literal["text_folder"] = "text_folder"
    needs_path = 'a folder: `data text_folder "aclImdb"`'
    positional = ("path",)
    keywords = {**Data.keywords, "tokenize": "tokenize"}
    own_test_split = None  # when the folder has test/
    title = "text folder"

    task: Literal["classification", "binary"] = "classification"
    """Class indices, or 0/1 targets (`binary`: two classes)."""
    tokenize: Tokenize = Field(default_factory=Tokenize)
    """How the texts become ids."""

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        classes = 2 if self.task == "binary" else None
        if is_space(self.tokenize.length):
            return None, classes, self.task
        return (int(self.tokenize.length),), classes, self.task


class Corpus(Data):
    """One plain text file for language modelling (PyTorch's word_language_model `Corpus`,
    keras-io's character LSTM): tokenized whole by the block's `tokenize` statement, cut into
    windows of `length` token ids, each target the window shifted by one token (the next
    token at every step). `test`/`validation` are the text's last parts (docs/data.md#corpus)."""

    kind: Literal["corpus"] = "corpus"
    needs_path = 'a text file: `data corpus "tiny.txt"`'
    positional = ("path",)
    aliases = ("text_corpus", "text_file")
    keywords = {**Data.keywords, "tokenize": "tokenize"}
    one_target_per_example = False  # one target per step
    title = "text corpus"

    tokenize: Tokenize = Field(default_factory=Tokenize)
    """How the text becomes ids; `length` is the window."""

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        if is_space(self.tokenize.length):
            return None, None, "classification"
        return (int(self.tokenize.length),), None, "classification"


class SyntheticCorpus(Data):
    """A generated English-like text for language modelling offline
    (docs/data.md#synthetic-corpus): sentences drawn from a small fixed grammar, so the next
    character is mostly predictable, treated exactly as `data corpus` treats a file."""

    kind: Literal["synthetic_corpus"] = "synthetic_corpus"
    keywords = {**Data.keywords, "tokenize": "tokenize"}
    reads_files = False
    one_target_per_example = False
    title = "synthetic corpus"

    sentences: PositiveInt = 2000
    """Sentences of text to generate (about 30 characters each)."""
    data_seed: int = Field(default=0, ge=0)
    """Seed of the generator (separate from the training seed)."""
    tokenize: Tokenize = Field(default_factory=lambda: Tokenize(mode="chars", length=64))
    """How the text becomes ids (default: characters, windows of 64)."""

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        if is_space(self.tokenize.length):
            return None, None, "classification"
        return (int(self.tokenize.length),), None, "classification"
