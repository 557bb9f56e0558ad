"""A real LSP client for the tests: `specc lsp` in a subprocess, driven over stdio by
pygls's own LanguageClient on an event loop in a background thread, so tests stay plain
synchronous functions."""

from __future__ import annotations

import asyncio
import sys
import threading
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

from lsprotocol import types
from pygls.lsp.client import LanguageClient
from pygls.uris import from_fs_path

T = TypeVar("T")
TIMEOUT = 30.0
FIXTURES = Path(__file__).resolve().parent / "fixtures"


def capabilities(pull: bool) -> types.ClientCapabilities:
    text = types.TextDocumentClientCapabilities(
        publish_diagnostics=types.PublishDiagnosticsClientCapabilities(related_information=True),
        diagnostic=types.DiagnosticClientCapabilities() if pull else None,
        hover=types.HoverClientCapabilities(content_format=[types.MarkupKind.Markdown]),
    )
    return types.ClientCapabilities(text_document=text)


class Session:
    """One server process; `uri()` names documents, `open/change` edit them."""

    def __init__(self, pull: bool, cwd: Path) -> None:
        self.pull = pull
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.published: dict[str, list[types.PublishDiagnosticsParams]] = {}
        self.messages: list[types.ShowMessageParams] = []
        self.logs: list[types.LogMessageParams] = []
        self.shown: list[types.ShowDocumentParams] = []
        self.changed = threading.Condition()
        self.versions: dict[str, int] = {}
        self.capabilities = types.ServerCapabilities()
        self.client = self.run(self._start(cwd))

    async def _start(self, cwd: Path) -> LanguageClient:
        client = LanguageClient("specc-tests", "1")

        @client.feature(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        def publish(params: types.PublishDiagnosticsParams) -> None:
            with self.changed:
                self.published.setdefault(params.uri, []).append(params)
                self.changed.notify_all()

        @client.feature(types.WINDOW_SHOW_MESSAGE)
        def show(params: types.ShowMessageParams) -> None:
            self.messages.append(params)

        @client.feature(types.WINDOW_LOG_MESSAGE)
        def log(params: types.LogMessageParams) -> None:
            self.logs.append(params)

        @client.feature(types.WINDOW_SHOW_DOCUMENT)
        def show_document(params: types.ShowDocumentParams) -> types.ShowDocumentResult:
            self.shown.append(params)
            return types.ShowDocumentResult(success=True)

        await client.start_io(
            sys.executable, "-m", "specc", "lsp", "--stdio", cwd=str(cwd)
        )  # as VS Code starts it
        result = await client.initialize_async(
            types.InitializeParams(
                capabilities=capabilities(self.pull), root_uri=from_fs_path(str(cwd))
            )
        )
        client.initialized(types.InitializedParams())
        self.capabilities = result.capabilities
        return client

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(TIMEOUT)

    def call(self, fn: Any, params: Any) -> Any:
        async def go() -> Any:
            return await fn(params)

        return self.run(go())

    def _notify(self, fn: Any, params: Any) -> None:
        self.loop.call_soon_threadsafe(fn, params)

    def open(self, uri: str, text: str) -> None:
        self.versions[uri] = 1
        item = types.TextDocumentItem(uri=uri, language_id="specc", version=1, text=text)
        self._notify(
            self.client.text_document_did_open, types.DidOpenTextDocumentParams(text_document=item)
        )

    def change(
        self,
        uri: str,
        start: tuple[int, int],
        end: tuple[int, int],
        text: str,
        version: int | None = None,
    ) -> None:
        """An incremental edit: replace the range (0-based line, character) with `text`,
        as the next version (or as `version`, to send versions out of order)."""
        self.versions[uri] = version if version is not None else self.versions[uri] + 1
        change = types.TextDocumentContentChangePartial(
            range=types.Range(
                start=types.Position(line=start[0], character=start[1]),
                end=types.Position(line=end[0], character=end[1]),
            ),
            text=text,
        )
        params = types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(
                uri=uri, version=self.versions[uri]
            ),
            content_changes=[change],
        )
        self._notify(self.client.text_document_did_change, params)

    def save(self, uri: str, text: str) -> None:
        params = types.DidSaveTextDocumentParams(
            text_document=types.TextDocumentIdentifier(uri=uri), text=text
        )
        self._notify(self.client.text_document_did_save, params)

    def diagnostics(self, uri: str) -> list[types.Diagnostic]:
        """The document's current diagnostics, pulled or pushed as the client declared."""
        if self.pull:
            params = types.DocumentDiagnosticParams(
                text_document=types.TextDocumentIdentifier(uri=uri)
            )
            report = self.call(self.client.text_document_diagnostic_async, params)
            return list(report.items)
        want = self.versions[uri]
        with self.changed:
            ok = self.changed.wait_for(
                lambda: any(p.version == want for p in self.published.get(uri, [])), TIMEOUT
            )
        assert ok, f"no diagnostics published for {uri} version {want}"
        return list(next(p for p in reversed(self.published[uri]) if p.version == want).diagnostics)

    def close(self) -> None:
        try:
            self.run(self.client.shutdown_async(None))
            self.client.exit(None)
            self.run(self.client.stop())
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join(5)
