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


def test_the_server_answers_initialize_before_importing_the_checker() -> None:
    """Start-up budget: the IR, the parser and the checker load after `initialize` is
    answered (in the `initialized` handler), not before."""
    code = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "import specc.cli\n"
        "specc.cli.main.get_command(None, 'lsp')\n"
        "from specc.lsp.server import build_server\n"
        "build_server()\n"
        "print(sorted(m for m in ('specc.ir', 'specc.analysis', 'lark') if m in sys.modules))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_fast_commands_live_in_the_modules_the_cli_names() -> None:
    """`specc check`, `lsp` and `fmt` import only their own module: the table saying
    which module that is must stay true."""
    import importlib

    from specc.cli import _FAST

    for command, module in _FAST.items():
        names = [c.name for c in importlib.import_module(f"specc.cli.{module}").COMMANDS]
        assert command in names, f"specc.cli._FAST says `{command}` is in specc/cli/{module}.py"
