"""Keeping the server's copy of a document right and every request answered: edits in
version order (and a resync when that is impossible), bursts analysed once, requests
with malformed params answered with an error, formatting that never fails internally."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from lsp_client import Session
from lsprotocol import types
from raw_rpc import RawServer

from specc.analysis import analyze
from specc.lsp.sync import OutOfOrder, VersionGate
from specc.lsp.worker import Worker

ROOT = Path(__file__).resolve().parents[2]
CNN = (ROOT / "specs" / "cnn.nn").read_text()


def test_the_gate_releases_edits_in_version_order() -> None:
    gate = VersionGate(1)
    assert gate.offer(3, "c") == []  # version 2 is missing: hold 3
    assert gate.offer(2, "b") == [(2, "b"), (3, "c")]
    assert gate.offer(4, "d") == [(4, "d")]
    assert gate.version == 4 and gate.held == {}


def test_the_gate_releases_gaps_on_request_and_refuses_older_versions() -> None:
    gate = VersionGate(10)
    assert gate.offer(12, "x") == []
    assert gate.release_all() == [(12, "x")]  # Neovim-style numbering with gaps
    with pytest.raises(OutOfOrder, match="version 11 arrived after version 12"):
        gate.offer(11, "late")


def test_a_running_analysis_is_interrupted_by_a_newer_one() -> None:
    async def go() -> None:
        worker = Worker()
        started = threading.Event()

        def endless() -> str:
            started.set()
            while True:  # pure Python: only a cancel gets it out
                pass

        stale = worker.submit(endless)
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        worker.cancel(stale)
        fresh = worker.submit(lambda: "latest text analysed")
        assert await asyncio.wait_for(fresh.future, 10) == "latest text analysed"
        assert stale.future.cancelled()

    asyncio.run(go())


def test_a_queued_analysis_that_went_stale_never_runs() -> None:
    ran: list[str] = []

    async def go() -> None:
        worker = Worker()
        gate = threading.Event()
        first = worker.submit(lambda: gate.wait(10))
        queued = worker.submit(lambda: ran.append("stale"))
        worker.cancel(queued)
        gate.set()
        assert await asyncio.wait_for(first.future, 10) is True
        last = worker.submit(lambda: ran.append("latest"))
        await asyncio.wait_for(last.future, 10)

    asyncio.run(go())
    assert ran == ["latest"]


def test_a_failing_analysis_does_not_stop_the_worker() -> None:
    async def go() -> None:
        worker = Worker()
        broken = worker.submit(lambda: 1 / 0)
        await asyncio.wait({broken.future})
        assert broken.future.cancelled()
        assert await asyncio.wait_for(worker.submit(lambda: "next").future, 10) == "next"

    asyncio.run(go())


def test_versions_sent_out_of_order_are_applied_in_order(push: Session, uri: str) -> None:
    push.open(uri, CNN)
    # Version 2 turns `dense 10` into `dense 12`; version 3 (sent first) then makes it
    # `dense 123`. Applied in arrival order, the text would be `dense 132`... or worse.
    push.change(uri, (9, 12), (9, 12), "3", version=3)
    push.change(uri, (9, 10), (9, 12), "12", version=2)
    push.versions[uri] = 3
    diagnostics = push.diagnostics(uri)
    assert [(d.code, d.range.start.line) for d in diagnostics] == [("W502", 9)]
    assert "123" in diagnostics[0].message


def test_an_edit_older_than_the_text_asks_for_a_resync(pull: Session, uri: str) -> None:
    pull.open(uri, CNN)
    pull.change(uri, (9, 10), (9, 12), "12", version=2)
    assert [d.code for d in pull.diagnostics(uri)] == ["W502"]
    pull.change(uri, (9, 10), (9, 12), "99", version=2)  # a stale duplicate of version 2
    (lost,) = pull.diagnostics(uri)
    assert lost.code is None and lost.severity == types.DiagnosticSeverity.Warning
    assert lost.message.startswith(
        "specc lost track of this file's edits (the editor sent version 2 after version 2)"
    )
    # The editor's whole text on save: back in sync (even when it is the text the server
    # already had, as here: the stale edit was never applied).
    pull.save(uri, CNN.replace("dense 10", "dense 12"))
    assert [d.code for d in pull.diagnostics(uri)] == ["W502"]
    pull.save(uri, CNN)
    assert pull.diagnostics(uri) == []
    pull.change(uri, (9, 10), (9, 12), "12", version=1)  # lost again...
    assert pull.diagnostics(uri)[0].message.startswith("specc lost track")
    pull.open(uri, CNN)  # ... and reopening resyncs too
    assert pull.diagnostics(uri) == []


@pytest.fixture
def raw(tmp_path: Path) -> Iterator[RawServer]:
    server = RawServer(tmp_path)
    server.send({"id": 0, "method": "initialize", "params": {"capabilities": {}}})
    server.answer(0)
    server.send({"method": "initialized", "params": {}})
    yield server
    server.close()


@pytest.mark.parametrize(
    "params",
    [
        None,
        {"textDocument": {"uri": "file:///x.nn"}, "position": {"line": "one", "character": 0}},
        {"textDocument": {"uri": "file:///x.nn"}, "position": {"line": -1, "character": 0}},
        {"textDocument": {"uri": "file:///x.nn"}, "position": "here"},
    ],
)
def test_requests_with_invalid_params_get_an_error_answer(raw: RawServer, params: object) -> None:
    raw.send({"id": 7, "method": "textDocument/hover", "params": params})
    answer = raw.answer(7)
    assert answer["error"]["code"] == -32602
    assert answer["error"]["message"].startswith("invalid params for textDocument/hover")
    raw.send({"id": 8, "method": "shutdown"})  # and the server still answers
    assert raw.answer(8) == {"jsonrpc": "2.0", "id": 8, "result": None}


def test_formatting_a_file_ending_in_a_dangling_key_answers_no_edits(
    push: Session, uri: str
) -> None:
    text = (
        "model m {\n    input 10\n    dense 2\n}\ntrain {\n"
        "    loss sparse_categorical_crossentropy\n}\ndata synthetic features="
    )
    push.open(uri, text)
    params = types.DocumentFormattingParams(
        text_document=types.TextDocumentIdentifier(uri=uri),
        options=types.FormattingOptions(tab_size=4, insert_spaces=True),
    )
    assert push.call(push.client.text_document_formatting_async, params) is None
    assert push.messages[-1].type == types.MessageType.Warning
    # the parser reports the dangling `key=` (E100), so formatting names it
    assert push.messages[-1].message == (
        "specc: cannot format a spec with syntax errors: "
        "unexpected end of the file; expected a value"
    )


def test_hints_walk_each_model_once_not_once_per_layer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Inlay hints were quadratic in the layers of a model (each hint searched the model's
    statements again): 4,000 layers took 15 s and blocked every other request."""
    from specc.lsp import symbols
    from specc.lsp.documents import Documents

    calls = []
    original = symbols.layer_statements

    def counting(*args: object, **kwargs: object) -> object:
        calls.append(1)
        return original(*args, **kwargs)  # type: ignore[arg-type]

    text = "model deep {\n    input 8\n" + "    dense 8 relu\n" * 200 + "}\n"
    state = Documents().update("file:///deep.nn", text, 1, "deep.nn", "utf-16")
    monkeypatch.setattr(symbols, "layer_statements", counting)
    whole = types.Range(
        start=types.Position(line=0, character=0), end=types.Position(line=210, character=0)
    )
    assert len(symbols.inlay_hints(state, whole)) == 200
    assert len(calls) == 1


def test_a_long_analysis_does_not_hold_up_other_requests(push: Session, tmp_path: Path) -> None:
    """While a big file is analysed (on the worker thread), a hover on another, already
    analysed file is answered before the big file's diagnostics arrive."""
    import sys

    sys.path.insert(0, str(ROOT / "benchmarks"))
    from lsp_latency import generated_spec

    small, big = (tmp_path / "small.nn").as_uri(), (tmp_path / "big.nn").as_uri()
    push.open(small, CNN)
    push.diagnostics(small)
    push.open(big, generated_spec(6000))
    params = types.HoverParams(
        text_document=types.TextDocumentIdentifier(uri=small),
        position=types.Position(line=3, character=6),
    )
    hover = push.call(push.client.text_document_hover_async, params)
    assert "conv2d" in hover.contents.value
    assert big not in push.published  # still being analysed when the hover was answered
    assert push.diagnostics(big) == []


def _position(text: str, offset: int) -> tuple[int, int]:
    line = text.count("\n", 0, offset)
    return line, offset - (text.rfind("\n", 0, offset) + 1)


@pytest.mark.parametrize("seed", [1515, 7, 42, 2026])
def test_random_fast_edits_with_requests_between_end_in_the_editors_text(
    push: Session, uri: str, seed: int
) -> None:
    """40 random edits sent without waiting, requests in between (each cancels or awaits
    analyses on the worker): the last diagnostics are those of the editor's final text."""
    import random

    rng = random.Random(seed)
    text = CNN
    push.open(uri, text)
    for step in range(40):
        start = rng.randrange(len(text) + 1)
        end = min(len(text), start + rng.choice([0, 0, 1, 3]))
        insert = rng.choice(["", "x", "1", " ", "\n", "dense 4", "=", "}", "relu"])
        push.change(uri, _position(text, start), _position(text, end), insert)
        text = text[:start] + insert + text[end:]
        if step % 7 == 0:
            params = types.InlayHintParams(
                text_document=types.TextDocumentIdentifier(uri=uri),
                range=types.Range(
                    start=types.Position(line=0, character=0),
                    end=types.Position(line=99, character=0),
                ),
            )
            push.call(push.client.text_document_inlay_hint_async, params)
    expected = analyze(text).diagnostics
    got = push.diagnostics(uri)
    assert [(d.code, d.range.start.line, d.range.start.character) for d in got] == [
        (d.code, d.span.line - 1, d.span.column - 1) for d in expected
    ]
