"""`specc lsp`: the language server (pygls 2, stdio). This module keeps each open
document in step with the editor (edits in version order, specc/lsp/sync.py) and its
analysis current (`specc.analysis.analyze`, run on a worker thread that drops stale
versions, specc/lsp/worker.py); the language features are in specc/lsp/features.py, each
calling one small module, so the server and `specc check` share one checker.

Diagnostics: clients that support pull diagnostics (LSP 3.17 `textDocument/diagnostic`)
ask for them; the server pushes `textDocument/publishDiagnostics` to the others after
each analysis. An edit cancels the analysis of the version before it, so a burst of
typing ends with the analysis of its last text; requests wait for the current one.
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
from specc.lsp.sync import HOLD_SECONDS, OutOfOrder, VersionGate, gc_paused
from specc.lsp.worker import Job, Worker

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
        self.worker = Worker()
        self.jobs: dict[str, Job] = {}  # uri -> its pending (queued or running) analysis

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
        self.schedule(uri)

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
        self.schedule(uri)

    def lose(self, uri: str, err: OutOfOrder) -> None:
        """Edits came out of order: stop answering from a text that may be wrong."""
        self.lost[uri] = (
            f"specc lost track of this file's edits (the editor sent version {err.version} "
            f"after version {err.current}); save the file, "
            "or close and reopen it, to show its diagnostics again"
        )
        self.cancel(uri)
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

    def schedule(self, uri: str) -> None:
        """Analyse the document's current text on the worker, dropping the analysis of an
        older version that is still queued or running (except a document's first one: the
        outline and hints fall back on it while later text does not parse)."""
        if self.documents.get(uri) is not None:
            self.cancel(uri)
        if uri in self.lost or uri not in self.workspace.text_documents:
            return
        doc = self.workspace.get_text_document(uri)
        text, version, path = doc.source, doc.version, to_fs_path(uri) or uri
        documents, encoding = self.documents, self.encoding

        def analyse() -> DocState:
            with gc_paused():
                return documents.update(uri, text, version, path, encoding)

        job = self.worker.submit(analyse)
        self.jobs[uri] = job
        job.future.add_done_callback(lambda _: self._analysed(uri, job))

    def cancel(self, uri: str) -> None:
        job = self.jobs.pop(uri, None)
        if job is not None:
            self.worker.cancel(job)

    def _analysed(self, uri: str, job: Job) -> None:
        if self.jobs.get(uri) is job:
            del self.jobs[uri]
        if job.future.cancelled() or uri in self.lost:
            return
        if uri not in self.workspace.text_documents:  # closed while it ran
            self.documents.close(uri)
            return
        state = job.future.result()
        self.publish(uri, lsp_diagnostics(state), state.version)

    async def state(self, uri: str) -> DocState | None:
        """The analysis of the document's current text (waits for a pending one)."""
        gate = self.gates.get(uri)
        if gate is not None and gate.held:
            self._release_held(uri)
        for _ in range(3):  # a newer edit may replace the job being waited for
            job = self.jobs.get(uri)
            if job is None:
                found = self.documents.get(uri)
                if found is not None or uri in self.lost:
                    return found
                if uri not in self.workspace.text_documents:
                    return None
                self.schedule(uri)
                job = self.jobs[uri]
            await asyncio.wait({job.future})
        return self.documents.get(uri)


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
        if params.text != doc.source or uri in ls.lost:  # drifted or lost: take the editor's text
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
        ls.cancel(uri)
        ls.documents.close(uri)
        ls.gates.pop(uri, None)
        ls.lost.pop(uri, None)
        ls.publish(uri, [])

    @server.feature(
        types.TEXT_DOCUMENT_DIAGNOSTIC,
        types.DiagnosticOptions(
            identifier="specc", inter_file_dependencies=False, workspace_diagnostics=False
        ),
    )
    async def diagnostic(
        ls: SpeccServer, params: types.DocumentDiagnosticParams
    ) -> types.RelatedFullDocumentDiagnosticReport:
        uri = params.text_document.uri
        state = await ls.state(uri)
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
