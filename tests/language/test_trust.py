"""Hostile values in a spec: each is a located diagnostic, never a traceback or a silent
nonsense value (issue 17: huge literals, non-finite numbers, a file ending in `key=`)."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from specc.analysis import analyze
from specc.cli import main

SPEC = """\
model m {{
    input 10
    {layer}
}}
data synthetic {{ {transforms} }}
train {{
    loss sparse_categorical_crossentropy
    {train}
}}
"""


def spec(layer: str = "dense 2", transforms: str = "", train: str = "epochs 1") -> str:
    return SPEC.format(layer=layer, transforms=transforms, train=train)


def codes(text: str) -> list[tuple[str, int, str]]:
    """(code, line, message) of every diagnostic `analyze` reports."""
    return [(d.code, d.span.line, d.message) for d in analyze(text).diagnostics]


def cli(*args: str) -> Result:
    result = CliRunner().invoke(main, list(args))
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"specc {args[0]} crashed: {result.exception!r}") from result.exception
    return result


# ---- item 1: integers too long for Python's int() / a float --------------------------------


@pytest.mark.parametrize(
    ("layer", "column"),
    [
        ("dense " + "1" * 4301, 11),  # int() refuses more than 4,300 digits
        ("reshape " + "2" * 5000 + "x5", 13),  # in a shape
    ],
    ids=["number", "shape"],
)
def test_too_many_digits_is_E301_at_the_number(layer: str, column: int) -> None:
    found = analyze(spec(layer=layer)).diagnostics
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("E301", 3, column)]
    assert re.search(r"has a number of [\d,]+ digits; at most 300 fit$", found[0].message)


def test_too_many_digits_in_a_fraction_is_E301() -> None:
    found = codes(spec(transforms="scale 1/" + "3" * 4400))
    assert found == [
        ("E301", 5, "`1/3333333333...333333` has a number of 4,400 digits; at most 300 fit")
    ]


@pytest.mark.parametrize("command", ["check", "ir", "summary", "fmt"])
def test_every_command_answers_a_4301_digit_literal(tmp_path: Path, command: str) -> None:
    path = tmp_path / "big.nn"
    path.write_text(spec(layer="dense " + "1" * 4301))
    args = [command, "--check", str(path)] if command == "fmt" else [command, str(path)]
    result = cli(*args)
    assert result.exit_code == 1, result.output
    assert "E301" in result.output or command == "fmt"


# ---- item 2: a search range of huge integers -----------------------------------------------


def test_a_huge_search_bound_is_E301_not_an_overflow() -> None:
    found = codes(spec(layer=f"dense int(1{'0' * 310}, 2)"))
    assert [(c, line) for c, line, _ in found] == [("E301", 3)]


def test_a_reversed_range_of_long_integers_formats_its_bounds() -> None:
    found = codes(spec(layer=f"dense int(1{'0' * 299}, 2)"))
    assert found == [
        ("E304", 3, "a search range needs low < high, found low=a 300-digit number and high=2")
    ]


# ---- item 3: non-finite numbers ------------------------------------------------------------


@pytest.mark.parametrize(
    ("where", "text", "field"),
    [
        ("train", "optimizer adam lr=1e400", "lr"),
        ("train", "optimizer adamw weight_decay=1e999", "weight_decay"),
        ("train", "warmup inf", "epochs"),
        ("transforms", "normalize 0 1e400", "std"),
        ("transforms", "normalize nan 1", "mean"),
        ("train", "optimizer adam lr=uniform(nan, 0.1)", "low"),
        ("train", "optimizer adam lr=loguniform(1e-4, 1e400)", "high"),
    ],
)
def test_non_finite_numbers_are_E301_at_the_value(where: str, text: str, field: str) -> None:
    found = codes(spec(**{where: text}))
    errors = [(c, m) for c, _, m in found if c.startswith("E")]
    assert len(errors) == 1, found
    assert errors[0][0] == "E301"
    assert errors[0][1].startswith(f"`{field}` must be a finite number, found `")


def test_non_finite_choice_options_are_E301() -> None:
    found = codes(spec(train="optimizer adam lr=choice(0.1, 1e999)"))
    assert found == [("E301", 8, "choice(...) options must be finite numbers")]


def test_ir_never_prints_infinity(tmp_path: Path) -> None:
    path = tmp_path / "inf.nn"
    path.write_text(spec(train="optimizer adam lr=1e400"))
    result = cli("ir", str(path))
    assert result.exit_code == 1
    assert "Infinity" not in result.output and "NaN" not in result.output
    # A clean spec's IR is strict JSON (no Infinity/NaN tokens).
    path.write_text(spec(train="optimizer adam lr=1e-3"))
    result = cli("ir", str(path))
    assert result.exit_code == 0, result.output
    json.loads(result.output, parse_constant=lambda c: pytest.fail(f"non-JSON constant {c}"))


# ---- item 9: a file that ends in `key=` ----------------------------------------------------

DANGLING = (
    "model m {\n    input 10\n    dense 2\n}\ntrain {\n    loss sparse_categorical_crossentropy\n}\n"
    "data synthetic features="
)


def test_a_dangling_key_at_the_end_of_the_file_is_E100() -> None:
    found = analyze(DANGLING).diagnostics
    assert [(d.code, d.span.line, d.span.column) for d in found] == [("E100", 8, 25)]
    assert found[0].message == "unexpected end of the file; expected a value"


def test_a_dangling_key_inside_an_open_block_is_reported_too() -> None:
    found = analyze("model m {\n    input 10\n    dense 2 activation=").diagnostics
    assert [(d.code, d.span.line) for d in found] == [("E100", 3), ("E101", 3)]


def test_fmt_refuses_a_dangling_key_without_an_internal_error(tmp_path: Path) -> None:
    path = tmp_path / "dangling.nn"
    path.write_text(DANGLING)
    result = cli("fmt", str(path))
    assert result.exit_code == 1
    assert "internal error" not in result.output
    assert "error[E100]: unexpected end of the file; expected a value" in result.output
    assert path.read_text() == DANGLING


# ---- item 7: many diagnostics, many tokens ---------------------------------------------------


def test_many_problems_are_capped_per_file_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "bogus.nn"
    path.write_text("bogus\n" * 20_000)
    result = cli("check", str(path))
    assert result.exit_code == 1
    assert len(re.findall(r"^error\[E200\]", result.output, re.M)) == 100
    assert (
        f"note: {path} has 19,903 more problems (19,903 errors, 0 warnings) not shown; "
        "at most 100 are shown per file"
    ) in result.output
    assert result.output.rstrip().endswith("1 file checked: 20,003 errors, 0 warnings")


def test_the_analysis_keeps_the_first_problems_and_counts_the_rest() -> None:
    analysis = analyze("bogus\n" * 500)
    assert len(analysis.diagnostics) == 100
    assert [d.span.line for d in analysis.diagnostics[:3]] == [1, 2, 3]
    assert (analysis.hidden_errors, analysis.hidden_warnings) == (403, 0)
    assert (analysis.error_count, analysis.ok) == (503, False)


def test_a_file_of_too_many_tokens_is_refused_before_parsing() -> None:
    text = "dense 4\n" * 20_000  # 160 KB, under the size limit; 60,000 tokens
    found = analyze(text).diagnostics
    assert [(d.code, d.span.line) for d in found] == [("E103", 1)]
    assert found[0].message == (
        "the file holds about 60,000 words and symbols; specs are limited to 40,000"
    )


def test_a_10000_layer_model_written_out_is_still_checked() -> None:
    text = "model m {\n    input 4\n" + "    dense 4\n" * 10_000 + "}\n"
    found = analyze(text).diagnostics
    assert [d.code for d in found] == ["E204", "E204"]  # no data, no train: checked in full
