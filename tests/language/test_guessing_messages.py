"""Mistakes a newcomer makes get an answer that says what to write instead."""

from __future__ import annotations

from pathlib import Path

import pytest

from specc.analysis import analyze

QUICK = (Path(__file__).resolve().parents[2] / "specs" / "quickstart.nn").read_text()


def _only_error(text: str) -> tuple[str, str, str | None]:
    [diag] = analyze(text, "t.nn").diagnostics
    return diag.code, diag.message, diag.help


def test_a_kinds_argument_written_after_it_in_a_list_is_shown_in_parentheses() -> None:
    text = QUICK.replace("    metrics accuracy", "    metrics accuracy top_k_accuracy k=3")
    code, message, help_text = _only_error(text)
    assert (code, message) == ("E202", "`metrics` takes a list of values, not `k=`")
    assert help_text == "in a list, a kind's arguments go in parentheses: `top_k_accuracy(k=3)`"
    fixed = text.replace("top_k_accuracy k=3", "top_k_accuracy(k=3)")
    assert analyze(fixed, "t.nn").diagnostics == []


def test_a_word_where_a_whole_number_goes_asks_for_digits() -> None:
    code, message, help_text = _only_error(QUICK.replace("    epochs 5", "    epochs five"))
    assert (code, message) == (
        "E300",
        "`five` is not a whole number: `epochs` takes a whole number",
    )
    assert help_text == (
        "write it in digits (`epochs 5`); `specc sweep` also takes a search space such as "
        "`int(2, 10)`"
    )  # not "expected one of `loguniform`, `uniform`, `int`, `choice`"


def test_a_float_field_says_a_number() -> None:
    text = QUICK.replace("lr=1e-3", "lr=small")
    code, message, _ = _only_error(text)
    assert (code, message) == ("E300", "`small` is not a number: `lr` takes a number")


@pytest.mark.parametrize(
    "text",
    [
        "// my model\n" + QUICK,
        QUICK.replace("    metrics accuracy", "    metrics accuracy  // train accuracy"),
    ],
)
def test_a_c_style_comment_says_comments_start_with_hash(text: str) -> None:
    diagnostics = analyze(text, "t.nn").diagnostics
    assert diagnostics and diagnostics[0].code == "E102"
    assert diagnostics[0].help == "comments start with `#` and run to the end of the line: `# ...`"
