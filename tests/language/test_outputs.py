"""Named outputs in the language: `output NAME { ... }` in a model, `output NAME { loss;
weight; metrics }` in `train` (docs/semantics.md#outputs): IR, shapes, lowering, lints,
summary, and what a model with one output keeps."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from specc.analysis import analyze, analyze_file
from specc.cli import main
from specc.fmt import format_text
from specc.ir import strip_spans
from specc.ir.graph import Output
from specc.ir.losses import BinaryCrossentropy, SparseCategoricalCrossentropy
from specc.lowering import lower
from specc.plan import RunOptions, make_plan

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "specs" / "two_outputs.nn"

SPEC = """model heads {
    input 10
    dense 32 relu
    output digit { dense 4 softmax }
    output big from=dense_1 { dense 1 sigmoid }
}

data synthetic classes=4 { validation 0.2 }

train {
    output digit { loss sparse_categorical_crossentropy; metrics accuracy }
    output big { loss binary_crossentropy; weight 0.5; metrics accuracy precision }
    early_stopping monitor=val_big_precision
}
"""


def codes(text: str) -> list[str]:
    return [d.code for d in analyze(text, "o.nn").diagnostics]


def test_output_blocks_build_and_shape() -> None:
    analysis = analyze(SPEC, "o.nn")
    assert analysis.ok and not analysis.diagnostics, analysis.diagnostics
    model = analysis.spec.models[0]
    blocks = [layer for layer in model.layers if isinstance(layer, Output)]
    assert [(b.name, b.source) for b in blocks] == [("digit", None), ("big", "dense_1")]
    shapes = analysis.shapes["heads"]
    assert shapes.outputs == (("digit", "dense_2"), ("big", "dense_3"))
    assert shapes.output_info("big").output == (1,)
    assert not shapes.is_chain
    train = analysis.spec.train
    assert train is not None and train.loss is None
    [digit, big] = train.outputs
    assert isinstance(digit.loss, SparseCategoricalCrossentropy) and digit.weight == 1.0
    assert isinstance(big.loss, BinaryCrossentropy) and big.weight == 0.5
    assert [m.kind_name() for m in big.metrics] == ["accuracy", "precision"]


def test_lowering_splits_each_outputs_head_by_its_own_loss() -> None:
    analysis = analyze(SPEC, "o.nn")
    plan = make_plan(analysis, RunOptions())
    lowered = plan.lowered
    assert [(o.name, o.value, o.shape, o.head) for o in lowered.outputs] == [
        ("digit", "dense_2", (4,), "softmax"),
        ("big", "dense_3", (1,), "sigmoid"),
    ]
    steps = {step.name: step for step in lowered.steps}
    assert steps["dense_2"].activation is None and steps["dense_3"].activation is None
    assert not lowered.is_chain
    assert [(o.name, o.weight) for o in plan.outputs] == [("digit", 1.0), ("big", 0.5)]
    targets = plan.output_targets()
    assert targets is not None
    assert [(t.name, t.target, t.units) for t in targets] == [
        ("digit", "class", 4),
        ("big", "binary", 1),
    ]


def test_a_model_with_one_output_lowers_as_before() -> None:
    text = (ROOT / "specs" / "binary.nn").read_text()
    analysis = analyze(text, "binary.nn")
    shapes = next(iter(analysis.shapes.values()))
    assert shapes.outputs == () and shapes.is_chain
    assert analysis.spec.train is not None
    lowered = lower(shapes, analysis.spec.train.main_loss)
    assert lowered.outputs == () and lowered.is_chain and lowered.head == "sigmoid"


def test_the_example_is_canonical_and_clean() -> None:
    text = EXAMPLE.read_text()
    assert format_text(text) == text
    analysis = analyze_file(str(EXAMPLE))
    assert analysis.ok and not analysis.diagnostics


def test_fmt_round_trips_output_blocks() -> None:
    once = format_text(SPEC)
    assert format_text(once) == once
    assert "    output big from=dense_1 {\n        dense 1 sigmoid\n    }" in once
    assert "        weight 0.5\n        metrics accuracy precision\n" in once
    assert strip_spans(analyze(SPEC, "a.nn").spec) == strip_spans(analyze(once, "b.nn").spec)


def test_diagnostics_of_outputs() -> None:
    # an output inside a block
    nested = SPEC.replace(
        "    output digit { dense 4 softmax }", "    residual { output digit { dense 32 } }"
    )
    assert "E210" in codes(nested)
    # an output without layers
    assert codes(SPEC.replace("output digit { dense 4 softmax }", "output digit { }"))[0] == "E210"
    # a plain `loss` beside the outputs
    plain = SPEC.replace("train {\n", "train {\n    loss mse\n")
    assert codes(plain) == ["E211"]
    # `output` in train for a model without output blocks
    chain = (
        (ROOT / "specs" / "binary.nn")
        .read_text()
        .replace(
            "    loss binary_crossentropy\n",
            "    loss binary_crossentropy\n    output big { loss mse }\n",
        )
    )
    assert codes(chain) == ["E211"]
    # an output trained twice
    twice = SPEC.replace("    early_stopping", "    output big { loss mse }\n    early_stopping")
    assert codes(twice) == ["E203"]
    # `one_hot` cannot say which output's targets it encodes
    assert codes(SPEC.replace("{ validation 0.2 }", "{ validation 0.2; one_hot }")) == ["E406"]
    # reading an output's value
    reads = SPEC.replace(
        "    output big from=dense_1 { dense 1 sigmoid }",
        "    output big from=dense_1 { dense 1 sigmoid }\n    output more from=digit { dense 2 }",
    )
    [diagnostic] = analyze(reads, "o.nn").diagnostics
    assert (diagnostic.code, diagnostic.message) == (
        "E210",
        "`dense_4` reads the value of output `digit`",
    )


def test_lints_run_per_output_and_know_the_output_metric_names() -> None:
    # a sigmoid on the 4-class output: W501 for that output only
    sigmoid = SPEC.replace("output digit { dense 4 softmax }", "output digit { dense 4 sigmoid }")
    diagnostics = analyze(sigmoid, "o.nn").diagnostics
    assert [d.code for d in diagnostics] == ["W501"]
    # a monitor no output reports
    wrong = SPEC.replace("monitor=val_big_precision", "monitor=val_big_recall")
    [w506] = analyze(wrong, "o.nn").diagnostics
    assert w506.code == "W506" and "val_digit_accuracy" in (w506.help or "")


LATENT = """\
model m {
    input 8
    dense 16 relu
    output kind { dense K }
    output level { dense 2 }
}

data synthetic TASK samples=100 features=8 classes=4

train {
    output kind { loss sparse_categorical_crossentropy }
    output level { loss mse }
}
"""


def test_w502_counts_the_latent_classes_of_synthetic_data_whatever_its_task() -> None:
    """Several outputs' targets derive from `classes` clusters (specc/data/outputs.py):
    a binary or regression task does not make it 2 classes or 1 value per example."""
    for task in ("classification", "binary", "regression"):
        fits = LATENT.replace("TASK", task).replace("dense K", "dense 4")
        assert analyze(fits, "o.nn").diagnostics == [], task
        [w502] = analyze(fits.replace("dense 4", "dense 3"), "o.nn").diagnostics
        assert (w502.code, w502.message) == (
            "W502",
            "the last layer gives 3 outputs, but `synthetic` has 4 classes",
        ), task


def test_summary_shows_the_outputs(tmp_path: Path) -> None:
    spec = tmp_path / "o.nn"
    spec.write_text(SPEC)
    done = CliRunner().invoke(main, ["summary", str(spec)])
    assert done.exit_code == 0, done.output
    assert "model heads: 10 -> digit 4, big 1" in done.output
    assert "dense (output digit)" in done.output and "dense (output big)" in done.output
    as_json = CliRunner().invoke(main, ["summary", str(spec), "--json"])
    [model] = json.loads(as_json.output)["models"]
    assert model["outputs"] == {"digit": [4], "big": [1]}
