"""The `data` block: where examples come from and what happens to them before the model.

Images come out channels-first (1x28x28 for MNIST, 3x32x32 for CIFAR-10) as raw uint8
values turned to float; transforms then apply in the order written. This module holds the
sources, one class per `data` kind; what every data block shares (its transforms, `batch`,
splits and the `Data` base's facts) is specc/ir/data_block.py's, and the text sources
(with `tokenize`) are specc/ir/text_data.py's; `AnyData` here unions them all.
"""

from __future__ import annotations

from typing import Annotated, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Identifier, Node
from specc.ir.data_block import (
    AnyTransform,
    Augment,
    Batch,
    Data,
    Normalize,
    OneHot,
    Scale,
    Task,
)
from specc.ir.spaces import NonNegFloat, PositiveInt, is_space
from specc.ir.text_data import (
    IMDB,
    Corpus,
    SyntheticCorpus,
    SyntheticText,
    TextFolder,
    Tokenize,
)

__all__ = [
    "CIFAR10",
    "CSV",
    "IMDB",
    "MNIST",
    "NPZ",
    "AnyData",
    "AnyTransform",
    "Augment",
    "Batch",
    "Columns",
    "Corpus",
    "Data",
    "FashionMNIST",
    "MNISTSample",
    "Normalize",
    "OneHot",
    "Scale",
    "Synthetic",
    "SyntheticCorpus",
    "SyntheticText",
    "Task",
    "TextFolder",
    "Tokenize",
]

# ---- sources ---------------------------------------------------------------------------


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
    needs_path = 'a file: `data csv "houses.csv"`'
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
    def _text_column(self) -> CSV:
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
    needs_path = 'a file: `data npz "arrays.npz"`'
    positional = ("path",)
    one_target_per_example = None  # `y` may hold several values per example
    own_test_split = None

    x: str = "x"
    """Name of the inputs array."""
    y: str = "y"
    """Name of the targets array."""
    task: Task = "classification"
    """What the target is: class labels, 0/1, or real numbers."""

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
