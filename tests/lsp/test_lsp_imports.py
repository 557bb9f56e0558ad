"""The language server must start fast and work without any deep-learning framework."""

from __future__ import annotations

import subprocess
import sys


def test_server_imports_no_framework() -> None:
    code = (
        "import sys, specc.cli, specc.lsp.server\n"
        "from specc.lsp.server import build_server\n"
        "build_server()\n"
        "heavy = [m for m in ('torch', 'tensorflow', 'keras', 'mindspore') if m in sys.modules]\n"
        "print(heavy)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
