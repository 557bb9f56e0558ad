"""Every source a data block can name, read as `Raw` arrays before any split or transform.

`read` picks the reader for the spec's data node (`READERS`, one per IR data kind) or for
`--data NAME_OR_PATH`; `read_several` reads the named inputs of a model with several. What
happens next (targets, `limit`, splits, `tokenize`, transforms) is specc/data/loader.py's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from specc.data import (
    cifar,
    cifar_batches,
    corpus,
    imdb,
    mnist,
    named,
    synthetic,
    synthetic_inputs,
    tabular,
    text_folder,
)
from specc.data.cifar_batches import Batches
from specc.data.dataset import Task, X
from specc.data.errors import DataError
from specc.data.targets import Where
from specc.ir import data as ir


@dataclass(frozen=True)
class Raw:
    """A source as read: inputs (N, ...) and raw targets, before any split or transform."""

    x_train: X
    y_train: np.ndarray
    x_test: X | None
    y_test: np.ndarray | None
    task: Task
    source: str
    where: Where
    classes: int | None = None  # fixed by the source (MNIST: 10) rather than inferred
    class_names: tuple[str, ...] | None = None  # named by the source (CIFAR-10's meta file)
    tokenize: ir.Tokenize | None = None  # x are texts, turned into ids after the splits
    next_token: bool = False  # x are corpus windows of length + 1 tokens; y is made from them


SOURCE_NAMES: dict[str, type[ir.Data]] = {
    name: cls
    for cls in (ir.MNIST, ir.FashionMNIST, ir.MNISTSample, ir.CIFAR10)
    for name in (cls.kind_name(), *cls.aliases)
}


def read(
    data: ir.Data, override: str | None, spec_dir: Path, download: bool, progress: bool
) -> Raw:
    """The spec's source, or the one `--data` (`override`) names instead."""
    if override is not None:
        return _read_override(data, override, download, progress)
    reader = READERS.get(type(data))
    if reader is None:
        raise DataError(f"no loader for `data {data.kind_name()}`")
    return reader(data, spec_dir, download, progress)


def recorded(override: str | None) -> str | None:
    """`--data` as a run record keeps it: a source name as typed, a path made absolute, so
    that `--resume` from another folder reads the same file."""
    if override is None or override in SOURCE_NAMES:
        return override
    return str(Path(override).expanduser().absolute())


def _read_override(data: ir.Data, override: str, download: bool, progress: bool) -> Raw:
    """`--data NAME_OR_PATH`: another named source, a folder of IDX files or CIFAR batches,
    CIFAR-10's archive, or a .csv/.npz file."""
    if override in SOURCE_NAMES:
        kind = SOURCE_NAMES[override]
        return READERS[kind](kind(), Path.cwd(), download, progress)
    path = Path(override).expanduser().absolute()
    if path.is_dir() and cifar_batches.version_of(path) is not None:  # a batch is there
        return _from_images(cifar.read(path, f"CIFAR-10 batches in {path}"), None)
    if path.is_dir():
        return _from_images(mnist.read_folder(path, f"MNIST-format files in {path}"), None)
    if path.name.endswith(".tar.gz") and path.is_file():
        return _from_images(cifar.read(path, f"CIFAR-10 batches in {path}"), None)
    suffix = path.suffix.lower()
    if suffix in FILE_READERS and path.is_file():
        return FILE_READERS[suffix](data, path)
    names = ", ".join(sorted({cls.kind_name() for cls in SOURCE_NAMES.values()}))
    state = "does not exist" if not path.exists() else "is neither a folder nor a .csv/.npz file"
    raise DataError(
        f"--data {override}: not a data set name and {Path(override)} {state}",
        f"use one of {names}, a folder of MNIST-format IDX files or of CIFAR-10 batches, "
        "CIFAR-10's .tar.gz, or a .csv/.npz file",
    )


def source_path(data: ir.Data, spec_dir: Path) -> Path:
    """The data block's `path`, absolute (relative paths are from the spec's folder)."""
    path = Path(data.path or "").expanduser()
    return (path if path.is_absolute() else spec_dir / path).absolute()


def given_path(data: ir.Data, override: str | None, spec_dir: Path) -> Path:
    """The file `--data` names, else the data block's."""
    if override is None:
        return source_path(data, spec_dir)
    return Path(override).expanduser().absolute()


# ---- images ----------------------------------------------------------------------------


def _images(name: str, path: Path | None, spec_dir: Path, download: bool, progress: bool) -> Raw:
    if path is not None:
        path = (path if path.is_absolute() else spec_dir / path).absolute()
        if path.suffix == ".npz" and path.is_file():
            return _from_images(mnist.read_keras_npz(path, f"{name} from {path}"), 10)
        if not path.is_dir():
            raise DataError(
                f"`path` of `data {name}`: {path} does not exist",
                "point `path=` at a folder of the four IDX files, or remove it to search the usual places",
            )
        return _from_images(mnist.read_folder(path, f"{name} from {path}"), 10)
    if name == "mnist_sample":
        return _from_images(mnist.load_bundled(), 10)
    return _from_images(mnist.locate(name, download=download, progress=progress), 10)


def _from_images(images: mnist.Images | Batches, classes: int | None) -> Raw:
    """Channels-first images (N, C, H, W) with integer labels; MNIST's (N, H, W) get C=1."""
    if isinstance(images, mnist.Images):
        x_train, x_test, names = images.x_train[:, None], images.x_test[:, None], None
    else:
        x_train, x_test, names = images.x_train, images.x_test, images.class_names
    return Raw(
        x_train,
        images.y_train,
        x_test,
        images.y_test,
        "classification",
        images.source,
        lambda i: f"{images.source}: label #{i}",
        classes,
        names,
    )


def _image_reader(data: ir.Data, spec_dir: Path, download: bool, progress: bool) -> Raw:
    return _images(
        data.kind_name(),
        Path(data.path).expanduser() if data.path else None,
        spec_dir,
        download,
        progress,
    )


def _cifar10(data: ir.Data, spec_dir: Path, download: bool, progress: bool) -> Raw:
    if not data.path:
        return _from_images(cifar.locate(download=download, progress=progress), 10)
    path = source_path(data, spec_dir)
    if not path.exists():
        raise DataError(
            f"`path` of `data cifar10`: {path} does not exist",
            f"point `path=` at a folder of CIFAR-10 batches or at {cifar.ARCHIVE}, or remove "
            "it to search the usual places",
        )
    return _from_images(cifar.read(path, f"cifar10 from {path}"), 10)


# ---- files: CSV and .npz ---------------------------------------------------------------


def _csv(data: ir.Data, path: Path) -> Raw:
    target = data.target if isinstance(data, ir.CSV) else "target"
    features = data.features if isinstance(data, ir.CSV) else None
    how = data.text_tokenize if isinstance(data, ir.CSV) else None
    if how is not None and isinstance(data, ir.CSV) and data.text is not None:
        table = tabular.read_csv_text(path, data.text, target)
    else:
        table = tabular.read_csv(path, target, features)
    source = f"csv {path}"
    if how is not None:
        source += f" (text `{getattr(data, 'text', '')}`, {how.mode}, vocabulary {how.vocab})"
    where = _csv_rows(path, table.lines)
    return Raw(table.x, table.y, None, None, _task(data), source, where, tokenize=how)


def _csv_rows(path: Path, lines: list[int] | None) -> Where:
    """Row i of a CSV as `file:line` (the file itself for a row it does not have)."""
    kept = lines or []
    return lambda i: f"{path}:{kept[i]}" if 0 <= i < len(kept) else str(path)


def npz_table(
    path: Path, data: ir.Data, names: list[str] | None = None, y_name: str | None = None
) -> tabular.Table | named.NamedTable:
    """An .npz's inputs and targets: the array `x` (the spec's `x=`), or one array per name
    when the model has several inputs (`names`), and `y_name` (default: the spec's `y=`,
    else `y`), each with its `_test` split when the archive has one."""
    x_name, y_default = (data.x, data.y) if isinstance(data, ir.NPZ) else ("x", "y")
    if names is not None and len(names) > 1:
        return named.read_npz(path, names, y_name or y_default)
    return tabular.read_npz(path, x_name, y_name or y_default)


def _npz(data: ir.Data, path: Path, names: list[str] | None = None) -> Raw:
    table = npz_table(path, data, names)
    y_name = data.y if isinstance(data, ir.NPZ) else "y"
    return Raw(
        table.x,
        table.y,
        table.x_test,
        table.y_test,
        _task(data),
        f"npz {path}",
        lambda i: f"{path} `{y_name}` row {i}" if i >= 0 else str(path),
    )


def _task(data: ir.Data) -> Task:
    task = getattr(data, "task", None) or data.static_task
    return task if task is not None else "classification"


# ---- generated and text sources --------------------------------------------------------


def _synthetic(data: ir.Data, spec_dir: Path, download: bool, progress: bool) -> Raw:
    assert isinstance(data, ir.Synthetic)
    table = synthetic.generate(data)
    source = f"synthetic {data.task} ({data.samples} samples, {data.features} features, seed {data.data_seed})"
    return Raw(table.x, table.y, None, None, data.task, source, lambda i: source)


def _synthetic_text(data: ir.Data, spec_dir: Path, download: bool, progress: bool) -> Raw:
    assert isinstance(data, ir.SyntheticText)
    table = synthetic.generate_text(data)
    source = (
        f"synthetic text ({data.samples} samples of {data.length} token ids, "
        f"vocabulary {data.vocab}, seed {data.data_seed})"
    )
    return Raw(table.x, table.y, None, None, data.task, source, lambda i: source, None)


def _imdb(data: ir.Data, spec_dir: Path, download: bool, progress: bool) -> Raw:
    assert isinstance(data, ir.IMDB)
    if data.path:
        path = source_path(data, spec_dir)
        if not path.is_file():
            raise DataError(
                f"`path` of `data imdb`: {path} does not exist",
                f"point `path=` at Keras's {imdb.FILENAME}, or remove it to search the usual places",
            )
    else:
        path = imdb.locate(download=download, progress=progress)
    source = f"imdb from {path} (vocabulary {data.vocab}, length {data.length})"
    reviews = imdb.read(path, int(data.vocab), int(data.length), source)
    return Raw(
        reviews.x_train,
        reviews.y_train,
        reviews.x_test,
        reviews.y_test,
        data.task,
        source,
        lambda i: f"{path}: label #{i}",
        2,
    )


def _text_folder(data: ir.Data, spec_dir: Path, download: bool, progress: bool) -> Raw:
    assert isinstance(data, ir.TextFolder)
    root = source_path(data, spec_dir)
    if not root.is_dir():
        raise DataError(
            f"`data text_folder`: {root} is not a folder",
            "point it at a folder holding train/<class>/*.txt (aclImdb's layout)",
        )
    texts = text_folder.read_folder(root)
    how = data.tokenize
    source = f"text folder {root} ({how.mode}, vocabulary {how.vocab}, length {how.length})"
    return Raw(
        texts.x_train,
        texts.y_train,
        texts.x_test,
        texts.y_test,
        data.task,
        source,
        lambda i: f"{root}: label #{i}",
        None,
        texts.class_names,
        how,
    )


def _corpus(data: ir.Data, spec_dir: Path, download: bool, progress: bool) -> Raw:
    assert isinstance(data, ir.Corpus | ir.SyntheticCorpus)
    how = data.tokenize
    if isinstance(data, ir.Corpus):
        path = source_path(data, spec_dir)
        text, source = corpus.read_text(path), f"corpus {path}"
    else:
        text = corpus.generate_text(int(data.sentences), int(data.data_seed))
        source = f"synthetic corpus ({data.sentences} sentences, seed {data.data_seed})"
    source += f" ({how.mode}, vocabulary {how.vocab}, windows of {how.length})"
    x = corpus.windows(text, how, source)
    # targets come from the windows once tokenized (`next_token`); a placeholder until then
    y = np.zeros(len(x), dtype=np.int64)
    return Raw(x, y, None, None, "classification", source, lambda i: source, None, None, how, True)


FILE_READERS: dict[str, Callable[[ir.Data, Path], Raw]] = {".csv": _csv, ".npz": _npz}

READERS: dict[type[ir.Data], Callable[[ir.Data, Path, bool, bool], Raw]] = {
    ir.MNIST: _image_reader,
    ir.FashionMNIST: _image_reader,
    ir.MNISTSample: _image_reader,
    ir.CIFAR10: _cifar10,
    ir.CSV: lambda data, spec_dir, *_: _csv(data, source_path(data, spec_dir)),
    ir.NPZ: lambda data, spec_dir, *_: _npz(data, source_path(data, spec_dir)),
    ir.Synthetic: _synthetic,
    ir.SyntheticText: _synthetic_text,
    ir.IMDB: _imdb,
    ir.TextFolder: _text_folder,
    ir.Corpus: _corpus,
    ir.SyntheticCorpus: _corpus,
}


# ---- several inputs --------------------------------------------------------------------


def read_several(
    data: ir.Data,
    override: str | None,
    spec_dir: Path,
    names: list[str],
    shapes: dict[str, tuple[int, ...]] | None,
) -> Raw:
    """A model with several inputs: an .npz with an array per input, a CSV with a column
    group per input (`--data FILE` may replace the spec's file with another), or generated
    arrays shaped as the model's inputs (`data synthetic`, which needs `shapes`)."""
    if override is None and isinstance(data, ir.Synthetic):
        if shapes is None:  # a caller's slip: the CLI always passes the model's shapes
            raise DataError("`data synthetic` needs the shape of each model input to fill")
        return _synthetic_several(data, shapes)
    path = given_path(data, override, spec_dir)
    if override is None:
        kind = data.kind_name()
    else:
        kind = path.suffix.lower().lstrip(".") if path.is_file() else ""
    if kind == "npz":
        return _npz(data, path, names)
    if kind == "csv" and isinstance(data, ir.CSV):
        table = named.read_csv_groups(path, data, names, shapes)
        where = _csv_rows(path, table.lines)
        return Raw(table.x, table.y, None, None, _task(data), f"csv {path}", where)
    given = f"--data {override}" if override is not None else f"`data {data.kind_name()}`"
    raise DataError(
        f"{given}: gives one input array, but the model has several inputs ({', '.join(names)})",
        "use an .npz with an array named after each input, `data csv` with a "
        "`columns NAME [...]` line per input, or `data synthetic` (docs/data.md#several-inputs)",
    )


def _synthetic_several(data: ir.Synthetic, shapes: dict[str, tuple[int, ...]]) -> Raw:
    x, y = synthetic_inputs.generate_inputs(data, shapes)
    listed = ", ".join(f"{name} {'x'.join(map(str, shape))}" for name, shape in shapes.items())
    source = (
        f"synthetic {data.task} ({data.samples} samples, inputs {listed}, seed {data.data_seed})"
    )
    return Raw(x, y, None, None, data.task, source, lambda i: source)
