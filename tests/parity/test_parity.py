"""`specc.parity`: both backends agree step by step, and a wrong mapping is caught.

Every run here goes through the two real executor modules (`specc.executors.torch` and
`specc.executors.tensorflow`) exactly as `specc parity` does.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from specc.analysis import analyze
from specc.parity import ParityResult, parity
from tests.parity.conftest import mlp

ROOT = Path(__file__).resolve().parents[2]


def run(text: str, **kw: object) -> ParityResult:
    analysis = analyze(text, "parity.nn")
    assert analysis.ok, [d.message for d in analysis.errors]
    return parity(analysis, **kw)  # type: ignore[arg-type]


def assert_agrees(result: ParityResult) -> None:
    a, b = result.runs
    assert (a.name, b.name) == ("torch", "tensorflow")
    assert len(a.losses) == len(b.losses) == result.steps
    assert np.all(np.isfinite(a.losses)) and a.losses[0] > 0
    assert result.passed, (result.max_relative, result.relative)
    # A few float32 ulps, not a tolerance-sized coincidence.
    assert result.max_relative < result.tolerance


# Every optimizer, each with weight decay and/or clipping (docs/semantics.md#optimizers).
OPTIMIZERS = [
    "sgd lr=0.1 weight_decay=1e-2 clip_norm=0.5",
    "sgd lr=0.05 momentum=0.9 clip_value=0.02",
    "sgd lr=0.05 momentum=0.9 nesterov=true weight_decay=1e-2",
    "adam lr=1e-2 weight_decay=1e-2 clip_norm=1",
    "adam lr=1e-2 amsgrad=true",
    "adamw lr=1e-2 weight_decay=0.1 clip_value=0.05",
    "rmsprop lr=1e-2 weight_decay=1e-2 clip_norm=0.5",
    "rmsprop lr=1e-3 momentum=0.9 centered=true",
    "adagrad lr=0.1 weight_decay=1e-2 clip_value=0.1",
]


@pytest.mark.parametrize("optimizer", OPTIMIZERS)
def test_every_optimizer_agrees(optimizer: str) -> None:
    result = run(mlp(optimizer), steps=20)
    assert result.steps == 20
    assert result.tolerance == 1e-4
    assert_agrees(result)


# Every schedule, each under a warm-up; 4 steps per epoch so epoch boundaries fall inside.
SCHEDULES = [
    "schedule step every=2 gamma=0.5\n    warmup 1",
    "schedule multistep milestones=[1, 3] gamma=0.3\n    warmup steps=3",
    "schedule exponential 0.7\n    warmup 0.5",
    "schedule cosine min_lr=1e-4\n    warmup 1",
    "schedule one_cycle max_lr=0.05\n    warmup steps=2",
    "schedule reduce_on_plateau monitor=loss patience=0 factor=0.5\n    warmup 1",
    "warmup steps=6",
]


@pytest.mark.parametrize("schedule", SCHEDULES)
def test_every_schedule_with_warmup_agrees(schedule: str) -> None:
    result = run(mlp("sgd lr=0.05 momentum=0.9", extra="    " + schedule, epochs=6), steps=20)
    assert result.steps == 20
    assert len(set(np.round(result.lrs, 12))) > 3  # the rate really moved
    assert result.lrs[0] < result.lrs.max()  # warm-up starts low
    assert_agrees(result)


CONV_BN = """model convbn {
    input 1x28x28
    conv2d 6 3 padding=same bias=false
    batchnorm momentum=0.2
    relu
    maxpool2d 2
    conv2d 8 3 stride=2 padding=1 bias=false
    batchnorm
    relu
    flatten
    dense 16 bias=false
    batchnorm
    relu
    dense 10 softmax
}
data mnist_sample { scale 1/255; batch 32 shuffle }
train {
    loss sparse_categorical_crossentropy
    optimizer adam lr=3e-3
    epochs 3
}
"""


def test_conv_net_with_batchnorm_agrees_in_training_and_evaluation() -> None:
    result = run(CONV_BN, steps=20, limit=320)
    assert result.tolerance == 1e-2  # batchnorm: docs/parity.md#tolerances
    assert_agrees(result)
    # Evaluation reads the running statistics (momentum convention, unbiased variance).
    assert result.eval_relative < 1e-3  # measured 3e-5; a wrong convention gives ~1e-1
    a, b = (run.weights for run in result.runs)
    for key in ("batchnorm_1.running_var", "batchnorm_3.running_mean"):
        np.testing.assert_allclose(a[key], b[key], rtol=1e-2, atol=1e-4)
        assert not np.allclose(a[key], 1.0 if key.endswith("var") else 0.0)


# ---- every spec of specs/ that runs without augmentation --------------------------------

MNIST_SPECS = {"mnist.nn", "cnn.nn", "dropout.nn", "mnist_deep.nn"}  # full MNIST is a download


def spec_cases() -> list[str]:
    names = []
    for path in sorted((ROOT / "specs").glob("*.nn")):
        text = path.read_text()
        if "augment" in text or "uniform(" in text or "init from" in text:
            continue  # augmentation; search spaces (specc sweep); needs a previous run
        names.append(path.name)
    return names


def test_spec_selection_is_what_the_docs_say() -> None:
    assert spec_cases() == [
        "binary.nn",
        "char_lm.nn",
        "cnn.nn",
        "dropout.nn",
        "imdb_bilstm.nn",
        "imdb_transformer.nn",
        "inception_mnist.nn",
        "mnist.nn",
        "mnist_deep.nn",
        "multiclass.nn",
        "quickstart.nn",
        "regression.nn",
        "resnet_mnist.nn",
        "seq_conv1d.nn",
        "two_outputs.nn",
        "two_tower.nn",
    ]


@pytest.mark.parametrize("name", spec_cases())
def test_every_spec_agrees(name: str) -> None:
    data = "mnist_sample" if name in MNIST_SPECS else None
    result = parity(ROOT / "specs" / name, steps=20, limit=1024, data=data)
    assert_agrees(result)
    if name == "dropout.nn":
        assert result.notes[:2] == [
            "dropout `dropout_1` (rate 0.2) disabled: rate set to 0",
            "dropout `dropout_2` (rate 0.2) disabled: rate set to 0",
        ]
    if name == "mnist_deep.nn":
        assert result.model == "baseline"  # the first model unless --model says otherwise


def test_bf16_agrees_within_its_own_rounding() -> None:
    result = run(mlp("adam lr=1e-2", extra="    precision bf16"), steps=20)
    assert result.tolerance == 3e-2
    assert_agrees(result)
    assert result.max_relative > 1e-4  # really computed in bfloat16 on both sides


def test_sequence_layers_agree() -> None:
    """conv1d, the 1-D pools and global pooling train the same on both backends."""
    text = (ROOT / "tests" / "emit" / "sink" / "sequence.nn").read_text()
    result = run(text, steps=20)
    assert result.tolerance == 1e-3  # the conv parity group
    assert_agrees(result)
