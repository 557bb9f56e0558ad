"""A bare JSON-RPC client for `specc lsp`: sends messages a typed client never would
(wrong types, `params: null`, negative positions) and reads the raw answers."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from pathlib import Path
from queue import Empty, Queue
from typing import Any

TIMEOUT = 30.0


class RawServer:
    def __init__(self, cwd: Path) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "specc", "lsp"],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        self.inbox: Queue[dict[str, Any]] = Queue()
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
            self.inbox.put(json.loads(out.read(length)))

    def send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode()
        assert self.proc.stdin is not None
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))
        self.proc.stdin.flush()

    def answer(self, msg_id: int) -> dict[str, Any]:
        """The response to request `msg_id` (notifications in between are skipped)."""
        while True:
            try:
                message = self.inbox.get(timeout=TIMEOUT)
            except Empty:
                raise AssertionError(f"no answer to request {msg_id} in {TIMEOUT} s") from None
            if message.get("id") == msg_id and "method" not in message:
                return message

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait()
