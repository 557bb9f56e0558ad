"""E409: the data block against the inputs of the model it feeds (docs/data.md#several-inputs).

A model with several inputs reads one array per input name: an .npz names its arrays
after the inputs (only known once the file is read), a CSV gives each input its columns
with `columns NAME [...]` (known here). Its `scale`/`normalize` say which input they
change (`input=NAME`); a model with one input needs no names.
"""

from __future__ import annotations

from collections.abc import Iterator

from specc.diagnostics import Diagnostic, did_you_mean
from specc.ir.base import Node
from specc.ir.data import CSV, NPZ, Augment, Data, Normalize, Scale, Synthetic
from specc.ir.spec import Spec
from specc.span import Span

SEVERAL_SOURCES = (NPZ, CSV, Synthetic)
"""The sources that can hold one array per input (`synthetic` makes one per input)."""


def check_inputs(spec: Spec, end: Span) -> list[Diagnostic]:
    """E409 for the trained model's inputs against `spec.data`."""
    model = spec.model_named(None)
    if spec.data is None or model is None or not model.inputs:
        return []
    names = [i.value_name for i in model.inputs]
    if len(names) > 1:
        ids = [i for i in model.inputs if i.dtype == "int"]
        if ids:  # several-input arrays are read as numbers (docs/data.md#several-inputs)
            return [
                _error(
                    f"input `{ids[0].value_name}` holds token ids, which a model with several "
                    "inputs cannot read yet",
                    ids[0].span,
                    end,
                    "train the text part as a model with one `input N int`, or give this "
                    "input numbers",
                )
            ]
        outputs = bool(spec.train and spec.train.outputs)
        return list(_several(spec.data, model.name, names, end, outputs))
    return list(_one(spec.data, names[0], end))


def _error(message: str, span: Span | None, end: Span, help: str) -> Diagnostic:
    return Diagnostic(code="E409", message=message, span=span or end, help=help)


def _several(
    data: Data, model: str, names: list[str], end: Span, outputs: bool
) -> Iterator[Diagnostic]:
    listed = ", ".join(f"`{n}`" for n in names)
    if not isinstance(data, SEVERAL_SOURCES):
        yield _error(
            f"`data {data.kind_name()}` gives one input array, but model `{model}` has "
            f"several inputs ({listed})",
            data.span,
            end,
            "use `data npz` with an array named after each input, `data csv` with a "
            "`columns NAME [...]` line per input, or `data synthetic`",
        )
        return
    if isinstance(data, CSV):
        yield from _groups(data, model, names, end)
    if isinstance(data, Synthetic):
        yield from _synthetic(data, model, end)
        if outputs:
            yield _error(
                f"`data synthetic` fills the several inputs of model `{model}` or its several "
                "outputs, not both yet",
                data.span,
                end,
                "give the inputs and each output's targets in an .npz (an array per input, "
                "`y_<output>` per output: docs/data.md#several-outputs)",
            )
    for node in data.transforms:
        if isinstance(node, Augment):
            yield _error(
                "`augment` is not applied to models with several inputs yet",
                node.span,
                end,
                "remove `augment`, or train a model with one image input",
            )
            continue
        if not isinstance(node, (Scale, Normalize)):
            continue  # target transforms (`one_hot`) need no input
        written = node.input
        if written is None:
            yield _error(
                f"model `{model}` has several inputs ({listed}): say which one "
                f"`{node.kind_name()}` applies to",
                node.span,
                end,
                f"add `input={names[0]}` (one line per input it applies to)",
            )
        elif written not in names:
            yield _unknown(node, written, model, names, end)


def _groups(data: CSV, model: str, names: list[str], end: Span) -> Iterator[Diagnostic]:
    given = {group.input for group in data.columns}
    for name in names:
        if name not in given:
            yield _error(
                f"no columns for input `{name}` of model `{model}`",
                data.span,
                end,
                f"add `columns {name} [...]` to the data block, listing its columns in order",
            )
    for group in data.columns:
        if group.input not in names:
            yield _unknown(group, group.input, model, names, end)
    if data.features is not None:
        yield _error(
            "`features=` picks the columns of a model with one input; with several, "
            "`columns NAME [...]` does",
            data.where("features"),
            end,
            "remove `features=`",
        )


def _synthetic(data: Synthetic, model: str, end: Span) -> Iterator[Diagnostic]:
    """`data synthetic` shapes each input as the model declares it, from one class label."""
    if data.task == "regression":
        yield _error(
            f"`data synthetic` fills the several inputs of model `{model}` from a class "
            "label, not a real-valued target",
            data.where("task"),
            end,
            "use `task=classification` or `task=binary`, or `data npz` with your own targets",
        )
    if "features" in data.field_spans:
        yield _error(
            f"with several inputs, `data synthetic` takes each input's shape from model "
            f"`{model}`; `features=` is for a model with one input",
            data.where("features"),
            end,
            "remove `features=`",
        )


def _unknown(node: Node, written: str, model: str, names: list[str], end: Span) -> Diagnostic:
    guess = did_you_mean(written, names)
    listed = ", ".join(f"`{n}`" for n in names)
    return _error(
        f"model `{model}` has no input `{written}`; its inputs are {listed}",
        node.where("input"),
        end,
        f"did you mean `{guess}`?" if guess else f"use one of {listed}",
    )


def _one(data: Data, name: str, end: Span) -> Iterator[Diagnostic]:
    """One input: `columns` groups and `input=` are for several; a stray one is a mistake."""
    if isinstance(data, CSV) and data.columns:
        yield _error(
            "`columns NAME [...]` groups columns for a model with several inputs; this "
            "model has one",
            data.columns[0].span,
            end,
            "pick its columns with `features=[...]`",
        )
    for node in data.transforms:
        written = getattr(node, "input", None)
        if written is not None and written != name:
            yield _error(
                f"the model's only input is `{name}`, not `{written}`",
                node.where("input"),
                end,
                "remove `input=`: with one input every transform applies to it",
            )
