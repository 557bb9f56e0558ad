"""Search spaces: found with their paths, substituted, written back as text; bad bounds are
E304 diagnostics with spans; usage mistakes of `specc sweep` are messages, not tracebacks.
No training here."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sweep_helpers import FIXTURES, tiny_spec

from specc.analysis import analyze, analyze_file
from specc.cli import main
from specc.ir import strip_spans
from specc.sweep import space

SPACES = """\
# keep this comment
model m {
    input 28x28
    flatten
    dense choice(16, 32) relu
    dropout uniform(0.0, 0.5)
    dense 10
}
data mnist_sample { scale 1/255; batch int(32, 128, step=32) shuffle; validation 0.1 }
train {
    loss cross_entropy
    optimizer sgd lr=loguniform(1e-4, 1e-1) momentum=0.9
    epochs 1
    metrics accuracy
}
"""


def test_find_names_every_space_by_where_it_sits() -> None:
    params = space.find(analyze(SPACES).spec)
    assert [p.name for p in params] == [
        "m.layers[1].units",
        "m.layers[2].rate",
        "data.batch.size",
        "train.optimizer.lr",
    ]
    assert [p.discrete for p in params] == [True, False, True, False]


def test_concrete_text_keeps_comments_and_builds_to_the_substituted_ir() -> None:
    analysis = analyze(SPACES, "x.nn")
    params = space.find(analysis.spec)
    values = {
        "m.layers[1].units": 32,
        "m.layers[2].rate": 0.25,
        "data.batch.size": 96,
        "train.optimizer.lr": 0.0031622776601683794,
    }
    done = space.concrete(analysis, params, values)
    assert done.ok and done.path == "x.nn"
    assert done.text.startswith("# keep this comment\n")
    assert "dense 32 relu" in done.text and "dropout 0.25" in done.text
    assert "batch 96 shuffle" in done.text and "lr=0.0031622776601683794 momentum" in done.text
    assert strip_spans(done.spec) == strip_spans(space.substitute(analysis.spec, params, values))
    assert space.find(done.spec) == []
    assert done.shapes["m"].params == 784 * 32 + 32 + 32 * 10 + 10


def test_a_value_invalid_for_its_field_is_a_diagnostic_of_that_trial() -> None:
    analysis = analyze(SPACES)
    params = space.find(analysis.spec)
    values = {p.name: 0.5 for p in params}  # 0.5 units: valid for no dense layer
    done = space.concrete(analysis, params, values)
    assert not done.ok and done.errors[0].span.line == 5


def test_grid_lists_discrete_values_and_refuses_continuous_ones_with_their_place() -> None:
    discrete = analyze(
        SPACES.replace("uniform(0.0, 0.5)", "0.1").replace(
            "loguniform(1e-4, 1e-1)", "choice(0.1, 0.01)"
        )
    )
    grid = space.grid(space.find(discrete.spec), "x.nn")
    assert grid == {
        "m.layers[1].units": [16, 32],
        "data.batch.size": [32, 64, 96, 128],
        "train.optimizer.lr": [0.1, 0.01],
    }
    assert space.grid_size(grid) == 16
    from specc.errors import PlanError

    with pytest.raises(PlanError) as caught:
        space.grid(space.find(analyze(SPACES).spec), "x.nn")
    lines = [(d.code, d.span.line, d.span.column) for d in caught.value.diagnostics]
    assert lines == [("E601", 6, 13), ("E601", 12, 22)]


# fixture -> (line, column, end column, message start)
E304 = {
    "E304_choice_twice.nn": (5, 11, 30, "choice(...) lists the same value twice"),
    "E304_equal_bounds.nn": (13, 36, 53, "a search range needs low < high, found low=0.9"),
    "E304_int_log_below_one.nn": (5, 15, 16, "a log scale needs low >= 1, found low=0"),
    "E304_int_reversed.nn": (9, 40, 52, "a search range needs low < high, found low=256"),
    "E304_negative_log.nn": (13, 33, 38, "a log scale needs low > 0, found low=-0.001"),
}


@pytest.mark.parametrize("name", sorted(E304))
def test_invalid_bounds_are_located_e304_diagnostics(name: str) -> None:
    line, column, end, message = E304[name]
    diags = analyze_file(FIXTURES / name).diagnostics
    assert [d.code for d in diags] == ["E304"]
    span = diags[0].span
    assert (span.line, span.column, span.end_column) == (line, column, end)
    assert diags[0].message.startswith(message)


def test_specc_check_reports_e304_with_the_caret_and_exit_1() -> None:
    result = CliRunner().invoke(main, ["check", str(FIXTURES / "E304_negative_log.nn")])
    assert result.exit_code == 1
    assert "error[E304]: a log scale needs low > 0" in result.output
    assert "E304_negative_log.nn:13:33" in result.output
    assert "                                 ^^^^^" in result.output


def _sweep(tmp_path: Path, text: str, *flags: str) -> tuple[int, str]:
    spec = tmp_path / "s.nn"
    spec.write_text(text)
    out = tmp_path / "out"
    result = CliRunner().invoke(main, ["sweep", str(spec), "--out", str(out), *flags])
    return result.exit_code, result.output


def test_grid_with_a_continuous_space_is_refused_before_training(tmp_path: Path) -> None:
    code, output = _sweep(tmp_path, tiny_spec(), "--sampler", "grid")
    assert code == 1
    assert "error[E601]: `loguniform(...)` at `train.optimizer.lr` is continuous" in output
    assert "s.nn:11:22" in output and "--sampler random or tpe" in output
    assert not (tmp_path / "out" / "trials").exists()


@pytest.mark.parametrize(
    ("text", "flags", "message"),
    [
        (tiny_spec(lr="0.1"), (), "has no search space to sweep"),
        (tiny_spec(), ("--metric", "val_f1"), "--metric val_f1: not a metric of this spec"),
        (tiny_spec().replace("; validation 0.2", ""), (), "holds out no validation data"),
        (tiny_spec(), ("--trials", "0"), "--trials must be at least 1"),
    ],
)
def test_usage_mistakes_exit_2_with_a_message(
    tmp_path: Path, text: str, flags: tuple[str, ...], message: str
) -> None:
    code, output = _sweep(tmp_path, text, *flags)
    assert code == 2, output
    assert message in output and "Traceback" not in output


def test_a_spec_with_errors_is_refused_with_its_diagnostics(tmp_path: Path) -> None:
    code, output = _sweep(tmp_path, tiny_spec(lr="loguniform(0.1, 0.01)"))
    assert code == 1
    assert "error[E304]" in output and "nothing was trained" in output
