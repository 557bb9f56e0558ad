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
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from specc import __version__
from specc.lsp.sync import HOLD_SECONDS, Debouncer, OutOfOrder, VersionGate, gc_paused

if TYPE_CHECKING:
    from specc.lsp.documents import DocState, Documents

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
        self._documents: Documents | None = None
        self.gates: dict[str, VersionGate] = {}
        self.lost: dict[str, str] = {}  # uri -> why the server's copy cannot be trusted
        self.debounce = Debouncer(self.refresh)

    @property
    def documents(self) -> Documents:
        """The analyses of open documents (the checker is imported on first use, so the
        server answers `initialize` before paying for the IR)."""
        if self._documents is None:
            from specc.lsp.documents import Documents

            self._documents = Documents()
        return self._documents

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
    from specc.lsp.convert import to_lsp

    return [to_lsp(d, state.index, state.uri) for d in state.analysis.diagnostics]


def build_server() -> SpeccServer:
    """A server with every feature registered (a fresh one per call, for tests)."""
    from specc.lsp import features

    server = SpeccServer()
    features.register(server)

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

    return server


def serve(**kwargs: Any) -> None:
    """Run the server over stdio until the client exits."""
    server = build_server()
    # Everything imported so far lives as long as the process: keep it out of the
    # collector's full passes, which then only walk the documents' objects.
    gc.freeze()
    server.start_io(**kwargs)
