"""Names, structure and commands, asked of a real `specc lsp` over stdio: references,
highlights and rename of model and layer names, folding ranges, document links,
signature help, hovers on positional values, code lenses with their commands, and
`source.fixAll`."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsp_client import FIXTURES, Session
from lsprotocol import types
from marked import cursor
from pygls.exceptions import JsonRpcException

from specc.analysis import analyze

ROOT = Path(__file__).resolve().parents[2]
CNN = (ROOT / "specs" / "cnn.nn").read_text()
TWO_MODELS = (
    "model base { input 8; dense 4 name=hidden; dense 1 }\n"
    "model big { input 8; dense 4 name=hidden; dense 1 }\n"
    "data synthetic binary features=8\n"
    "train {\n    model base\n    loss binary_crossentropy\n}\n"
)


def _doc(uri: str) -> types.TextDocumentIdentifier:
    return types.TextDocumentIdentifier(uri=uri)


def _at(line: int, character: int) -> types.Position:
    return types.Position(line=line, character=character)


def _spans(ranges: list[types.Range]) -> list[tuple[int, int, int]]:
    return [(r.start.line, r.start.character, r.end.character) for r in ranges]


def test_references_of_a_model_name(push: Session, uri: str) -> None:
    push.open(uri, TWO_MODELS)
    for include in (True, False):
        params = types.ReferenceParams(
            text_document=_doc(uri),
            position=_at(4, 11),  # `model ba|se` in train
            context=types.ReferenceContext(include_declaration=include),
        )
        found = push.call(push.client.text_document_references_async, params)
        assert {loc.uri for loc in found} == {uri}
        expected = [(0, 6, 10), (4, 10, 14)] if include else [(4, 10, 14)]
        assert _spans([loc.range for loc in found]) == expected


def test_highlights_mark_the_definition_as_written(push: Session, uri: str) -> None:
    push.open(uri, TWO_MODELS)
    params = types.DocumentHighlightParams(text_document=_doc(uri), position=_at(0, 7))
    found = push.call(push.client.text_document_document_highlight_async, params)
    assert [(h.range.start.line, h.kind) for h in found] == [
        (0, types.DocumentHighlightKind.Write),
        (4, types.DocumentHighlightKind.Read),
    ]


def _rename(session: Session, uri: str, position: types.Position, name: str) -> types.WorkspaceEdit:
    params = types.RenameParams(text_document=_doc(uri), position=position, new_name=name)
    return session.call(session.client.text_document_rename_async, params)


def test_renaming_a_model_edits_its_definition_and_references(push: Session, uri: str) -> None:
    push.open(uri, TWO_MODELS)
    prepare = types.PrepareRenameParams(text_document=_doc(uri), position=_at(4, 12))
    assert _spans([push.call(push.client.text_document_prepare_rename_async, prepare)]) == [
        (4, 10, 14)
    ]
    edit = _rename(push, uri, _at(4, 12), "small")
    assert _spans([e.range for e in edit.changes[uri]]) == [(0, 6, 10), (4, 10, 14)]
    assert {e.new_text for e in edit.changes[uri]} == {"small"}
    renamed = TWO_MODELS.replace("model base", "model small")
    assert analyze(renamed).diagnostics == []


def test_renaming_a_layer_stays_inside_its_model(push: Session, uri: str) -> None:
    push.open(uri, TWO_MODELS)
    edit = _rename(push, uri, _at(1, 38), "features")  # `name=hid|den` in `big`
    assert _spans([e.range for e in edit.changes[uri]]) == [(1, 34, 40)]


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("2fast", "`2fast` is not a name"),
        ("big", "there is already a model named `big`"),
    ],
)
def test_a_rename_that_would_break_the_spec_is_refused(
    push: Session, uri: str, name: str, message: str
) -> None:
    push.open(uri, TWO_MODELS)
    with pytest.raises(JsonRpcException, match=message):
        _rename(push, uri, _at(0, 7), name)


def test_nothing_to_rename_on_a_keyword(push: Session, uri: str) -> None:
    push.open(uri, TWO_MODELS)
    prepare = types.PrepareRenameParams(text_document=_doc(uri), position=_at(0, 2))
    assert push.call(push.client.text_document_prepare_rename_async, prepare) is None


def test_folding_ranges_cover_blocks_and_comment_runs(push: Session, uri: str) -> None:
    push.open(uri, "# one\n# two\n" + CNN)
    params = types.FoldingRangeParams(text_document=_doc(uri))
    found = push.call(push.client.text_document_folding_range_async, params)
    assert [(r.start_line, r.end_line, r.kind) for r in found] == [
        (0, 2, types.FoldingRangeKind.Comment),  # the file's three comment lines
        (3, 11, None),  # model { ... } up to the line before its `}`
        (14, 17, None),  # data
        (20, 26, None),  # train
    ]


def test_document_links_open_runs_and_data_files(push: Session, tmp_path: Path) -> None:
    run = tmp_path / "runs" / "mlp-1"
    run.mkdir(parents=True)
    (run / "spec.nn").write_text("model mlp { input 8; dense 1 }\n")
    (tmp_path / "table.csv").write_text("a,b\n1,2\n")
    text = (
        'model ft {\n    init from "runs/mlp-1"\n    input 1\n    dense 1\n}\n'
        'data csv {\n    path "table.csv"\n    target b\n}\n'
        'data csv {\n    path "missing.csv"\n}\n'
    )
    uri = (tmp_path / "links.nn").as_uri()
    push.open(uri, text)
    params = types.DocumentLinkParams(text_document=_doc(uri))
    found = push.call(push.client.text_document_document_link_async, params)
    assert [(link.range.start.line, link.target) for link in found] == [
        (1, (run / "spec.nn").as_uri()),
        (6, (tmp_path / "table.csv").as_uri()),
    ]


def _signature(session: Session, uri: str, marked: str) -> types.SignatureHelp:
    text, position = cursor(marked)
    session.open(uri, text)
    params = types.SignatureHelpParams(text_document=_doc(uri), position=position)
    return session.call(session.client.text_document_signature_help_async, params)


def test_signature_help_shows_the_statement_and_the_argument_being_written(
    push: Session, uri: str
) -> None:
    help_ = _signature(push, uri, "model m {\n    input 1x8x8\n    conv2d 32 |\n}\n")
    (signature,) = help_.signatures
    assert signature.label.startswith("conv2d <filters> <kernel> <activation> name=… [frozen]")
    assert "padding=…" in signature.label
    active = signature.parameters[help_.active_parameter]
    start, end = active.label
    assert signature.label[start:end] == "<kernel>"
    assert active.documentation.value.startswith("**kernel**")


def test_signature_help_of_a_kind_picked_by_its_first_word(push: Session, uri: str) -> None:
    help_ = _signature(push, uri, "train {\n    optimizer adam lr=|\n}\n")
    (signature,) = help_.signatures
    assert signature.label.startswith("optimizer adam lr=… weight_decay=…")
    start, end = signature.parameters[help_.active_parameter].label
    assert signature.label[start:end] == "lr=…"


def test_hover_on_a_positional_number_names_the_field_it_fills(push: Session, uri: str) -> None:
    text, position = cursor(CNN.replace("conv2d 64 3", "conv2d 6|4 3"))
    push.open(uri, text)
    params = types.HoverParams(text_document=_doc(uri), position=position)
    hover = push.call(push.client.text_document_hover_async, params)
    assert hover.contents.value == "**filters**: `int (required)`\n\nNumber of output channels."
    text, position = cursor(CNN.replace("input 1x28x28", "input 1x2|8x28"))
    push.open(uri, text)
    params = types.HoverParams(text_document=_doc(uri), position=position)
    hover = push.call(push.client.text_document_hover_async, params)
    assert hover.contents.value.startswith("**shape**")


def test_code_lenses_run_check_summary_and_emit(push: Session, tmp_path: Path) -> None:
    uri = (tmp_path / "cnn.nn").as_uri()
    push.open(uri, CNN)
    lenses = push.call(
        push.client.text_document_code_lens_async, types.CodeLensParams(text_document=_doc(uri))
    )
    assert [(lens.range.start.line, lens.command.title) for lens in lenses] == [
        (1, "check"),
        (1, "summary"),
        (1, "emit pytorch"),
    ]
    commands = push.capabilities.execute_command_provider.commands
    assert set(commands) == {"specc.check", "specc.summary", "specc.emit"}

    def run(lens: types.CodeLens) -> dict:
        params = types.ExecuteCommandParams(
            command=lens.command.command, arguments=lens.command.arguments
        )
        return push.call(push.client.workspace_execute_command_async, params)

    checked = run(lenses[0])
    assert (checked["errors"], checked["warnings"]) == (0, 0)
    assert push.messages[-1].message == "specc check cnn.nn: 0 error(s), 0 warning(s)"
    summary = run(lenses[1])
    assert summary["message"] == "mnist_cnn: 34,826 parameters"
    assert "conv2d_2         conv2d       64x11x11           18,496" in push.logs[-1].message
    emitted = run(lenses[2])
    script = tmp_path / "mnist_cnn_pytorch.py"
    assert emitted["path"] == str(script)
    assert "import torch" in script.read_text()
    assert push.shown[-1].uri == script.as_uri()


def test_a_command_on_a_spec_with_errors_says_so(push: Session, uri: str) -> None:
    push.open(uri, (FIXTURES / "missing_flatten.nn").read_text())
    params = types.ExecuteCommandParams(command="specc.summary", arguments=[uri, "cnn"])
    with pytest.raises(JsonRpcException, match=r"the spec has 1 error\(s\): fix them first"):
        push.call(push.client.workspace_execute_command_async, params)


def test_fix_all_applies_every_safe_fix_at_once(push: Session, uri: str) -> None:
    text = (FIXTURES / "typos.nn").read_text()
    push.open(uri, text)
    whole = types.Range(start=_at(0, 0), end=_at(len(text.splitlines()), 0))

    def ask(only: list[str] | None) -> list[types.CodeAction]:
        params = types.CodeActionParams(
            text_document=_doc(uri),
            range=whole,
            context=types.CodeActionContext(diagnostics=[], only=only),
        )
        return list(push.call(push.client.text_document_code_action_async, params))

    (fix_all,) = ask([types.CodeActionKind.SourceFixAll])
    assert fix_all.kind == types.CodeActionKind.SourceFixAll
    assert fix_all.title == "Fix all safe problems (4)"
    assert not [a for a in ask(None) if a.kind == types.CodeActionKind.SourceFixAll]
    fixed = text
    for edit in sorted(
        fix_all.edit.changes[uri], key=lambda e: (e.range.start.line, e.range.start.character)
    )[::-1]:
        lines = fixed.split("\n")
        line = lines[edit.range.start.line]
        lines[edit.range.start.line] = (
            line[: edit.range.start.character] + edit.new_text + line[edit.range.end.character :]
        )
        fixed = "\n".join(lines)
    assert [d.code for d in analyze(fixed).diagnostics] == ["E203"]  # as the quick fixes


def test_the_server_advertises_what_docs_editors_md_promises(push: Session) -> None:
    caps = push.capabilities
    assert caps.text_document_sync.save.include_text is True  # save resyncs a lost file
    assert caps.semantic_tokens_provider.full and caps.semantic_tokens_provider.range
    assert list(caps.signature_help_provider.trigger_characters) == [" "]
    assert set(caps.completion_provider.trigger_characters) == {"=", " "}
    assert caps.rename_provider  # with prepareRename for clients that support it
    assert set(caps.code_action_provider.code_action_kinds) == {"quickfix", "source.fixAll"}
    for provider in (
        caps.hover_provider,
        caps.inlay_hint_provider,
        caps.definition_provider,
        caps.references_provider,
        caps.document_highlight_provider,
        caps.document_symbol_provider,
        caps.folding_range_provider,
        caps.document_link_provider,
        caps.code_lens_provider,
        caps.document_formatting_provider,
        caps.diagnostic_provider,
    ):
        assert provider


def test_emit_needs_a_saved_spec(push: Session) -> None:
    uri = "untitled:Untitled-1"
    push.open(uri, CNN)
    params = types.ExecuteCommandParams(
        command="specc.emit", arguments=[uri, "mnist_cnn", "pytorch"]
    )
    with pytest.raises(JsonRpcException, match="save the spec to a file first"):
        push.call(push.client.workspace_execute_command_async, params)


TOWERS = """model towers {
    input image 1x8x8
    input meta 4
    branch img from=image { conv2d 2 3; global_avgpool }
    branch tab from=meta { dense 2 name=hidden }
    concat img tab
    dense 2
    add hidden
}
data npz "x.npz"
train { loss sparse_categorical_crossentropy }
"""


def test_renaming_a_branch_renames_the_merges_that_read_it(push: Session, uri: str) -> None:
    push.open(uri, TOWERS)
    edit = _rename(push, uri, _at(5, 12), "picture")  # `concat img| tab`
    assert _spans([e.range for e in edit.changes[uri]]) == [(3, 11, 14), (5, 11, 14)]
    renamed = TOWERS.replace("branch img", "branch picture").replace("concat img", "concat picture")
    assert [d.code for d in analyze(renamed).errors] == []


def test_renaming_an_input_renames_its_from(push: Session, uri: str) -> None:
    push.open(uri, TOWERS)
    edit = _rename(push, uri, _at(2, 11), "features")  # `input me|ta 4`
    assert _spans([e.range for e in edit.changes[uri]]) == [(2, 10, 14), (4, 20, 24)]


def test_references_of_a_named_layer_include_the_merge_reading_it(push: Session, uri: str) -> None:
    push.open(uri, TOWERS)
    params = types.ReferenceParams(
        text_document=_doc(uri),
        position=_at(7, 9),  # `add hid|den`
        context=types.ReferenceContext(include_declaration=True),
    )
    found = push.call(push.client.text_document_references_async, params)
    assert _spans([loc.range for loc in found]) == [(4, 40, 46), (7, 8, 14)]
