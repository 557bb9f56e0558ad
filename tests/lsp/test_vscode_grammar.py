"""The VS Code extension's TextMate grammar against its assertion files
(editors/vscode/tests/*.nn), with vscode-tmgrammar-test. Needs node and npm: CI has them,
and a machine without them fails here with a message saying so (never a skip)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

EXTENSION = Path(__file__).resolve().parents[2] / "editors" / "vscode"


def _npm() -> str:
    npm = shutil.which("npm")
    assert npm and shutil.which("node"), (
        "node and npm are needed to test the VS Code grammar: install Node.js 18+ "
        "(https://nodejs.org) and re-run"
    )
    return npm


@pytest.fixture(scope="module")
def installed() -> Path:
    """The extension's node_modules, installed from package-lock.json when missing."""
    npm = _npm()
    tool = EXTENSION / "node_modules" / ".bin" / "vscode-tmgrammar-test"
    if not tool.exists() or not (EXTENSION / "node_modules" / ".bin" / "vsce").exists():
        install = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=EXTENSION,
            capture_output=True,
            text=True,
            timeout=600,
        )
        assert install.returncode == 0, f"npm ci failed in {EXTENSION}:\n{install.stderr}"
    return tool


def test_grammar_assertions_pass(installed: Path) -> None:
    result = subprocess.run(
        [str(installed), "-g", "syntaxes/specc.tmLanguage.json", "tests/*.nn"],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "highlighting.test.nn run successfuly" in result.stdout


def test_package_points_at_files_that_exist() -> None:
    import json

    package = json.loads((EXTENSION / "package.json").read_text())
    contributes = package["contributes"]
    assert (EXTENSION / package["main"]).is_file()
    assert (EXTENSION / contributes["grammars"][0]["path"]).is_file()
    assert (EXTENSION / contributes["languages"][0]["configuration"]).is_file()
    assert contributes["languages"][0]["extensions"] == [".nn"]
    assert (EXTENSION / "package-lock.json").is_file()


def test_extension_script_parses_and_its_client_dependency_resolves(installed: Path) -> None:
    node = shutil.which("node")
    assert node is not None
    check = subprocess.run(
        [node, "--check", "extension.js"], cwd=EXTENSION, capture_output=True, text=True
    )
    assert check.returncode == 0, check.stderr
    if (EXTENSION / "node_modules").exists():
        resolve = subprocess.run(
            [node, "-e", "require.resolve('vscode-languageclient/node')"],
            cwd=EXTENSION,
            capture_output=True,
            text=True,
        )
        assert resolve.returncode == 0, resolve.stderr


def test_the_extension_folder_builds_a_vsix(installed: Path, tmp_path: Path) -> None:
    """`npm run package` (vsce) packs the extension with its client library and grammar."""
    import zipfile

    vsce = EXTENSION / "node_modules" / ".bin" / "vsce"
    out = tmp_path / "specc.vsix"
    result = subprocess.run(
        [str(vsce), "package", "--allow-missing-repository", "--skip-license", "-o", str(out)],
        cwd=EXTENSION,
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    names = set(zipfile.ZipFile(out).namelist())
    for needed in (
        "extension/extension.js",
        "extension/package.json",
        "extension/language-configuration.json",
        "extension/syntaxes/specc.tmLanguage.json",
        "extension/node_modules/vscode-languageclient/package.json",
    ):
        assert needed in names, f"{needed} missing from the .vsix"
    assert not any(n.startswith("extension/tests/") for n in names)


def test_generated_word_lists_match_the_ir_registry() -> None:
    """The grammars' layer and kind words come from the IR: a new kind must regenerate them
    (the VS Code grammar's lists and the Vim syntax file)."""
    import sys

    result = subprocess.run(
        [sys.executable, str(EXTENSION.parent / "update_grammars.py"), "--check"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_palette_commands_run_commands_the_server_offers() -> None:
    """Each command the extension contributes maps (in extension.js) to a command the
    server registers for workspace/executeCommand."""
    import json
    import re

    from specc.lsp.features import COMMANDS

    package = json.loads((EXTENSION / "package.json").read_text())
    source = (EXTENSION / "extension.js").read_text()
    contributed = [c["command"] for c in package["contributes"]["commands"]]
    assert contributed
    for name in contributed:
        found = re.search(rf'"{re.escape(name)}": {{\s*command: "([a-z.]+)"', source)
        assert found, f"{name} is contributed but not wired in extension.js"
        assert found.group(1) in COMMANDS
