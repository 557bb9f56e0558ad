"""A raw JSON-RPC client for `specc lsp` over stdio, for benchmarks/lsp_latency.py: no
client library in the way, every message stamped with the time it arrived."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from queue import Empty, Queue
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def child_env() -> dict[str, str]:
    """This environment, minus PYTHONDONTWRITEBYTECODE: an installed specc has its
    bytecode cached, so the timed processes should too (the first one writes it)."""
    return {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


class StdioServer:
    """`specc lsp` in a subprocess, driven with raw JSON-RPC (no client library overhead);
    every message read is stamped with the time it arrived."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "specc", "lsp"],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=child_env(),
        )
        self.inbox: Queue[tuple[float, dict[str, Any]]] = Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        out = self.proc.stdout
        assert out is not None
        while True:
            length = 0
            while (line := out.readline()) not in (b"\r\n", b""):
                if line.lower().startswith(b"content-length:"):
                    length = int(line.split(b":")[1])
            if not line:
                return
            message = json.loads(out.read(length))
            self.inbox.put((time.perf_counter(), message))

    def send(self, message: dict[str, Any]) -> float:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()
        return time.perf_counter()

    def wait(
        self,
        match: Callable[[dict[str, Any]], bool],
        timeout: float = 60,
        seen: list[dict[str, Any]] | None = None,
    ) -> float:
        """Arrival time of the next message that matches; the ones before it are dropped
        (or appended to `seen`)."""
        deadline = time.perf_counter() + timeout
        while True:
            try:
                at, message = self.inbox.get(timeout=max(0.01, deadline - time.perf_counter()))
            except Empty:
                raise SystemExit("the server did not answer in time") from None
            if seen is not None:
                seen.append(message)
            if match(message):
                return at

    def initialize(self) -> float:
        self.send({"id": 0, "method": "initialize", "params": {"capabilities": {}}})
        at = self.wait(lambda m: m.get("id") == 0)
        self.send({"method": "initialized", "params": {}})
        return at

    def open(self, uri: str, text: str) -> None:
        item = {"uri": uri, "languageId": "specc", "version": 1, "text": text}
        self.send({"method": "textDocument/didOpen", "params": {"textDocument": item}})
        self.wait(published(uri, 1))

    def change(self, uri: str, version: int, line: int, column: int, text: str) -> float:
        where = {"line": line, "character": column}
        change = {"range": {"start": where, "end": where}, "text": text}
        params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [change]}
        return self.send({"method": "textDocument/didChange", "params": params})

    def cpu_seconds(self) -> float:
        """CPU time (user + system) the server process has used so far."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def rss_mb(self) -> float:
        for line in Path(f"/proc/{self.proc.pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def close(self) -> None:
        self.send({"id": 99, "method": "shutdown"})
        self.send({"method": "exit"})
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def published(uri: str, version: int) -> Callable[[dict[str, Any]], bool]:
    def match(message: dict[str, Any]) -> bool:
        params = message.get("params") or {}
        return bool(
            message.get("method") == "textDocument/publishDiagnostics"
            and params.get("uri") == uri
            and params.get("version") == version
        )

    return match
