"""Completion, hover, inlay hints, quick fixes, formatting, outline and go-to-definition,
each asked of a real `specc lsp` over stdio the way an editor asks."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_client import FIXTURES, Session
from lsprotocol import types
from marked import cursor

from specc.analysis import analyze
from specc.fmt import format_text

ROOT = Path(__file__).resolve().parents[2]
CNN = (ROOT / "specs" / "cnn.nn").read_text()


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def _labels(session: Session, uri: str, marked: str) -> list[str]:
    text, position = cursor(marked)
    session.open(uri, text)
    params = types.CompletionParams(text_document=_doc(uri), position=position)
    result = session.call(session.client.text_document_completion_async, params)
    items = result.items if isinstance(result, types.CompletionList) else result
    return [item.label for item in items]


@pytest.mark.parametrize(
    ("marked", "present", "absent"),
    [
        ("|", ["model", "data", "train"], ["dense"]),
        (
            "model m {\n    input 8\n    |\n}",
            ["dense", "conv2d", "dropout", "repeat", "input"],
            ["epochs"],
        ),
        (
            "model m {\n    input 8\n    dense 10 |\n}",
            ["relu", "gelu", "init=", "bias", "name="],
            ["units=", "epochs"],
        ),
        (
            "model m {\n    input 8\n    dense 10 relu init=|\n}",
            ["glorot_uniform", "he_normal", "zeros"],
            ["relu"],
        ),
        ("model m {\n    input 1x8x8\n    conv2d 4 3 padding=|\n}", ["valid", "same"], []),
        ("train {\n    loss |\n}", ["sparse_categorical_crossentropy", "mse", "huber"], ["adam"]),
        ("train {\n    optimizer adam |\n}", ["lr=", "weight_decay=", "amsgrad"], ["momentum="]),
        (
            "train {\n    |\n}",
            ["loss", "optimizer", "epochs", "schedule", "early_stopping"],
            ["dense"],
        ),
        ("train {\n    precision |\n}", ["fp32", "bf16", "fp16"], []),
        ("data |", ["mnist", "mnist_sample", "csv", "synthetic"], []),
        ("data mnist {\n    batch 32 |\n}", ["shuffle", "drop_last"], ["size="]),
        (
            "model base { input 8; dense 1 }\nmodel big { input 8; dense 1 }\ntrain {\n    model |\n}",
            ["base", "big"],
            ["loss"],
        ),
        ("model m {\n    input 8 # |\n}", [], ["dense"]),
    ],
)
def test_completion(
    push: Session, uri: str, marked: str, present: list[str], absent: list[str]
) -> None:
    labels = _labels(push, uri, marked)
    assert set(present) <= set(labels), labels
    assert not set(absent) & set(labels)
    if not present:
        assert labels == []


def test_completion_items_carry_types_defaults_and_docs(push: Session, uri: str) -> None:
    text, position = cursor("model m {\n    input 1x8x8\n    conv2d 4 |\n}")
    push.open(uri, text)
    params = types.CompletionParams(text_document=_doc(uri), position=position)
    result = push.call(push.client.text_document_completion_async, params)
    stride = next(i for i in result.items if i.label == "stride=")
    assert stride.detail == "int | shape = 1"
    assert stride.documentation.value.endswith("Step between windows.")
    relu = next(i for i in result.items if i.label == "relu")
    assert "max(x, 0)." in relu.documentation.value


def _hover(session: Session, uri: str, marked: str) -> str | None:
    text, position = cursor(marked)
    session.open(uri, text)
    params = types.HoverParams(text_document=_doc(uri), position=position)
    result = session.call(session.client.text_document_hover_async, params)
    return result.contents.value if result else None


def test_hover_on_a_layer_shows_docs_shapes_and_parameters(push: Session, uri: str) -> None:
    value = _hover(push, uri, CNN.replace("    conv2d 64", "    con|v2d 64"))
    assert value is not None
    assert "2-D convolution over (C, H, W) inputs" in value
    assert "`conv2d_2`: 32x13x13 → 64x11x11 · 18,496 parameters" in value


def test_hover_on_an_argument_shows_its_type_default_and_doc(push: Session, uri: str) -> None:
    value = _hover(push, uri, CNN.replace("adam lr=1e-3", "adam l|r=1e-3"))
    assert value == (
        "**lr**: `number = 0.001`\n\nLearning rate (the peak rate when a schedule or warm-up is used)."
    )


def test_hover_on_values_names_the_kind_or_choice(push: Session, uri: str) -> None:
    dropout = (ROOT / "specs" / "dropout.nn").read_text()
    metric = _hover(push, uri, dropout.replace("metrics accuracy", "metrics acc|uracy"))
    assert metric is not None and metric.startswith("**accuracy** (metrics) · also `acc`")
    choice = _hover(push, uri, dropout.replace("checkpoint best", "checkpoint be|st"))
    assert choice is not None and choice.startswith("**save**: `best | last = best`")


def test_hover_on_a_diagnostic_explains_its_code(push: Session, uri: str) -> None:
    text = (FIXTURES / "missing_flatten.nn").read_text()
    value = _hover(push, uri, text.replace("    dense 10", "    de|nse 10"))
    assert value is not None
    assert "**E402**: layer needs a different input rank" in value
    assert "`specc explain E402`" in value


def _hints(session: Session, uri: str, text: str) -> list[tuple[int, int, str]]:
    lines = text.count("\n")
    params = types.InlayHintParams(
        text_document=_doc(uri),
        range=types.Range(
            start=types.Position(line=0, character=0),
            end=types.Position(line=lines + 1, character=0),
        ),
    )
    hints = session.call(session.client.text_document_inlay_hint_async, params) or []
    return [(h.position.line, h.position.character, h.label) for h in hints]


def test_inlay_hints_give_each_layers_output_shape(push: Session, uri: str) -> None:
    push.open(uri, CNN)
    assert _hints(push, uri, CNN) == [
        (3, 20, "→ 32x26x26"),
        (4, 15, "→ 32x13x13"),
        (5, 20, "→ 64x11x11"),
        (6, 15, "→ 64x5x5"),
        (7, 11, "→ 1600"),
        (8, 15, "→ 1600"),
        (9, 20, "→ 10"),
    ]


def test_mid_edit_the_last_good_shapes_keep_serving(push: Session, uri: str) -> None:
    push.open(uri, CNN)
    assert len(_hints(push, uri, CNN)) == 7
    push.change(uri, (5, 11), (5, 13), "sixty")  # `conv2d sixty 3 relu`: this layer can't build
    broken = CNN.replace("conv2d 64", "conv2d sixty")
    assert [d.range.start.line for d in push.diagnostics(uri)] == [5]
    assert len(_hints(push, uri, broken)) == 7
    params = types.HoverParams(
        text_document=_doc(uri), position=types.Position(line=9, character=6)
    )
    hover = push.call(push.client.text_document_hover_async, params)
    assert (
        "`dense_1`: 1600 → 10 · 16,010 parameters _(last successful check)_" in hover.contents.value
    )
    symbols = push.call(
        push.client.text_document_document_symbol_async,
        types.DocumentSymbolParams(text_document=_doc(uri)),
    )
    assert [s.name for s in symbols[0].children][-1] == "dense_1"


def test_when_the_parser_gives_up_the_last_tree_keeps_serving(push: Session, uri: str) -> None:
    push.open(uri, CNN)
    # 600 stray lines exhaust the parser's recovery budget: nothing parses any more.
    push.change(uri, (9, 20), (9, 20), "\n" + ")\n" * 600)
    assert [d.code for d in push.diagnostics(uri)][:2] == ["E100", "E100"]
    symbols = push.call(
        push.client.text_document_document_symbol_async,
        types.DocumentSymbolParams(text_document=_doc(uri)),
    )
    assert [s.name for s in symbols] == ["mnist_cnn", "data mnist", "train"]
    assert len(_hints(push, uri, CNN)) == 7
    params = types.HoverParams(
        text_document=_doc(uri), position=types.Position(line=3, character=6)
    )
    hover = push.call(push.client.text_document_hover_async, params)
    assert "`conv2d_1`: 1x28x28 → 32x26x26 · 320 parameters" in hover.contents.value


def test_a_half_typed_argument_keeps_the_rest_of_the_file(push: Session, uri: str) -> None:
    push.open(uri, CNN)
    push.change(uri, (9, 20), (9, 20), " init=")  # `dense 10 softmax init=`, mid-typing
    assert [d.code for d in push.diagnostics(uri)] == ["E100"]
    symbols = push.call(
        push.client.text_document_document_symbol_async,
        types.DocumentSymbolParams(text_document=_doc(uri)),
    )
    assert [s.name for s in symbols] == ["mnist_cnn", "data mnist", "train"]


def _apply(text: str, edits: list[types.TextEdit]) -> str:
    lines = text.splitlines(keepends=True)

    def offset(pos: types.Position) -> int:
        return sum(len(line) for line in lines[: pos.line]) + pos.character

    for edit in sorted(edits, key=lambda e: offset(e.range.start), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


def _actions(session: Session, uri: str, text: str) -> list[types.CodeAction]:
    session.open(uri, text)
    diags = session.diagnostics(uri)
    whole = types.Range(
        start=types.Position(line=0, character=0),
        end=types.Position(line=len(text.splitlines()), character=0),
    )
    params = types.CodeActionParams(
        text_document=_doc(uri), range=whole, context=types.CodeActionContext(diagnostics=diags)
    )
    return list(session.call(session.client.text_document_code_action_async, params) or [])


def test_quick_fix_adds_flatten_and_the_result_checks_clean(push: Session, uri: str) -> None:
    text = (FIXTURES / "missing_flatten.nn").read_text()
    (action,) = _actions(push, uri, text)
    assert action.title == "Add `flatten` before `dense`"
    assert action.is_preferred is True and action.data["safe"] is True
    fixed = _apply(text, action.edit.changes[uri])
    assert "    maxpool2d 2\n    flatten\n    dense 10 softmax\n" in fixed
    assert analyze(fixed).diagnostics == []


def test_did_you_mean_fixes_apply_and_the_result_checks_clean(push: Session, uri: str) -> None:
    text = (FIXTURES / "typos.nn").read_text()
    actions = _actions(push, uri, text)
    assert [a.title for a in actions] == [
        "Replace `flaten` with `flatten`",
        "Replace `activaton` with `activation`",
        "Replace `glorot_unifrm` with `glorot_uniform`",
        "Replace `adma` with `adam`",
    ]
    assert all(a.is_preferred for a in actions)
    edits = [edit for a in actions for edit in a.edit.changes[uri]]
    fixed = _apply(text, edits)
    # `dense 128 relu activation=relu` gives the activation twice: the fix exposes that.
    assert [d.code for d in analyze(fixed).diagnostics] == ["E203"]
    assert analyze(fixed.replace(" activation=relu", "")).diagnostics == []


def test_units_fix_matches_the_class_count_and_is_not_automatic(push: Session, uri: str) -> None:
    text = (FIXTURES / "wrong_units.nn").read_text()
    (action,) = _actions(push, uri, text)
    assert action.title == "Set the last layer's units to 10 (the number of classes)"
    assert action.is_preferred is False and action.data["safe"] is False
    fixed = _apply(text, action.edit.changes[uri])
    assert "    dense 10 softmax\n" in fixed
    assert analyze(fixed).diagnostics == []


def test_formatting_uses_the_specc_fmt_layout(push: Session, uri: str) -> None:
    messy = "model m{\ninput 8\n  dense 4   relu # four\n      dense 1}\ndata synthetic binary features=8\ntrain { loss binary_crossentropy; epochs 1 }\n"
    push.open(uri, messy)
    params = types.DocumentFormattingParams(
        text_document=_doc(uri), options=types.FormattingOptions(tab_size=4, insert_spaces=True)
    )
    edits = push.call(push.client.text_document_formatting_async, params)
    assert _apply(messy, edits) == format_text(messy)
    assert _apply(messy, edits) != messy


def test_formatting_refuses_text_with_syntax_errors(push: Session, uri: str) -> None:
    push.open(uri, (FIXTURES / "syntax.nn").read_text())
    params = types.DocumentFormattingParams(
        text_document=_doc(uri), options=types.FormattingOptions(tab_size=4, insert_spaces=True)
    )
    assert not push.call(push.client.text_document_formatting_async, params)
    assert any("syntax errors" in m.message for m in push.messages)


def test_outline_lists_models_blocks_and_layers(push: Session, uri: str) -> None:
    push.open(uri, CNN)
    symbols = push.call(
        push.client.text_document_document_symbol_async,
        types.DocumentSymbolParams(text_document=_doc(uri)),
    )
    assert [(s.name, s.kind) for s in symbols] == [
        ("mnist_cnn", types.SymbolKind.Class),
        ("data mnist", types.SymbolKind.Module),
        ("train", types.SymbolKind.Module),
    ]
    model = symbols[0]
    assert model.detail == "1x28x28 → 10, 34,826 parameters"
    assert [c.name for c in model.children] == [
        "input",
        "conv2d_1",
        "maxpool2d_1",
        "conv2d_2",
        "maxpool2d_2",
        "flatten_1",
        "dropout_1",
        "dense_1",
    ]
    assert model.children[1].detail == "conv2d 32 3 relu → 32x26x26"


def test_definition_of_a_referenced_model(push: Session, uri: str) -> None:
    text, position = cursor(
        "model base { input 8; dense 1 }\nmodel big { input 8; dense 1 }\n"
        "data synthetic binary features=8\ntrain {\n    model b|ig\n    loss mse\n}\n"
    )
    push.open(uri, text)
    params = types.DefinitionParams(text_document=_doc(uri), position=position)
    location = push.call(push.client.text_document_definition_async, params)
    assert location.uri == uri
    assert location.range == types.Range(
        start=types.Position(line=1, character=6), end=types.Position(line=1, character=9)
    )


def test_definition_of_a_run_reference(push: Session, tmp_path: Path) -> None:
    run = tmp_path / "runs" / "mlp-1"
    run.mkdir(parents=True)
    (run / "spec.nn").write_text("model mlp { input 8; dense 1 }\n")
    uri = (tmp_path / "finetune.nn").as_uri()
    text, position = cursor(
        'model ft {\n    init from "runs/m|lp-1"\n    input 8\n    dense 1\n}\n'
    )
    push.open(uri, text)
    params = types.DefinitionParams(text_document=_doc(uri), position=position)
    location = push.call(push.client.text_document_definition_async, params)
    assert location.uri == (run / "spec.nn").as_uri()


def test_input_fix_fits_the_data_and_is_not_automatic(push: Session, uri: str) -> None:
    text = (ROOT / "specs" / "quickstart.nn").read_text().replace("input 28x28", "input 32x32")
    (action,) = _actions(push, uri, text)
    assert action.title == "Change the input to `input 1x28x28` to fit the data"
    assert action.is_preferred is False
    assert analyze(_apply(text, action.edit.changes[uri])).diagnostics == []


GRAPH = """model two {
    input image 1x8x8
    input meta 4
    branch img from=image {
        conv2d 4 3 padding=same relu
        residual {
            conv2d 4 3 padding=same; batchnorm
        }
        parallel concat {
            branch { conv2d 2 1 }
            branch { maxpool2d 3 stride=1; conv2d 3 3 padding=2 }
        }
        global_avgpool
    }
    branch tab from=meta { dense 3 relu }
    concat img tab
    dense 2
}
data npz "x.npz"
train { loss sparse_categorical_crossentropy }
"""


@pytest.mark.parametrize(
    ("marked", "present", "absent"),
    [
        (GRAPH.replace("concat img tab", "concat img |"), ["image", "meta", "img", "tab"], []),
        (GRAPH.replace("branch tab from=meta", "branch tab from=|"), ["image", "meta", "img"], []),
        (GRAPH.replace("    concat img tab\n", "    |\n"), ["residual", "parallel", "branch"], []),
    ],
)
def test_completion_offers_value_names_and_graph_blocks(
    push: Session, uri: str, marked: str, present: list[str], absent: list[str]
) -> None:
    labels = _labels(push, uri, marked)
    assert set(present) <= set(labels), labels


def test_inlay_hints_inside_blocks_and_at_merges(push: Session, uri: str) -> None:
    push.open(uri, GRAPH)
    hints = {(line, label) for line, _, label in _hints(push, uri, GRAPH)}
    assert {
        (4, "→ 4x8x8"),  # conv2d inside the branch
        (6, "→ 4x8x8"),  # batchnorm inside the residual body
        (7, "→ 4x8x8"),  # the residual block as a whole (after its closing brace)
        (9, "→ 2x8x8"),  # first parallel branch
        (10, "→ 3x8x8"),  # second parallel branch (pool 6x6, padded conv back to 8x8)
        (11, "→ 5x8x8"),  # the concat closing the parallel block
        (13, "→ 5"),  # global_avgpool
        (14, "→ 3"),  # the tab branch
        (15, "→ 8"),  # concat img tab
        (16, "→ 2"),
    } <= hints, sorted(hints)


def test_outline_nests_blocks_and_names_merges(push: Session, uri: str) -> None:
    push.open(uri, GRAPH)
    symbols = push.call(
        push.client.text_document_document_symbol_async,
        types.DocumentSymbolParams(text_document=_doc(uri)),
    )
    model = symbols[0]
    assert [c.name for c in model.children] == [
        "input",
        "input",
        "img",
        "tab",
        "concat_1",
        "dense_2",
    ]
    img = model.children[2]
    assert [c.name for c in img.children] == [
        "conv2d_1",
        "residual_1",
        "parallel_1",
        "global_avgpool_1",
    ]
    residual, parallel = img.children[1], img.children[2]
    assert [c.name for c in residual.children] == ["conv2d_2", "batchnorm_1"]
    assert residual.detail == "residual → 4x8x8"
    assert parallel.detail == "parallel concat → 5x8x8"
    assert [len(b.children) for b in parallel.children] == [1, 2]


OUTPUTS = (Path(__file__).resolve().parents[2] / "specs" / "two_outputs.nn").read_text()


def test_outline_shows_output_blocks(push: Session, uri: str) -> None:
    push.open(uri, OUTPUTS)
    symbols = push.call(
        push.client.text_document_document_symbol_async,
        types.DocumentSymbolParams(text_document=_doc(uri)),
    )
    model = symbols[0]
    assert model.detail == "16 → kind 6, big 1, 3,911 parameters"
    assert [c.name for c in model.children] == ["input", "dense_1", "dense_2", "kind", "big"]
    kind, big = model.children[3], model.children[4]
    assert [c.name for c in kind.children] == ["dense_3"]
    assert [c.name for c in big.children] == ["dense_4", "dense_5"]
    assert big.detail == "output big → 1"
    train = symbols[2]
    assert [c.name for c in train.children][:2] == ["output kind", "output big"]


def test_completion_offers_output_names_in_train(push: Session, uri: str) -> None:
    marked = OUTPUTS.replace("    output big {\n        loss", "    output |big {\n        loss")
    assert marked != OUTPUTS
    assert _labels(push, uri, marked) == ["kind", "big"]
