"""`specc lsp`: the language server (pygls 2, stdio). Thin wiring: every handler reads the
document's latest `specc.analysis.analyze` result (specc/lsp/documents.py) and calls one
small module (completion, hover, symbols, actions), so the server and `specc check` share
one checker.

Diagnostics: clients that support pull diagnostics (LSP 3.17 `textDocument/diagnostic`)
ask for them; the server pushes `textDocument/publishDiagnostics` to the others after each
open and burst of changes. Either way a burst of edits is analysed once, shortly after the
last one or as soon as a request needs the current text (specc/lsp/sync.py), and edits
are applied in version order.
"""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from specc import __version__
from specc.lsp import actions, completion, hover, symbols, tokens
from specc.lsp.convert import to_lsp
from specc.lsp.documents import DocState, Documents
from specc.lsp.sync import HOLD_SECONDS, Debouncer, OutOfOrder, VersionGate, gc_paused

_UNANSWERABLE = object()  # a request already answered with an error while being read


class SpeccProtocol(LanguageServerProtocol):
    """pygls's protocol, with two changes: edits go through the server's version gate
    instead of straight into the workspace, and a request whose params do not fit the
    protocol (wrong types, `params: null`, negative positions) is answered with an
    InvalidParams error instead of being dropped (the client would wait forever)."""

    _server: SpeccServer

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: types.DidChangeTextDocumentParams) -> None:
        self._server.receive_change(params)

    def structure_message(self, data: dict[str, Any]) -> Any:
        try:
            return super().structure_message(data)
        except JsonRpcException as err:
            if "jsonrpc" in data and "id" in data and "method" in data:
                error = types.ResponseError(
                    code=types.ErrorCodes.InvalidParams,
                    message=f"invalid params for {data['method']}: {err.message or err}",
                )
                self._send_response(data["id"], error=error)
                return _UNANSWERABLE
            raise

    def handle_message(self, message: Any) -> None:
        if message is not _UNANSWERABLE:
            super().handle_message(message)


class SpeccServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__("specc", __version__, protocol_cls=SpeccProtocol)
        self.documents = Documents()
        self.gates: dict[str, VersionGate] = {}
        self.lost: dict[str, str] = {}  # uri -> why the server's copy cannot be trusted
        self.debounce = Debouncer(self.refresh)

    @property
    def pulls_diagnostics(self) -> bool:
        caps = self.client_capabilities.text_document
        return caps is not None and caps.diagnostic is not None

    @property
    def encoding(self) -> str:
        return str(self.server_capabilities.position_encoding or types.PositionEncodingKind.Utf16)

    def opened(self, uri: str, version: int | None) -> None:
        """A whole text arrived (open, or save with text): the copy is right again."""
        self.gates[uri] = VersionGate(version)
        self.lost.pop(uri, None)
        self.debounce.cancel(uri)
        self.refresh(uri)

    def receive_change(self, params: types.DidChangeTextDocumentParams) -> None:
        uri, version = params.text_document.uri, params.text_document.version
        if uri in self.lost or uri not in self.workspace.text_documents:
            return
        gate = self.gates.setdefault(uri, VersionGate(None))
        try:
            ready = gate.offer(version, params.content_changes)
        except OutOfOrder as err:
            self.lose(uri, err)
            return
        if gate.held:
            asyncio.get_running_loop().call_later(HOLD_SECONDS, self._release_held, uri)
        if ready:
            self._apply(uri, ready)

    def _release_held(self, uri: str) -> None:
        gate = self.gates.get(uri)
        if gate is not None and gate.held and uri not in self.lost:
            self._apply(uri, gate.release_all())

    def _apply(self, uri: str, ready: list[tuple[int | None, Any]]) -> None:
        for version, changes in ready:
            ident = types.VersionedTextDocumentIdentifier(uri=uri, version=version or 0)
            for change in changes:
                self.workspace.update_text_document(ident, change)
        self.debounce.schedule(uri)

    def lose(self, uri: str, err: OutOfOrder) -> None:
        """Edits came out of order: stop answering from a text that may be wrong."""
        self.lost[uri] = (
            f"specc lost track of this file's edits (the editor sent version {err.version} "
            f"after version {err.current}); save the file, "
            "or close and reopen it, to show its diagnostics again"
        )
        self.debounce.cancel(uri)
        self.documents.close(uri)
        self.publish(uri, [self.lost_diagnostic(uri)])

    def lost_diagnostic(self, uri: str) -> types.Diagnostic:
        start = types.Position(line=0, character=0)
        return types.Diagnostic(
            range=types.Range(start=start, end=start),
            message=self.lost[uri],
            severity=types.DiagnosticSeverity.Warning,
            source="specc",
        )

    def publish(
        self, uri: str, diagnostics: list[types.Diagnostic], version: int | None = None
    ) -> None:
        if not self.pulls_diagnostics:
            self.text_document_publish_diagnostics(
                types.PublishDiagnosticsParams(uri=uri, version=version, diagnostics=diagnostics)
            )

    def refresh(self, uri: str) -> DocState | None:
        """Re-analyse a document from the workspace's current text (edits already applied)."""
        if uri in self.lost or uri not in self.workspace.text_documents:
            return None
        doc = self.workspace.get_text_document(uri)
        path = to_fs_path(uri) or uri
        with gc_paused():
            state = self.documents.update(uri, doc.source, doc.version, path, self.encoding)
        self.publish(uri, lsp_diagnostics(state), doc.version)
        return state

    def state(self, uri: str) -> DocState | None:
        """The analysis of the document's current text: a pending one runs now."""
        gate = self.gates.get(uri)
        if gate is not None and gate.held:
            self._release_held(uri)
        self.debounce.flush(uri)
        return self.documents.get(uri) or self.refresh(uri)


def lsp_diagnostics(state: DocState) -> list[types.Diagnostic]:
    return [to_lsp(d, state.index, state.uri) for d in state.analysis.diagnostics]


def build_server() -> SpeccServer:
    """A server with every feature registered (a fresh one per call, for tests)."""
    server = SpeccServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: SpeccServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.opened(params.text_document.uri, params.text_document.version)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=True))
    def did_save(ls: SpeccServer, params: types.DidSaveTextDocumentParams) -> None:
        uri = params.text_document.uri
        if params.text is None or uri not in ls.workspace.text_documents:
            return
        doc = ls.workspace.get_text_document(uri)
        if params.text != doc.source:  # the copy had drifted: take the editor's text
            gate = ls.gates.get(uri)
            version = max(filter(None, (doc.version, gate.version if gate else None)), default=0)
            item = types.TextDocumentItem(
                uri=uri, language_id=doc.language_id or "specc", version=version, text=params.text
            )
            ls.workspace.put_text_document(item)
            ls.opened(uri, version)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: SpeccServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.documents.close(uri)
        ls.debounce.forget(uri)
        ls.gates.pop(uri, None)
        ls.lost.pop(uri, None)
        ls.publish(uri, [])

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="specc", inter_file_dependencies=False, workspace_diagnostics=False
        ),
    )
    def diagnostic(
        ls: SpeccServer, params: types.DocumentDiagnosticParams
    ) -> types.RelatedFullDocumentDiagnosticReport:
        uri = params.text_document.uri
        state = ls.state(uri)
        items = lsp_diagnostics(state) if state else []
        if uri in ls.lost:
            items = [ls.lost_diagnostic(uri)]
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
    except (FormatError, RuntimeError) as err:  # RuntimeError: the formatter's self-check
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
    server = build_server()
    # Everything imported so far lives as long as the process: keep it out of the
    # collector's full passes, which then only walk the documents' objects.
    gc.freeze()
    server.start_io(**kwargs)
