"""The `data` block: where examples come from and what happens to them before the model.

Images come out channels-first (1x28x28 for MNIST, 3x32x32 for CIFAR-10) as raw uint8
values turned to float; transforms then apply in the order written.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Identifier, Node
from specc.ir.spaces import NonNegFloat, PositiveInt, is_space

# ---- transforms ------------------------------------------------------------------------


class Scale(Node):
    """Multiply inputs by a factor: `scale 1/255`."""

    kind: Literal["scale"] = "scale"
    positional = ("factor",)

    factor: float
    """The multiplier."""
    input: Identifier | None = None
    """The input it applies to: needed, and only allowed, when the model has several
    (`scale 1/255 input=image`)."""

    @property
    def divisor(self) -> int | None:
        """n when the factor is exactly 1/n (`scale 1/255`): scripts write `x / 255`."""
        if not 0 < self.factor < 1:
            return None
        n = round(1 / self.factor)
        return n if 1 / n == self.factor and n <= 1_000_000_000 else None  # else a factor


class Normalize(Node):
    """(x - mean) / std, per channel when lists are given."""

    kind: Literal["normalize"] = "normalize"
    positional = ("mean", "std")
    aliases = ("standardize",)

    mean: float | list[float] = 0.0
    """Mean to subtract (one value, or one per channel)."""
    std: float | list[float] = 1.0
    """Standard deviation to divide by (one value, or one per channel)."""
    input: Identifier | None = None
    """The input it applies to: needed, and only allowed, when the model has several."""

    @model_validator(mode="after")
    def _positive(self) -> Normalize:
        stds = self.std if isinstance(self.std, list) else [self.std]
        if not stds or any(s <= 0 for s in stds):
            raise SpecError("E301", "`std` must be > 0", self.where("std"))
        return self


class OneHot(Node):
    """Turn integer labels into one-hot rows (for `categorical_crossentropy`)."""

    kind: Literal["one_hot"] = "one_hot"
    aliases = ("onehot",)


class Augment(Node):
    """Random training-time augmentation of images (never applied to validation or test)."""

    kind: Literal["augment"] = "augment"
    arg_aliases = {"rotate": "rotation", "translate": "shift"}

    flip: bool = False
    """Random horizontal flips (wrong for digits; right for most photos)."""
    shift: float = Field(default=0.0, ge=0, le=0.5)
    """Random translation, as a fraction of width/height."""
    rotation: float = Field(default=0.0, ge=0, le=180)
    """Random rotation, up to this many degrees either way."""


AnyTransform = Annotated[Union[Scale, Normalize, OneHot, Augment], Field(discriminator="kind")]


class Batch(Node):
    """Batch size and order: `batch 128 shuffle`."""

    kind: Literal["batch"] = "batch"
    positional = ("size",)

    size: PositiveInt = 32
    """Examples per step."""
    shuffle: bool = False
    """Reshuffle the training examples every epoch."""
    drop_last: bool = False
    """Skip the last, smaller batch of each epoch."""


# ---- sources ---------------------------------------------------------------------------

Task = Literal["classification", "binary", "regression"]


class Data(Node):
    """Base of every data source: transforms, batching and splits."""

    collector = "transforms"
    keywords = {"batch": "batch", "validation": "validation", "test": "test", "path": "path"}

    # Static facts the checker uses before any data is read (None: only known at run time).
    static_shape: ClassVar[tuple[int, ...] | None] = None
    static_classes: ClassVar[int | None] = None
    static_task: ClassVar[Task | None] = None
    # What kind of source it is (emitted scripts specialise their data code by these).
    image_set: ClassVar[bool] = False
    """A set of uint8 images with integer labels and its own test split, stored in the
    files `file_format` names."""
    file_format: ClassVar[Literal["idx", "cifar"] | None] = None
    """How an image set is stored: "idx" (MNIST's four IDX files, images (N, 28, 28)) or
    "cifar" (CIFAR-10's batches, images (N, 3, 32, 32)); None for other sources."""
    downloadable: ClassVar[bool] = False
    """Fetched from the network when not found (mirrors and checksums: specc/data/mnist.py,
    specc/data/cifar.py, specc/data/imdb.py; emitted scripts download only image sets)."""
    reads_files: ClassVar[bool] = True
    """Read from files (False: generated from the spec's numbers)."""
    title: ClassVar[str] = ""
    """How people write its name in prose ("Fashion-MNIST")."""
    # One target value per example (a label or a number); None: only the file knows (npz).
    one_target_per_example: ClassVar[bool | None] = True
    own_test_split: ClassVar[bool | None] = False
    """Comes with its own test split: always (True), never (False: the `test` fraction is
    held out instead), or only known when read (None: an .npz may hold `x_test`)."""

    transforms: list[AnyTransform] = Field(default_factory=list)
    """Transforms, applied in the order written."""
    batch: Batch = Field(default_factory=Batch)
    """Batch size and shuffling."""
    validation: float = Field(default=0.0, ge=0, lt=1)
    """Fraction of the training examples held out for validation each epoch."""
    test: float = Field(default=0.0, ge=0, lt=1)
    """Fraction held out as a test set (for sources without their own test split)."""
    path: str | None = None
    """Where the files are (default: searched for; see docs/data.md)."""

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        """(input shape, number of classes, task) known before reading any file."""
        return self.static_shape, self.static_classes, self.static_task


class MNIST(Data):
    """The MNIST handwritten digits: 60,000 training and 10,000 test images, 1x28x28."""

    kind: Literal["mnist"] = "mnist"
    static_shape = (1, 28, 28)
    static_classes = 10
    static_task = "classification"
    image_set = True
    file_format = "idx"
    downloadable = True
    own_test_split = True
    title = "MNIST"


class FashionMNIST(Data):
    """Zalando's Fashion-MNIST: 10 kinds of clothing, in MNIST's format (1x28x28)."""

    kind: Literal["fashion_mnist"] = "fashion_mnist"
    aliases = ("fashionmnist", "fashion")
    static_shape = (1, 28, 28)
    static_classes = 10
    static_task = "classification"
    image_set = True
    file_format = "idx"
    downloadable = True
    own_test_split = True
    title = "Fashion-MNIST"


class MNISTSample(Data):
    """10,000 real MNIST digits bundled with specc (8,000 train / 2,000 test): works offline."""

    kind: Literal["mnist_sample"] = "mnist_sample"
    static_shape = (1, 28, 28)
    static_classes = 10
    static_task = "classification"
    image_set = True
    file_format = "idx"
    own_test_split = True
    title = "MNIST sample"


class CIFAR10(Data):
    """CIFAR-10: 50,000 training and 10,000 test colour photos, 3x32x32, in 10 classes."""

    kind: Literal["cifar10"] = "cifar10"
    static_shape = (3, 32, 32)
    static_classes = 10
    static_task = "classification"
    image_set = True
    file_format = "cifar"
    downloadable = True
    own_test_split = True
    title = "CIFAR-10"


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


class Columns(Node):
    """The CSV columns that make one of the model's inputs: `columns meta [age, dose]`
    (for a model with several inputs; docs/data.md#several-inputs)."""

    kind: Literal["columns"] = "columns"
    positional = ("input", "names")

    input: Identifier
    """The model input these columns feed."""
    names: list[str] = Field(min_length=1)
    """The columns, in the order the input takes them."""

    def file_column(self, shape: tuple[int, ...]) -> str | None:
        """The column naming image files, when this group feeds an image-shaped input
        (1xHxW, 3xHxW or HxW) with one column, which one number could never fill
        (docs/data.md#images-and-a-csv); None for a group of numbers."""
        image = len(shape) == 2 or (len(shape) == 3 and shape[0] in (1, 3))
        return self.names[0] if len(self.names) == 1 and image else None


class CSV(Data):
    """A CSV file with a header row: numeric feature columns and one target column, or a
    text column tokenized by the block's `tokenize` (`text=review`, docs/data.md#csv)."""

    kind: Literal["csv"] = "csv"
    positional = ("path",)
    keywords = {**Data.keywords, "columns": "columns", "tokenize": "tokenize"}

    path: str | None = None
    """The CSV file (relative paths are relative to the spec)."""
    target: str = "target"
    """Name of the target column."""
    features: list[str] | None = None
    """Feature columns (default: every column but the target)."""
    task: Task = "classification"
    """What the target is: class labels, 0/1, or real numbers."""
    columns: list[Columns] = Field(default_factory=list)
    """Column groups, one per model input (a model with several inputs)."""
    text: str | None = None
    """A column of text, the only input: tokenized as `text_folder` does (the vocabulary
    from the training split only), by the block's `tokenize` statement."""
    tokenize: Tokenize | None = None
    """How the `text` column becomes ids (default: `tokenize words vocab=20000 length=200`)."""

    @model_validator(mode="after")
    def _needs_path(self) -> CSV:
        if not self.path:
            raise SpecError("E302", '`data csv` needs a file: `data csv "houses.csv"`', self.span)
        if self.tokenize is not None and self.text is None:
            raise SpecError(
                "E302",
                '`tokenize` needs a text column: `data csv "reviews.csv" text=review`',
                self.tokenize.span or self.span,
            )
        if self.text is not None and (self.features or self.columns):
            raise SpecError(
                "E302",
                "a `text` column is the only input: drop `features`/`columns`",
                self.where("text"),
            )
        return self

    @property
    def text_tokenize(self) -> Tokenize | None:
        """How the `text` column becomes ids (None: no text column)."""
        return None if self.text is None else self.tokenize or Tokenize()

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        how = self.text_tokenize
        if how is not None:
            if is_space(how.length):
                return None, None, self.task
            return (int(how.length),), None, self.task
        shape = (len(self.features),) if self.features else None
        return shape, None, self.task


class NPZ(Data):
    """A NumPy .npz archive with arrays `x` (inputs) and `y` (targets), or named ones."""

    kind: Literal["npz"] = "npz"
    positional = ("path",)
    one_target_per_example = None  # `y` may hold several values per example
    own_test_split = None

    x: str = "x"
    """Name of the inputs array."""
    y: str = "y"
    """Name of the targets array."""
    task: Task = "classification"
    """What the target is: class labels, 0/1, or real numbers."""

    @model_validator(mode="after")
    def _needs_path(self) -> NPZ:
        if not self.path:
            raise SpecError("E302", '`data npz` needs a file: `data npz "arrays.npz"`', self.span)
        return self

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        return None, None, self.task


class Synthetic(Data):
    """Generated data: Gaussian clusters (classification, binary) or a noisy linear target;
    for a model with several inputs, every input in its declared shape, each showing part of
    one class label (docs/data.md#synthetic-several)."""

    kind: Literal["synthetic"] = "synthetic"
    positional = ("task",)
    reads_files = False

    task: Task = "classification"
    """classification, binary or regression."""
    samples: PositiveInt = 1000
    """Number of examples (train and test together)."""
    features: PositiveInt = 10
    """Features per example (one input; several inputs take their shapes from the model)."""
    classes: int = Field(default=2, ge=2, le=1000)
    """Number of classes (classification)."""
    noise: NonNegFloat = 0.1
    """Noise level."""
    data_seed: int = Field(default=0, ge=0)
    """Seed of the generator (separate from the training seed)."""

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        classes = {"classification": int(self.classes), "binary": 2}.get(self.task)
        if is_space(self.features):  # `features=int(4, 64)`: known only per sweep trial
            return None, classes, self.task
        return (int(self.features),), classes, self.task


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
    positional = ("path",)
    keywords = {**Data.keywords, "tokenize": "tokenize"}
    own_test_split = None  # when the folder has test/
    title = "text folder"

    task: Literal["classification", "binary"] = "classification"
    """Class indices, or 0/1 targets (`binary`: two classes)."""
    tokenize: Tokenize = Field(default_factory=Tokenize)
    """How the texts become ids."""

    @model_validator(mode="after")
    def _needs_path(self) -> TextFolder:
        if not self.path:
            raise SpecError(
                "E302", '`data text_folder` needs a folder: `data text_folder "aclImdb"`', self.span
            )
        return self

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
    positional = ("path",)
    aliases = ("text_corpus", "text_file")
    keywords = {**Data.keywords, "tokenize": "tokenize"}
    one_target_per_example = False  # one target per step
    title = "text corpus"

    tokenize: Tokenize = Field(default_factory=Tokenize)
    """How the text becomes ids; `length` is the window."""

    @model_validator(mode="after")
    def _needs_path(self) -> Corpus:
        if not self.path:
            raise SpecError(
                "E302", '`data corpus` needs a text file: `data corpus "tiny.txt"`', self.span
            )
        return self

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


AnyData = Annotated[
    Union[
        MNIST,
        FashionMNIST,
        MNISTSample,
        CIFAR10,
        CSV,
        NPZ,
        Synthetic,
        SyntheticText,
        IMDB,
        TextFolder,
        Corpus,
        SyntheticCorpus,
    ],
    Field(discriminator="kind"),
]
