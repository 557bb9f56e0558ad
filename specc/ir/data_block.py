"""What every `data` block shares, whatever its source: the transforms applied to the
examples in the order written, `batch`, the validation/test splits and the facts a source
declares on its class (the `Data` base). The sources themselves are specc/ir/data.py's.
"""

from __future__ import annotations

from typing import Annotated, ClassVar, Literal, Union

from pydantic import Field, model_validator

from specc.diagnostics import SpecError
from specc.ir.base import Identifier, Node
from specc.ir.spaces import PositiveInt

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


# ---- the base of every source ----------------------------------------------------------

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
    needs_path: ClassVar[str | None] = None
    """What `path` must name when the spec gives none (E302 "`data csv` needs a file: ..."):
    a source read from the spec's own file or folder; None: found or generated without one."""
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

    @model_validator(mode="after")
    def _needs_path(self) -> Data:
        if self.needs_path and not self.path:
            raise SpecError("E302", f"`data {self.kind_name()}` needs {self.needs_path}", self.span)
        return self

    def sample_facts(self) -> tuple[tuple[int, ...] | None, int | None, Task | None]:
        """(input shape, number of classes, task) known before reading any file."""
        return self.static_shape, self.static_classes, self.static_task
