"""`specc lsp`: the language server (pygls 2, stdio). Thin wiring: every handler reads the
document's latest `specc.analysis.analyze` result (specc/lsp/documents.py) and calls one
small module (completion, hover, symbols, actions), so the server and `specc check` share
one checker.

Diagnostics: clients that support pull diagnostics (LSP 3.17 `textDocument/diagnostic`)
ask for them; the server pushes `textDocument/publishDiagnostics` to the others after each
open and change. Either way the text is analysed once per change, when it arrives.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from specc import __version__
from specc.lsp import actions, completion, hover, symbols, tokens
from specc.lsp.convert import to_lsp
from specc.lsp.documents import DocState, Documents


class SpeccServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("specc", __version__)
        self.documents = Documents()

    @property
    def pulls_diagnostics(self) -> bool:
        caps = self.client_capabilities.text_document
        return caps is not None and caps.diagnostic is not None

    @property
    def encoding(self) -> str:
        return str(self.server_capabilities.position_encoding or types.PositionEncodingKind.Utf16)

    def refresh(self, uri: str) -> DocState:
        """Re-analyse a document from the workspace's current text (edits already applied)."""
        doc = self.workspace.get_text_document(uri)
        path = to_fs_path(uri) or uri
        state = self.documents.update(uri, doc.source, doc.version, path, self.encoding)
        if not self.pulls_diagnostics:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(
                    uri=uri, version=doc.version, diagnostics=lsp_diagnostics(state)
                )
            )
        return state

    def state(self, uri: str) -> DocState | None:
        """The document's latest analysis (made now if it was never analysed)."""
        return self.documents.get(uri) or (
            self.refresh(uri) if uri in self.workspace.text_documents else None
        )


def lsp_diagnostics(state: DocState) -> list[types.Diagnostic]:
    return [to_lsp(d, state.index, state.uri) for d in state.analysis.diagnostics]


def build_server() -> SpeccServer:
    """A server with every feature registered (a fresh one per call, for tests)."""
    server = SpeccServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpeccServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: SpeccServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.refresh(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpeccServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.documents.close(params.text_document.uri)
        if not ls.pulls_diagnostics:
            ls.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[])
            )

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="specc", inter_file_dependencies=False, workspace_diagnostics=False
        ),
    )
    def diagnostic(
        ls: SpeccServer, params: types.DocumentDiagnosticParams
    ) -> types.RelatedFullDocumentDiagnosticReport:
        state = ls.state(params.text_document.uri)
        items = lsp_diagnostics(state) if state else []
        return types.RelatedFullDocumentDiagnosticReport(items=items)

    @server.feature(
        types.TEXT_DOCUMENT_COMPLETION,
        types.CompletionOptions(trigger_characters=["=", " "]),
    )
    def complete(ls: SpeccServer, params: types.CompletionParams) -> types.CompletionList:
        state = ls.state(params.text_document.uri)
        items = completion.complete(state, params.position) if state else []
        return types.CompletionList(is_incomplete=False, items=items)

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def on_hover(ls: SpeccServer, params: types.HoverParams) -> types.Hover | None:
        state = ls.state(params.text_document.uri)
        if state is None:
            return None
        found = hover.hover(state, params.position)
        if found is None and state.parsed is not None:
            found = hover.hover(state.parsed, params.position)
        return found

    @server.feature(types.TEXT_DOCUMENT_INLAY_HINT)
    def inlay(ls: SpeccServer, params: types.InlayHintParams) -> list[types.InlayHint]:
        state = ls.state(params.text_document.uri)
        return symbols.inlay_hints(state.shapes, params.range) if state else []

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )
    def code_action(ls: SpeccServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        state = ls.state(params.text_document.uri)
        return actions.code_actions(state, params.text_document.uri, params.range) if state else []

    @server.feature(types.TEXT_DOCUMENT_FORMATTING)
    def formatting(
        ls: SpeccServer, params: types.DocumentFormattingParams
    ) -> list[types.TextEdit] | None:
        state = ls.state(params.text_document.uri)
        return format_edits(ls, state) if state else None

    @server.feature(types.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
    def outline(ls: SpeccServer, params: types.DocumentSymbolParams) -> list[types.DocumentSymbol]:
        state = ls.state(params.text_document.uri)
        return symbols.document_symbols(state.outline) if state else []

    @server.feature(types.TEXT_DOCUMENT_DEFINITION)
    def definition(ls: SpeccServer, params: types.DefinitionParams) -> types.Location | None:
        state = ls.state(params.text_document.uri)
        return (
            symbols.definition(state, params.position, params.text_document.uri) if state else None
        )

    @server.feature(
        types.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL,
        types.SemanticTokensRegistrationOptions(legend=tokens.LEGEND, full=True, range=True),
    )
    def semantic_tokens(
        ls: SpeccServer, params: types.SemanticTokensParams
    ) -> types.SemanticTokens:
        state = ls.state(params.text_document.uri)
        return types.SemanticTokens(data=state.tokens() if state else [])

    @server.feature(types.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE)
    def semantic_tokens_range(
        ls: SpeccServer, params: types.SemanticTokensRangeParams
    ) -> types.SemanticTokens:
        state = ls.state(params.text_document.uri)
        if state is None:
            return types.SemanticTokens(data=[])
        start, end = state.index.offset(params.range.start), state.index.offset(params.range.end)
        return types.SemanticTokens(data=state.tokens(start, end))

    return server


def format_edits(ls: SpeccServer, state: DocState) -> list[types.TextEdit] | None:
    """The `specc fmt` layout as one whole-document edit; nothing while there are syntax
    errors (the formatter refuses to guess), with a message saying why."""
    from specc.fmt import FormatError, format_text

    text = state.analysis.text
    try:
        formatted = format_text(text)
    except FormatError as err:
        ls.window_show_message(
            types.ShowMessageParams(type=types.MessageType.Warning, message=f"specc: {err}")
        )
        return None
    if formatted == text:
        return []
    whole = types.Range(start=state.index.position(0), end=state.index.position(len(text)))
    return [types.TextEdit(range=whole, new_text=formatted)]


def serve(**kwargs: Any) -> None:
    """Run the server over stdio until the client exits."""
    build_server().start_io(**kwargs)
