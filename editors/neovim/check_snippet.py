"""Run the Neovim 0.7+ snippet of docs/editors.md as written, in a headless Neovim, and
check what it promises: the `.nn` file type, highlighting from editors/vim, and
diagnostics from `specc lsp`.

    python editors/neovim/check_snippet.py      # needs nvim on PATH (0.7 or later)

Not part of the test suite (CI has no Neovim); run it after changing the snippet, the
Vim syntax or the server's start-up. Checked with Debian 12's Neovim 0.7.2.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # editors/neovim/ -> the repository


def _snippet() -> str:
    """The Lua block that follows the "Neovim 0.7 to 0.9" paragraph of the docs."""
    docs = (ROOT / "docs" / "editors.md").read_text()
    after = docs[docs.index("**Neovim 0.7 to 0.9**") :]
    found = re.search(r"```lua\n(.*?)```", after, re.DOTALL)
    if found is None:
        raise SystemExit("docs/editors.md lost its Neovim 0.7 snippet")
    return found.group(1).replace("/path/to/specc", str(ROOT))


def check(tmp_path: Path) -> list[str]:
    """What the snippet gave: [file type, syntax group of `conv2d`, diagnostics...]."""
    nvim = shutil.which("nvim")
    if nvim is None:
        raise SystemExit("nvim is not on PATH (install Neovim 0.7 or later)")
    init = tmp_path / "init.lua"
    init.write_text(_snippet())
    spec = tmp_path / "broken.nn"
    spec.write_text((ROOT / "specs" / "cnn.nn").read_text().replace("conv2d 64", "conv2d sixty"))
    out = tmp_path / "out.txt"
    probe = tmp_path / "probe.lua"
    probe.write_text(
        f'vim.cmd("edit {spec}")\n'
        "vim.wait(20000, function() return #vim.diagnostic.get(0) > 0 end, 50)\n"
        "local lines = { vim.bo.filetype, vim.fn.synIDattr(vim.fn.synID(4, 5, 1), 'name') }\n"
        "for _, d in ipairs(vim.diagnostic.get(0)) do\n"
        "  table.insert(lines, d.lnum .. ' ' .. d.code)\n"
        "end\n"
        f'vim.fn.writefile(lines, "{out}")\n'
        'vim.cmd("qa!")\n'
    )
    # `specc` is the console script next to this interpreter (as an installed specc is).
    env = dict(os.environ, PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run(
        [nvim, "--headless", "-u", str(init), "-c", f"luafile {probe}"],
        cwd=tmp_path,
        env=env,
        timeout=60,
        check=False,
        capture_output=True,
    )
    return out.read_text().splitlines() if out.exists() else []


EXPECTED = ["specc", "speccLayer", "5 E305"]


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        got = check(Path(folder))
    version = subprocess.run(["nvim", "--version"], capture_output=True, text=True).stdout
    print(version.splitlines()[0] if version else "nvim")
    print(f"file type, highlight group of `conv2d`, diagnostics: {got}")
    if got != EXPECTED:
        print(f"expected {EXPECTED}")
        return 1
    print("the snippet works")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
