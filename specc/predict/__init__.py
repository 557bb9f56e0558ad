"""`specc.predict(source, inputs) -> Predictions`: use a trained model on new examples.

`source` is a finished run directory (its framework model, rebuilt from the final weights)
or a folder written by `specc export` (or the artifact in it). Inputs are read
(`specc.predict.inputs`), given the spec's own preprocessing (`specc.predict.prepare`)
and run through the model; `split="test"` instead takes a split of the run's data exactly
as the run loaded it, so the run's test metrics come out again. A model with several
named outputs predicts each (`Predictions.outputs`: a dict by output name, `heads` saying
what each predicts), and `--split` scores each output's metrics as the run named them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from specc.data.dataset import Inputs, X
from specc.data.text_folder import run_encoder
from specc.errors import RunError, UsageError
from specc.ir.sequence import vocabulary
from specc.predict.inputs import Examples, Wanted, read
from specc.predict.prepare import preprocess, preprocess_inputs, transforms_from_json
from specc.predict.trained import OutputHead

__all__ = ["Model", "Predictions", "open_model", "predict"]


@dataclass
class Model:
    """What predicting needs from a source, whichever kind it is."""

    source: str
    kind: str  # "run" or an export format
    task: str
    classes: int | None
    class_names: list[str] | None
    input_shape: tuple[int, ...]
    preprocessing: list[dict[str, Any]]
    wanted: Wanted
    run: Any  # (x (N, *input_shape): float32, token ids int64, or `Inputs`) -> outputs (N, ...)
    trained: Any = None  # the TrainedRun for a run directory
    inputs: dict[str, tuple[int, ...]] | None = None
    """A model with several inputs: name -> one example's shape (read from a .npz)."""
    vocab: int | None = None
    """A model reading token ids (`input N int`): they run from 0 to vocab - 1, as int64."""
    outputs: list[OutputHead] | None = None
    """A model with several named outputs: each, in the model's order (None: one output)."""


@dataclass
class Predictions:
    names: list[str]
    outputs: Any  # (N, ...) per example; several named outputs: a dict of them by name
    task: str
    class_names: list[str] | None
    labels: Any = None  # the known targets (several outputs: `Outputs`, or None)
    metrics: dict[str, float] = field(default_factory=dict)
    heads: list[OutputHead] | None = None  # several named outputs: what each predicts


def _wanted(
    data: dict[str, Any],
    shape: tuple[int, ...],
    inputs: dict[str, tuple[int, ...]] | None = None,
) -> Wanted:
    return Wanted(
        input_shape=shape,
        features=data.get("features"),
        target=data.get("target", "target"),
        x_name=data.get("x", "x"),
        y_name=data.get("y", "y"),
        inputs=inputs,
    )


def _manifest_inputs(info: dict[str, Any]) -> dict[str, tuple[int, ...]] | None:
    """An export of a model with several inputs lists them (`inputs`: name and shape each)."""
    listed = info.get("inputs")
    if not listed:
        return None
    return {str(i["name"]): tuple(int(d) for d in i["shape"][1:]) for i in listed}


def open_model(source: str | Path, device: str = "cpu") -> Model:
    """The model of a run directory or an export folder; anything else is a UsageError."""
    from specc.predict.artifacts import find_export

    path = Path(source)
    if not path.exists():
        raise UsageError(f"{source}: no such run directory or exported model")
    found = find_export(path)
    if found is not None:
        folder, info = found
        several = _manifest_inputs(info)
        first = info["inputs"][0] if several else info["input"]
        heads = [OutputHead.from_json(o) for o in info.get("outputs") or []] or None
        shape = tuple(int(d) for d in first["shape"][1:])
        return Model(
            source=str(source),
            kind=str(info["format"]),
            task=str(info["task"]),
            classes=info.get("classes"),
            class_names=info.get("class_names"),
            input_shape=shape,
            preprocessing=list(info["preprocessing"]),
            wanted=_wanted(info.get("data", {}), shape, several),
            run=_ordered(_load(str(info["format"]), folder / str(info["artifact"])), heads),
            inputs=several,
            vocab=(info.get("input") or {}).get("vocab"),
            outputs=heads,
        )
    from specc.predict.trained import open_run

    trained = open_run(path)
    backend = None
    state = None

    def run(x: X) -> Any:
        nonlocal backend, state
        if state is None:  # the framework loads on first use, not for a usage error
            backend, state = trained.build(device, fp32=False)
        return trained.reference_outputs(backend, state, x)

    shape = tuple(trained.plan.shapes.input)
    return Model(
        source=str(source),
        kind="run",
        task=trained.task,
        classes=trained.classes,
        class_names=trained.class_names,
        input_shape=shape,
        preprocessing=trained.preprocessing(),
        wanted=dataclasses.replace(
            _wanted(trained.data_columns(), shape, trained.inputs), encode_text=run_encoder(path)
        ),
        run=run,
        trained=trained,
        inputs=trained.inputs,
        vocab=vocabulary(trained.plan.shapes),
        outputs=trained.outputs,
    )


def _ordered(run: Any, heads: list[OutputHead] | None) -> Any:
    """Several named outputs in the model's order (a SavedModel gives them sorted by name)."""
    if heads is None:
        return run

    def in_order(x: X) -> dict[str, np.ndarray]:
        found = run(x)
        return {h.name: found[h.name] for h in heads}

    return in_order


def _load(fmt: str, artifact: Path) -> Any:
    from specc.predict.artifacts import load_runner

    try:
        return load_runner(fmt, artifact)
    except RunError:
        raise
    except Exception as err:  # a damaged or foreign file: its runtime's own complaint
        text = str(err).strip().splitlines()
        raise RunError(
            f"{artifact}: cannot load the {fmt} model: {type(err).__name__}: "
            f"{text[0] if text else ''}",
            "export the run again (specc export RUN --format " + fmt + ")",
        ) from None


def predict(
    source: str | Path | Model,
    inputs: list[str | Path] | None = None,
    split: str | None = None,
    device: str = "cpu",
) -> Predictions:
    """Predictions for the examples in `inputs`, or for a split of a run's own data."""
    model = source if isinstance(source, Model) else open_model(source, device)
    if split is not None:
        return _predict_split(model, split)
    if not inputs:
        raise UsageError("nothing to predict", "give INPUT files, or --split test with a run")
    transforms = transforms_from_json(model.preprocessing)
    parts: list[Examples] = []
    xs: list[X] = []
    for item in inputs:
        examples = read(Path(item), model.wanted)
        if model.inputs is not None:
            assert isinstance(examples.x, Inputs)  # read by name from a .npz
            xs.append(preprocess_inputs(examples.x, transforms, model.classes, model.inputs))
        else:
            assert isinstance(examples.x, np.ndarray)
            xs.append(preprocess(examples.x, transforms, model.classes, model.input_shape))
        parts.append(examples)
    x = _token_ids(model, _concatenate(xs))
    labels = [p.labels for p in parts]
    known = None
    if all(lab is not None for lab in labels):
        known = np.concatenate([np.asarray(lab) for lab in labels if lab is not None])
    return Predictions(
        names=[n for p in parts for n in p.names],
        outputs=_run(model, x),
        task=model.task,
        class_names=model.class_names,
        labels=None if model.outputs else known,  # a CSV's labels are one output's
        heads=model.outputs,
    )


def _concatenate(xs: list[X]) -> X:
    """The examples of every INPUT argument, in order (per input name for several)."""
    first = xs[0]
    if isinstance(first, Inputs):
        names = list(first.arrays)
        return Inputs(
            {n: np.concatenate([x.arrays[n] for x in xs if isinstance(x, Inputs)]) for n in names}
        )
    return np.concatenate([x for x in xs if isinstance(x, np.ndarray)])


def _token_ids(model: Model, x: X) -> X:
    """A model reading token ids (`input N int`) gets whole numbers in 0..vocab-1, as int64
    (what its exported graph takes); other models their inputs unchanged."""
    vocab = model.vocab
    if isinstance(x, Inputs):  # several inputs are numbers
        return x
    if vocab is None or x.size == 0:
        return x
    bad = (x != np.round(x)) | (x < 0) | (x >= vocab)
    if bad.any():
        row, col = (int(i) for i in np.argwhere(bad.reshape(len(x), -1))[0])
        value = x.reshape(len(x), -1)[row, col]
        raise RunError(
            f"input #{row} holds {value:g} at position {col}, but the model reads token ids "
            f"0 to {vocab - 1} (`input N int`)",
            "give whole-number token ids of the run's vocabulary",
        )
    return x.astype(np.int64)


def _run(model: Model, x: X) -> Any:
    try:
        found = model.run(x)
        return found if isinstance(found, dict) else np.asarray(found)
    except RunError:
        raise
    except Exception as err:  # the runtime refused the inputs or the artifact
        text = str(err).strip().splitlines()
        raise RunError(
            f"{model.source}: the model failed on the inputs: {type(err).__name__}: "
            f"{text[0] if text else ''}",
            "check that the artifact is the one `specc export` wrote, or export it again",
        ) from err


def _predict_split(model: Model, split: str) -> Predictions:
    from specc import metrics as M
    from specc.predict.trained import SPLITS

    if model.trained is None:
        raise UsageError(
            f"--split {split} needs the run directory (an export does not keep the data)",
            "pass the run's folder, not the exported model",
        )
    if split not in SPLITS:
        raise UsageError(f"--split {split}: choose one of {', '.join(SPLITS)}")
    x, y = model.trained.split(split)
    if len(x) == 0:
        raise UsageError(f"the run's data has no {split} split")
    outputs = _run(model, x)
    plan = model.trained.plan
    if plan.outputs:  # each output's metrics, named as the run names them
        from specc.run.outputs import metrics as each_output

        scores = each_output(plan, outputs, y, f"{split}_")
    else:
        scores = M.compute(
            list(plan.train.metrics), outputs, y, f"{split}_", M.loss_ignore(plan.train)
        )
    return Predictions(
        names=[f"{split}#{i}" for i in range(len(x))],
        outputs=outputs,
        task=model.task,
        class_names=model.class_names,
        labels=y,
        metrics=scores,
        heads=model.outputs,
    )
