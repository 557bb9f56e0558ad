"""The parser: literals, spans, comments, and recovery from errors."""

from __future__ import annotations

from specc import syntax
from specc.cst import Call, Fraction, List, Number, Shape, String, Word


def _args(text: str) -> list[object]:
    doc = syntax.parse(text)
    assert doc.diagnostics == []
    return [a.value for a in doc.statements[0].args]


def test_literals_and_their_values() -> None:
    values = _args('s 512 -3 1e-3 .5 1/255 1x28x28 "a b" relu [1, 2] f(1, k=2)\n')
    assert isinstance(values[0], Number) and values[0].value == 512
    assert isinstance(values[1], Number) and values[1].value == -3
    assert isinstance(values[2], Number) and values[2].value == 1e-3
    assert isinstance(values[3], Number) and values[3].value == 0.5
    assert isinstance(values[4], Fraction) and values[4].value == 1 / 255
    assert isinstance(values[5], Shape) and values[5].dims == (1, 28, 28)
    assert isinstance(values[6], String) and values[6].value == "a b"
    assert isinstance(values[7], Word) and values[7].name == "relu"
    assert isinstance(values[8], List) and [i.value for i in values[8].items] == [1, 2]  # type: ignore[attr-defined]
    call = values[9]
    assert isinstance(call, Call) and call.name.name == "f"
    assert call.args[1].key is not None and call.args[1].key.name == "k"


def test_spans_are_one_based_with_exclusive_end() -> None:
    doc = syntax.parse("model m {\n    dense 512 relu\n}\n")
    dense = doc.statements[0].body.statements[0]  # type: ignore[union-attr]
    assert (dense.span.line, dense.span.column, dense.span.end_column) == (2, 5, 19)
    units = dense.args[0]
    assert (units.span.column, units.span.end_column) == (11, 14)


def test_every_node_spans_its_text_brackets_and_blocks_included() -> None:
    """Spans come from each rule's first and last tokens (specc.cst._covering)."""
    text = 'model m {\n    dense 10 init=f(1, k=[2,\n    3])  # c\n    s "x" [ ]\n}\n'
    doc = syntax.parse(text)
    assert doc.diagnostics == []
    model = doc.statements[0]
    assert text[model.span.start : model.span.end] == text.rstrip("\n")
    assert model.body is not None
    assert (
        text[model.body.span.start : model.body.span.end]
        == text[text.index("{") : text.rindex("}") + 1]
    )
    dense, s = model.body.statements
    assert text[dense.span.start : dense.span.end] == "dense 10 init=f(1, k=[2,\n    3])"
    assert (dense.span.line, dense.span.column, dense.span.end_line, dense.span.end_column) == (
        2,
        5,
        3,
        8,
    )
    init = dense.args[1]
    assert text[init.span.start : init.span.end] == "init=f(1, k=[2,\n    3])"
    call = init.value
    assert isinstance(call, Call) and text[call.span.start : call.span.end] == "f(1, k=[2,\n    3])"
    inner = call.args[1].value
    assert isinstance(inner, List) and text[inner.span.start : inner.span.end] == "[2,\n    3]"
    assert (inner.span.line, inner.span.column, inner.span.end_line, inner.span.end_column) == (
        2,
        26,
        3,
        7,
    )
    empty = s.args[1].value
    assert (
        isinstance(empty, List)
        and empty.items == ()
        and text[empty.span.start : empty.span.end] == "[ ]"
    )


def test_comments_are_kept_with_positions_and_strings_are_not_comments() -> None:
    doc = syntax.parse('# head\nx "a # not a comment"  # tail\n')
    assert [c.text for c in doc.comments] == ["# head", "# tail"]
    assert doc.comments[1].span.line == 2


def test_newlines_inside_brackets_do_not_end_a_statement() -> None:
    doc = syntax.parse("o sgd lr=loguniform(1e-4,\n    1e-2) m=[1,\n 2]\n")
    assert doc.diagnostics == []
    assert len(doc.statements) == 1 and len(doc.statements[0].args) == 3


def test_several_errors_are_reported_and_the_tree_survives() -> None:
    doc = syntax.parse("model a {\n    dense 10 )\n    dense @ 3\n    dense 5\n")
    codes = [(d.code, d.span.line) for d in doc.diagnostics]
    assert codes == [("E100", 2), ("E102", 3), ("E101", 5)]
    layers = doc.statements[0].body.statements  # type: ignore[union-attr]
    assert [s.keyword.name for s in layers] == ["dense", "dense", "dense"]


def test_unclosed_bracket_recovers_at_the_next_brace() -> None:
    doc = syntax.parse("model a {\n dense 3 relu(\n}\ndata x {\n}\n")
    assert [d.code for d in doc.diagnostics] == ["E100"]
    assert [s.keyword.name for s in doc.statements] == ["model", "data"]


def test_hostile_inputs_give_one_diagnostic_quickly() -> None:
    assert [d.code for d in syntax.parse("{" * 10_000).diagnostics] == ["E103"]
    assert [d.code for d in syntax.parse("x" * (syntax.MAX_BYTES + 1)).diagnostics] == ["E103"]
    assert [d.code for d in syntax.parse("a\x00b").diagnostics] == ["E104"]
    _text, diag = syntax.decode(b"model \xff\xfe")
    assert diag is not None and diag.code == "E104" and "0xff" in diag.message
