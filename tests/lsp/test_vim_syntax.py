"""The Vim syntax file (editors/vim), loaded by a headless Vim the way the docs say:
the groups under the words of a spec. Needs `vim` (CI installs it); a machine without it
fails here with a message saying so (never a skip)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

PROBES = {  # (1-based line, column) in specs/cnn.nn -> syntax group
    (1, 1): "speccComment",  # # A small convolutional network ...
    (2, 1): "speccBlock",  # model
    (2, 7): "speccModelName",  # mnist_cnn
    (3, 5): "speccSetting",  # input
    (3, 11): "speccShape",  # 1x28x28
    (4, 5): "speccLayer",  # conv2d
    (4, 12): "speccNumber",  # 32
    (4, 17): "speccValue",  # relu
    (13, 6): "speccKind",  # mnist (data source)
    (14, 11): "speccNumber",  # 1/255
    (20, 5): "speccSetting",  # loss
    (20, 10): "speccKind",  # sparse_categorical_crossentropy
    (21, 15): "speccKind",  # adam
    (21, 20): "speccParameter",  # lr
    (21, 23): "speccNumber",  # 1e-3
}


def test_vim_highlights_a_spec_with_the_shipped_syntax(tmp_path: Path) -> None:
    vim = shutil.which("vim")
    assert vim, "vim is needed to test editors/vim (apt-get install vim), then re-run"
    out = tmp_path / "groups.txt"
    probes = ", ".join(f"[{line}, {col}]" for line, col in PROBES)
    script = tmp_path / "probe.vim"
    script.write_text(
        f"set rtp^={ROOT / 'editors' / 'vim'}\n"
        "filetype plugin on\nsyntax on\n"
        f"edit {ROOT / 'specs' / 'cnn.nn'}\n"
        "let s:out = [&filetype, &commentstring]\n"
        f"for [l, c] in [{probes}]\n"
        "  call add(s:out, synIDattr(synID(l, c, 1), 'name'))\n"
        "endfor\n"
        f"call writefile(s:out, '{out}')\nqa!\n"
    )
    subprocess.run(
        [vim, "-Nu", "NONE", "-i", "NONE", "-es", "-S", str(script)], timeout=60, check=False
    )
    filetype, commentstring, *groups = out.read_text().splitlines()
    assert (filetype, commentstring) == ("specc", "# %s")
    assert dict(zip(PROBES, groups, strict=True)) == PROBES
