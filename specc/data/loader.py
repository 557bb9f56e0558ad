"""`load`: from the IR's data node to a `Dataset`, the same way for every backend.

The pipeline, in this order (docs/data.md states it as the meaning of a data block):
read the source (specc/data/sources.py) -> encode targets for the task -> `limit` (first N train and test rows)
-> `test` tail (sources without a test split) -> `validation` tail -> a text source's
`tokenize` (vocabulary from the training rows left, or the one given; a corpus's windows
then become inputs and next-token targets) -> transforms.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from specc.data import corpus, text_folder
from specc.data.dataset import Dataset, Inputs, fingerprint, split
from specc.data.errors import DataError
from specc.data.outputs import OutputTarget
from specc.data.sources import (
    FILE_READERS,
    READERS,
    SOURCE_NAMES,
    Raw,
    read,
    read_several,
    recorded,
)
from specc.data.targets import encode
from specc.data.transforms import apply, apply_inputs
from specc.ir import data as ir

__all__ = [
    "FILE_READERS",
    "READERS",
    "SOURCE_NAMES",
    "Raw",
    "check_token_ids",
    "load",
    "recorded",
]


def load(
    data: ir.Data,
    *,
    override: str | None = None,
    spec_dir: Path | None = None,
    limit: int | None = None,
    download: bool = True,
    progress: bool = True,
    outputs: int | None = None,
    vocab: int | None = None,
    inputs: Mapping[str, tuple[int, ...]] | Sequence[str] | None = None,
    vocabulary: list[str] | None = None,
    output_targets: list[OutputTarget] | None = None,
    steps: int | None = None,
) -> Dataset:
    """Read, split and transform the data a spec declares (see the module docstring).

    `outputs`: the model's outputs when its loss takes class indices (labels must fit).
    `vocab`: the vocabulary size when the model reads token ids (`input N int`): inputs
    must be integers in [0, vocab) and stay int64 (docs/semantics.md#sequences).
    `inputs`: the model's input names when it has several: the data's `x` is then an
    `Inputs` with one array per name (specc/data/named.py); given as {name: shape of one
    example}, `data synthetic` can fill them (specc/data/synthetic_inputs.py).
    `vocabulary`: a text source's saved tokens (a resumed run's vocab.json), used instead
    of building them from the training split.
    `output_targets`: a model with several outputs: what each output's target is; the targets
    are then `Outputs`, one array per output (specc/data/outputs.py).
    `steps`: L when the model predicts a class per step: (N, L) class targets (an .npz's)
    are kept per step (`specc.token_checks.steps_predicted`).
    """
    if limit is not None and limit < 1:
        raise DataError(f"limit must be a positive number of examples, got {limit}")
    if output_targets:
        from specc.data.outputs import load_outputs

        where = spec_dir or Path.cwd()
        return load_outputs(
            data,
            output_targets,
            override=override,
            spec_dir=where,
            limit=limit,
            inputs=None if inputs is None else list(inputs),
        )
    if inputs is not None and len(inputs) > 1:
        shapes = dict(inputs) if isinstance(inputs, Mapping) else None
        raw = read_several(data, override, spec_dir or Path.cwd(), list(inputs), shapes)
    else:
        raw = read(data, override, spec_dir or Path.cwd(), download, progress)
    if vocab is not None and raw.tokenize is None:
        check_token_ids(raw, vocab)
    targets = encode(
        raw.task,
        raw.y_train,
        raw.y_test,
        raw.where,
        classes=raw.classes,
        outputs=outputs,
        steps=steps,
    )
    (x_train, y_train), (x_val, y_val), (x_test, y_test) = split(
        raw.x_train,
        targets.y_train,
        raw.x_test,
        targets.y_test,
        limit=limit,
        test=data.test,
        validation=data.validation,
        source=raw.source,
    )
    record, classes, names = None, targets.classes, None
    if raw.tokenize is not None:  # the vocabulary comes from the training split only
        assert isinstance(x_train, np.ndarray)  # a text source gives one array of texts
        how = raw.tokenize
        tokens = vocabulary or text_folder.build_vocabulary(x_train, how)
        ids = how.model_copy(update={"length": int(how.length) + 1}) if raw.next_token else how
        x_train, x_val, x_test = (
            text_folder.encode(np.asarray(x), tokens, ids) for x in (x_train, x_val, x_test)
        )
        if raw.next_token:  # a corpus: the targets are the windows shifted by one token
            (x_train, y_train), (x_val, y_val), (x_test, y_test) = (
                corpus.next_token_pairs(x) for x in (x_train, x_val, x_test)
            )
        if vocab is not None:
            check_token_ids(replace(raw, x_train=x_train, x_test=x_test), vocab)
        record = text_folder.vocabulary_record(tokens, how)
        classes = len(tokens) if raw.next_token else classes
        names = tuple(tokens) if raw.next_token else None  # class i is token i
    splits = [
        apply_inputs(data.transforms, x, y, classes)
        if isinstance(x, Inputs)
        else apply(data.transforms, x, y, classes, ids=vocab is not None)
        for x, y in ((x_train, y_train), (x_val, y_val), (x_test, y_test))
    ]
    (xt, yt), (xv, yv), (xs, ys) = splits
    return Dataset(
        xt,
        yt,
        xv,
        yv,
        xs,
        ys,
        classes=classes,
        task=raw.task,
        sample_shape=next(iter(xt.shapes.values()))
        if isinstance(xt, Inputs)
        else tuple(int(d) for d in xt.shape[1:]),
        source=raw.source,
        fingerprint=fingerprint([xt, yt, xv, yv, xs, ys]),
        class_names=targets.class_names or raw.class_names or names,
        vocabulary=record,
    )


def check_token_ids(raw: Raw, vocab: int) -> None:
    """Token ids must be integers in [0, vocab): the embedding has one row per id."""
    for name, x in (("inputs", raw.x_train), ("test inputs", raw.x_test)):
        if x is None or not isinstance(x, np.ndarray) or x.size == 0:
            continue  # several inputs are numbers (a token-id input is refused with them)
        if x.dtype.kind not in "iu":
            raise DataError(
                f"{raw.source}: the model reads token ids (`input N int`), but the {name} "
                f"are {x.dtype} numbers",
                "store token ids as an integer array (np.int64), or declare a float input",
            )
        low, high = int(x.min()), int(x.max())
        if low < 0 or high >= vocab:
            bad = low if low < 0 else high
            row = int(np.argwhere(x == bad)[0][0])
            raise DataError(
                f"{raw.source}: {name} row {row} holds token id {bad}, but the embedding's "
                f"vocabulary is {vocab} (ids 0 to {vocab - 1})",
                f"raise the embedding's vocabulary to {high + 1}, or map rarer tokens to an "
                "out-of-vocabulary id",
            )
