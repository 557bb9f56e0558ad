"""Predictions as rows: a table on the terminal, CSV or JSON in a file (written atomically).

One row per example: the input it came from, the predicted class (its label name when the
data had names) with its probability, or the regression values; `--proba` adds every
class's probability, `--top K` the K most likely classes. A model predicting every step
(a language model) is shown by its last step: the token predicted to follow the input.
A model with several named outputs gives each output its own group of these columns,
named `<output>_class`, `<output>_probability`, `<output>_value`, ... (as the run names
`<output>_accuracy`), in the model's order.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from specc.data.dataset import Outputs
from specc.errors import UsageError
from specc.metrics import predicted_classes
from specc.predict import Predictions

Row = dict[str, Any]


def _class_probabilities(p: Predictions) -> np.ndarray:
    """(N, C) probabilities of each class; binary outputs (N, 1) become (N, 2)."""
    out = p.outputs.reshape(len(p.outputs), -1)
    if out.shape[1] == 1:
        return np.concatenate([1.0 - out, out], axis=1)
    return out


def _name(p: Predictions, index: int) -> str:
    names = p.class_names
    return names[index] if names and 0 <= index < len(names) else str(index)


def next_token(p: Predictions) -> Predictions:
    """A model predicting every step (N, L, C): the prediction after the last input token
    (the next token), its target the last step's (docs/semantics.md#per-token)."""
    if p.outputs.ndim != 3:
        return p
    labels = p.labels
    if labels is not None and labels.ndim == 2:
        last = labels[:, -1]
        names = p.class_names
        labels = np.array([_name(p, int(i)) for i in last]) if names else last
    return dataclasses.replace(p, outputs=p.outputs[:, -1], labels=labels)


def rows(p: Predictions, proba: bool = False, top: int | None = None) -> list[Row]:
    if p.heads is not None:
        return _several(p, proba, top)
    p = next_token(p)
    if p.task == "regression":
        values = p.outputs.reshape(len(p.outputs), -1)
        keys = ["value"] if values.shape[1] == 1 else [f"value_{j}" for j in range(values.shape[1])]
        out = [
            {"input": n, **dict(zip(keys, map(float, v), strict=True))}
            for n, v in zip(p.names, values, strict=True)
        ]
    else:
        probs = _class_probabilities(p)
        chosen = predicted_classes(p.outputs)
        if top is not None and not 1 <= top <= probs.shape[1]:
            raise UsageError(f"--top {top}: the model has {probs.shape[1]} classes")
        out = []
        for i, name in enumerate(p.names):
            row: Row = {"input": name, "class": _name(p, int(chosen[i]))}
            row["probability"] = float(probs[i, chosen[i]])
            if top is not None:
                order = np.argsort(-probs[i], kind="stable")[:top]
                for rank, c in enumerate(order, start=1):
                    row[f"top{rank}"] = _name(p, int(c))
                    row[f"top{rank}_probability"] = float(probs[i, c])
            if proba:
                for c in range(probs.shape[1]):
                    row[f"p_{_name(p, c)}"] = float(probs[i, c])
            out.append(row)
    if p.labels is not None and len(p.labels) == len(out):
        for row, label in zip(out, p.labels, strict=True):
            row["label"] = label.item() if isinstance(label, np.generic) else label
    return out


def _several(p: Predictions, proba: bool, top: int | None) -> list[Row]:
    """One row per example: the input, then each output's columns under its name."""
    assert p.heads is not None
    out: list[Row] = [{"input": name} for name in p.names]
    for head in p.heads:
        labels = _labels(p.labels.arrays[head.name]) if isinstance(p.labels, Outputs) else None
        one = dataclasses.replace(
            p,
            outputs=p.outputs[head.name],
            task=head.task,
            class_names=None,
            labels=labels,
            heads=None,
        )
        wants = top if top is not None and head.task != "regression" else None
        if wants is not None and head.classes is not None and wants > head.classes:
            raise UsageError(
                f"--top {top}: output `{head.name}` has {head.classes} classes",
                f"use --top {head.classes} or fewer",
            )
        for row, columns in zip(out, rows(one, proba, wants), strict=True):
            row.update({f"{head.name}_{k}": v for k, v in columns.items() if k != "input"})
    return out


def _labels(targets: np.ndarray) -> Any:
    """An output's targets, one cell per example: a number, or a list of them."""
    flat = targets.reshape(len(targets), -1)
    return flat[:, 0] if flat.shape[1] == 1 else [row.tolist() for row in flat]


def _cell(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def table(found: list[Row], limit: int = 50) -> str:
    """An aligned text table of the first `limit` rows (and how many were left out)."""
    if not found:
        return "(no examples)"
    keys = list(found[0])
    shown = [[_cell(r[k]) for k in keys] for r in found[:limit]]
    widths = [max(len(k), *(len(row[j]) for row in shown)) for j, k in enumerate(keys)]
    lines = ["  ".join(k.ljust(w) for k, w in zip(keys, widths, strict=True))]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) for row in shown]
    if len(found) > limit:
        lines.append(f"... {len(found) - limit} more rows (write them all with --out FILE.csv)")
    return "\n".join(line.rstrip() for line in lines)


def _csv_text(found: list[Row]) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(found[0]) if found else ["input"])
    writer.writeheader()
    writer.writerows(found)
    return buffer.getvalue()


def _json_text(found: list[Row]) -> str:
    return json.dumps(found, indent=1) + "\n"


WRITERS: dict[str, Callable[[list[Row]], str]] = {".csv": _csv_text, ".json": _json_text}


def write(found: list[Row], path: Path) -> None:
    """CSV or JSON by the file's suffix; atomic (a temporary file renamed over the target)."""
    writer = WRITERS.get(path.suffix.lower())
    if writer is None:
        raise UsageError(f"--out {path}: write predictions to a .csv or .json file")
    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        tmp.write_text(writer(found), encoding="utf-8")
        os.replace(tmp, path)
    except OSError as err:
        raise UsageError(f"--out {path}: cannot write ({err.strerror or err})") from None
    finally:
        if tmp.exists():
            tmp.unlink()
