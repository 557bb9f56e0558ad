"""Typed facts a script template reads: every decision about a spec made once, in Python.

Templates only loop and interpolate (docs/emit.md); anything a template would otherwise
compute with `{% set %}` (is the source an image set, does the script download it, is a
monitored metric minimised, which modules it imports, ...) is a property here, asked of
the IR class that owns the fact where there is one (`Data.image_set`, `Data.downloadable`).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from functools import cached_property
from typing import Literal

from specc.data import cifar, cifar_batches, imdb
from specc.data.mnist import CHECKSUMS, FILES, MIRRORS
from specc.data.text_folder import text_tokenize
from specc.emit.lower import LayerView, OutputView, ScriptPlan
from specc.emit.target import Target
from specc.ir.attention import SelfAttending
from specc.ir.data import Augment, Data, Tokenize
from specc.ir.losses import SparseCategoricalCrossentropy
from specc.ir.sequence import LastStep, PositionEmbedding, Recurrent, is_sequence
from specc.metrics import is_minimised, loss_ignore

Mode = Literal["min", "max"]

# Modules every script imports (argument parsing, history.json, the step count, --out).
STDLIB = ("argparse", "json", "math", "os", "sys")


@dataclass(frozen=True)
class Download:
    """Where a script fetches an image set from: specc.data's first mirror and checksums."""

    url: str
    """MNIST: the mirror the four files are under; CIFAR-10: the archive's own URL."""
    md5: tuple[str, ...]
    """One per file of `specc.data.mnist.FILES`, in that order; CIFAR-10: the archive's."""
    folder: str
    """Where the script keeps the files, relative to the working folder."""

    @property
    def md5_value(self) -> str | list[str]:
        """The script's DOWNLOAD_MD5: the one file's md5, or a list of them."""
        return self.md5[0] if len(self.md5) == 1 else list(self.md5)


def _idx_download(kind: str) -> Download:
    sums = CHECKSUMS[kind]
    md5 = tuple(sums[f"{name}.gz"].removeprefix("md5:") for name in FILES)
    return Download(url=MIRRORS[kind][0], md5=md5, folder=f"data/{kind}")


def _cifar_download(kind: str) -> Download:
    url = cifar.MIRRORS[0].rstrip("/") + "/" + cifar.ARCHIVE
    return Download(url=url, md5=(cifar.CHECKSUM.removeprefix("md5:"),), folder=f"data/{kind}")


# By the data class's `file_format`: what each kind of image set downloads, and the
# standard-library modules its readers (and its download) import.
DOWNLOADS = {"idx": _idx_download, "cifar": _cifar_download}
READER_MODULES = {"idx": {"gzip", "zlib"}, "cifar": {"pickle"}}
DOWNLOAD_MODULES = {"idx": {"hashlib", "urllib.request"}, "cifar": {"hashlib", "urllib.request"}}
# By the data kind: the standard-library modules its reader imports.
SOURCE_MODULES = {
    "csv": {"csv"},
    "imdb": {"io", "pickle", "zipfile"},
    "text_folder": {"collections", "re"},
}


def download_for(data: Data) -> Download:
    """How a script downloads `data`, an image set whose class is `downloadable`."""
    fmt = type(data).file_format
    assert fmt is not None, data
    return DOWNLOADS[fmt](data.kind_name())


@dataclass(frozen=True)
class ScriptFacts:
    """What one target's script for one plan contains, decided before rendering."""

    plan: ScriptPlan
    target: Target
    interop: bool = False
    """Write the neutral weights file (weights.safetensors) even without `init from`."""
    ddp: bool = False
    """Data-parallel under torchrun (`specc emit --ddp`, pytorch): docs/distributed.md."""

    def output_facts(self, out: OutputView) -> ScriptFacts:
        """The facts seen from one of several outputs (its metrics' inputs)."""
        return dataclasses.replace(self, plan=self.plan.for_output(out))

    @property
    def macros(self) -> str:
        """The folder of the per-kind macro files this target's template imports."""
        return self.target.macro_folder

    @property
    def images(self) -> bool:
        """The source is an MNIST-format image set (IDX files, integer labels)."""
        return type(self.plan.data).image_set

    @property
    def file_format(self) -> str | None:
        """How an image set is stored ("idx", "cifar"): which common/<format>.j2 reads it."""
        return type(self.plan.data).file_format

    @property
    def mnist_files(self) -> tuple[str, ...]:
        """The four IDX files of an MNIST-format set (specc.data.mnist.FILES)."""
        return FILES

    @property
    def pickle_globals(self) -> tuple[tuple[str, str], ...]:
        """All a CIFAR-10 batch's pickle may build (specc.data.cifar_batches); IMDB's
        reviews also NumPy scalars (specc.data.imdb)."""
        if self.plan.data.kind_name() == "imdb":
            return tuple(sorted(imdb.PICKLE_GLOBALS))
        return tuple(sorted(cifar_batches.PICKLE_GLOBALS))

    @property
    def dataset_helper(self) -> str | None:
        """`keras.datasets.mnist`: the framework's loader used without --data-dir."""
        d = self.plan.data
        if not d.downloadable or self.target.dataset_helper is None or d.path:
            return None
        return f"{self.target.dataset_helper}.{d.kind_name()}"

    @property
    def data_path(self) -> str | None:
        """An image set's `path` (a folder of IDX files or a Keras-style .npz), as written:
        the script's default --data-dir, relative to the folder it runs in."""
        return self.plan.data.path if self.images else None

    @property
    def data_path_npz(self) -> bool:
        """The image set's `path` names a Keras-style .npz (x_train, y_train, x_test, y_test)."""
        return (self.data_path or "").endswith(".npz")

    @property
    def extracts(self) -> bool:
        """The script extracts CIFAR-10's archive: one it downloads, or the spec's `path`."""
        archive_path = (self.data_path or "").endswith(".tar.gz")
        return self.file_format == "cifar" and (self.download is not None or archive_path)

    @cached_property
    def download(self) -> Download | None:
        """Mirror and checksums when the script downloads the files itself."""
        d = self.plan.data
        if not d.downloadable or self.target.dataset_helper is not None or d.path:
            return None  # a spec's `path` is used instead of any download
        if type(d).file_format is None:
            return None  # not an image set (IMDB): the script reads a local file only
        return download_for(d)

    @property
    def stdlib(self) -> tuple[str, ...]:
        """Standard-library modules the script imports, sorted."""
        modules = set(STDLIB) | set(self.target.stdlib)
        fmt = self.file_format
        if fmt is not None:
            modules |= READER_MODULES[fmt]
        modules |= SOURCE_MODULES.get(self.plan.data.kind_name(), set())
        if self.tokenize is not None:
            modules.add("collections")
            if self.tokenize.mode == "words":
                modules.add("re")
        if self.next_token:
            modules.add("collections")
            if self.plan.data.tokenize.mode == "words":  # type: ignore[attr-defined]
                modules.add("re")
        if fmt is not None and self.download is not None:
            modules |= DOWNLOAD_MODULES[fmt]
        if self.extracts:
            modules.add("tarfile")
        if self.ddp:
            modules |= {"gc", "io"}
        return tuple(sorted(modules))

    @property
    def tokenize(self) -> Tokenize | None:
        """How a text source (a text folder, a CSV's text column) becomes token ids: the
        script tokenizes and writes vocab.json (a corpus's windows: `next_token`)."""
        return None if self.next_token else text_tokenize(self.plan.data)

    @property
    def vocabulary_file(self) -> bool:
        """The script builds a vocabulary from its training split (a text folder, a CSV's
        text column, a corpus's windows): it writes vocab.json under --out and takes a
        run's with --vocab (and --init-from)."""
        return self.tokenize is not None or self.next_token

    @property
    def validation(self) -> bool:
        """The spec holds out a validation split (else the script never validates)."""
        return self.plan.data.validation > 0

    @property
    def test(self) -> Literal["always", "maybe", "never"]:
        """Whether the script has a test split: the source's own, the `test` fraction held
        out, or (an .npz without `test`) whatever the file holds."""
        d = self.plan.data
        if d.own_test_split or d.test > 0:
            return "always"
        return "maybe" if d.own_test_split is None else "never"

    @property
    def per_token(self) -> bool:
        """The model predicts every step (an LxV output, docs/semantics.md#per-token)."""
        return is_sequence(self.plan.output)

    @property
    def next_token(self) -> bool:
        """The data is a text corpus: windows of tokens, each target the next token."""
        return self.plan.data.one_target_per_example is False

    @property
    def ignore(self) -> int | None:
        """The target id the loss and the metrics leave out (`ignore=`), or None."""
        return loss_ignore(self.plan.train)

    @property
    def corpus_words(self) -> dict[str, tuple[str, ...]]:
        """The generated corpus's grammar (specc/data/corpus.py), written into the script."""
        from specc.data import corpus

        names = ("SUBJECTS", "VERBS", "OBJECTS", "PLACES")
        return {name: getattr(corpus, name) for name in names}

    @property
    def augment(self) -> Augment | None:
        """The `augment` transform (training batches only), or None."""
        found = [t for t in self.plan.data.transforms if isinstance(t, Augment)]
        return found[0] if found else None

    @property
    def plateau(self) -> bool:
        """The schedule reacts to a monitored metric (`reduce_on_plateau`)."""
        return self.plan.train.schedule.kind == "reduce_on_plateau"

    @property
    def plateau_mode(self) -> Mode | None:
        """Which way `reduce_on_plateau`'s monitored metric improves."""
        monitor = getattr(self.plan.train.schedule, "monitor", None)
        return _mode(monitor) if self.plateau and monitor is not None else None

    @property
    def bf16(self) -> bool:
        return self.plan.train.precision == "bf16"

    @property
    def frozen(self) -> tuple[LayerView, ...]:
        """Layers whose weights are not trained."""
        return tuple(layer for layer in self.plan.layers if layer.frozen)

    @property
    def attention(self) -> bool:
        """Some layer attends (`attention`, `transformer_encoder`) over a padding mask."""
        kinds = ("attention", "transformer_encoder")
        return any(layer.kind in kinds and layer.args.get("mask") for layer in self.plan.layers)

    @property
    def masked_recurrent(self) -> bool:
        """Some `lstm`/`gru` is given the padding mask: PyTorch scripts define `unpadded`."""
        return any(
            isinstance(layer.ir, Recurrent) and layer.args.get("mask") for layer in self.plan.layers
        )

    @property
    def masked_last(self) -> bool:
        """Some `last` is given the padding mask: PyTorch scripts define `last_unpadded`."""
        layers = self.plan.layers
        return any(isinstance(layer.ir, LastStep) and layer.args.get("mask") for layer in layers)

    @property
    def sinusoidal(self) -> bool:
        """Some `position_embedding sinusoidal`: PyTorch scripts define its table, Keras scripts
        the `SinusoidalPositions` layer."""
        return any(getattr(layer.ir, "sinusoidal", False) for layer in self.plan.layers)

    @property
    def causal(self) -> bool:
        """Some attention is `causal`: the script builds the (L, L) lower triangle once."""
        return any(getattr(layer.ir, "causal", False) for layer in self.plan.layers)

    @property
    def position_embedding(self) -> bool:
        """Some learned `position_embedding`: Keras scripts define that layer class."""
        return any(
            isinstance(layer.ir, PositionEmbedding) and not layer.ir.sinusoidal
            for layer in self.plan.layers
        )

    @property
    def last(self) -> bool:
        """Some layer is a `last`: Keras scripts define the `LastStep` layer class."""
        return "last" in self.kinds

    @property
    def kinds(self) -> frozenset[str]:
        """The kinds of the model's layers (which classes and converters a script defines)."""
        return frozenset(layer.kind for layer in self.plan.layers)

    @property
    def gru(self) -> bool:
        """Some layer is a `gru`: Keras scripts map its gate blocks to the neutral file's."""
        return "gru" in self.kinds

    @property
    def stacked(self) -> tuple[tuple[str, str, int], ...]:
        """The layers of stacked recurrent layers (`layers=N`): Keras scripts build each as a
        layer of its own, `(its Keras name, the spec layer's name, k)`, layer 0 keeping the
        spec's name (docs/semantics.md#sequences)."""
        return tuple(
            (f"{layer.weights_name}_l{k}" if k else layer.weights_name, layer.weights_name, k)
            for layer in self.plan.layers
            if isinstance(layer.ir, Recurrent) and layer.ir.depth > 1
            for k in range(layer.ir.depth)
        )

    @property
    def lstm(self) -> bool:
        """Some layer is an `lstm`: Keras scripts define the cell with PyTorch's two biases."""
        return "lstm" in self.kinds

    @property
    def attends(self) -> bool:
        """Some layer is `attention` or `transformer_encoder`: Keras scripts define the
        MultiHeadAttention that computes the spec's masked softmax."""
        return any(isinstance(layer.ir, SelfAttending) for layer in self.plan.layers)

    @property
    def transformer(self) -> bool:
        """Some layer is a `transformer_encoder`: Keras scripts define that block."""
        return "transformer_encoder" in self.kinds

    @property
    def functional(self) -> bool:
        """A Keras script writes the model with the functional API, not as a Sequential
        list: a graph, a padding mask to pass, or a MultiHeadAttention (which reads its
        query and value as two arguments)."""
        return not self.plan.is_chain or self.plan.pad is not None or "attention" in self.kinds

    @property
    def kernels(self) -> bool:
        """Some layer has a kernel, which Keras keeps as (*window, in, out) and the neutral
        file as (out, in, *window) (the `kernel` role of specc/lowering/weights.py)."""
        return any(w.role == "kernel" for layer in self.plan.weighted for w in layer.weights)

    @property
    def custom_optimizer(self) -> str | None:
        """The optimizer class the script defines itself (the framework's would change the
        spec's update), or None: the framework's own class."""
        decide = self.target.custom_optimizer
        return decide(self.plan) if decide is not None else None

    @property
    def sparse_smoothing(self) -> bool:
        """Class-index targets with label smoothing: Keras scripts define their own loss."""
        loss = self.plan.train.main_loss
        return isinstance(loss, SparseCategoricalCrossentropy) and bool(loss.label_smoothing)

    @property
    def metric_inputs(self) -> frozenset[str]:
        """What the NumPy metrics compute before the metrics themselves (`Metric.reads`)."""
        train = self.plan.train
        metrics = [*train.metrics, *(m for out in train.outputs for m in out.metrics)]
        return frozenset().union(*(type(m).reads for m in metrics))

    @property
    def metric_kinds(self) -> frozenset[str]:
        """The kinds of every metric the spec reports (of each output too)."""
        train = self.plan.train
        return frozenset(
            m.kind for m in [*train.metrics, *(m for o in train.outputs for m in o.metrics)]
        )

    @property
    def macro_scores(self) -> bool:
        """Precision/recall/f1 averaged over classes (Keras has no such metric class)."""
        if self.plan.outputs:  # several outputs: any output's metrics need it
            return any(self.output_facts(out).macro_scores for out in self.plan.outputs)
        kinds = {m.kind for m in self.plan.train.metrics}
        binary = tuple(self.plan.output) == (1,)
        return "f1" in kinds or bool(kinds & {"precision", "recall"} and not binary)

    @property
    def clipping(self) -> bool:
        opt = self.plan.train.optimizer
        return opt.clip_norm is not None or opt.clip_value is not None

    @property
    def early_stopping_mode(self) -> Mode | None:
        es = self.plan.train.early_stopping
        return None if es is None else _mode(es.monitor)

    @property
    def best_checkpoint(self) -> bool:
        """`checkpoint best`: keep the best epoch's weights by a metric."""
        ckpt = self.plan.train.checkpoint
        return ckpt is not None and ckpt.save == "best"

    @property
    def checkpoint_mode(self) -> Mode | None:
        ckpt = self.plan.train.checkpoint
        return _mode(ckpt.monitor) if ckpt is not None and ckpt.save == "best" else None

    @property
    def tracks_best(self) -> bool:
        """The loop compares epochs (early stopping or a best checkpoint): `improved()`."""
        return self.plan.train.early_stopping is not None or self.best_checkpoint

    @property
    def class_labels(self) -> bool:
        """Targets are class indices (not one-hot rows, 0/1 floats or real values); several
        outputs keep their own per output (`TARGETS`)."""
        return (
            self.plan.task == "classification" and not self.plan.one_hot and not self.plan.outputs
        )

    @property
    def checks_labels(self) -> bool:
        """Targets are read as class indices (a `one_hot` transform turns them into rows
        later), so the script checks each fits the model's classes."""
        if self.plan.outputs:  # each output's targets are derived or read per output
            return False
        return self.plan.task == "classification" and self.plan.classes is not None

    @property
    def init_from(self) -> bool:
        """The model starts from saved weights (`init from`)."""
        return self.plan.model.init is not None

    @property
    def init_flag(self) -> bool:
        """The script takes --init-from: for `init from`, and with `--interop` to start from
        a run's weights.safetensors (the same initial weights as that run)."""
        return self.interop or self.init_from

    @property
    def neutral_weights(self) -> bool:
        """The script writes/reads the framework-neutral weights file (specc interop):
        only for `init from` or when asked (`specc emit --interop`)."""
        return self.interop or self.init_from


def _mode(monitor: str) -> Mode:
    return "min" if is_minimised(monitor) else "max"
