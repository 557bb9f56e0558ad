"""Run the Helix setup of docs/editors.md as written, in a throw-away home folder, and check
what it promises: `hx --health specc` finds the server, the grammar and the highlight
queries, and a `.nn` file opened in Helix (in a tmux pane) is coloured by the queries'
captures, shows the server's diagnostics and inlay hints, and `gd` on a model's name
goes to its definition.

    python editors/helix/check_config.py                 # needs hx and tmux on PATH
    python editors/helix/check_config.py --hx ./my-hx    # another Helix command

On Debian 12, `bash editors/helix/fetch_hx.sh /tmp/helix` unpacks Debian 13's Helix
(`... /tmp/helix-sid sid`: unstable's) without installing it; then `--hx /tmp/helix/hx`.

Not part of the test suite (CI's Debian 12 has no Helix package); run it after changing
the Helix section of the docs, the grammar or its queries. Checked with Helix 25.01.1 and
25.07.1 (the `hx` packages of Debian 13 and of Debian unstable).

The docs' `languages.toml` and their shell commands run verbatim (with `/path/to/specc`
replaced by this checkout and `~` being the throw-away home). The colours are read with
a theme written for the check, one colour per capture name, so each word's colour on
the screen says which capture Helix gave it.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]  # editors/helix/ -> the repository

# One colour per capture the queries use; a word in none of them keeps `ui.text`.
CAPTURES = [
    "comment",
    "keyword",
    "type",
    "type.builtin",
    "function",
    "function.macro",
    "variable.parameter",
    "variable.other.member",
    "constant",
    "constant.builtin.boolean",
    "constant.numeric",
    "constant.numeric.shape",
    "string",
    "operator",
    "punctuation.bracket",
    "punctuation.delimiter",
]
TEXT_COLOUR = (250, 250, 250)
COLOURS = {name: (16, 32 + 8 * i, 64) for i, name in enumerate(CAPTURES)}

SAMPLE = """\
# a comment
model mlp {
    input 28x28
    flatten
    dense 512 relu name=hidden
    dropout 1/2
    dense 10 softmax
}
data mnist { scale 1/255; batch 64 shuffle=true }
train {
    model mlp
    loss sparse_categorical_crossentropy
    optimizer adam lr=choice(1e-3, 3e-4)
    schedule wibble
    metrics accuracy
    epochs 2
}
"""

# (line, word) -> the capture that colours it (as tests/lsp/test_tree_sitter_grammar.py).
EXPECTED = {
    (1, "#"): "comment",
    (2, "model"): "keyword",
    (2, "mlp"): "type",
    (2, "{"): "punctuation.bracket",
    (3, "input"): "variable.other.member",
    (3, "28x28"): "constant.numeric.shape",
    (5, "dense"): "function",
    (5, "512"): "constant.numeric",
    (5, "relu"): "constant",
    (5, "name"): "variable.parameter",
    (5, "="): "operator",
    (5, "hidden"): "constant",
    (6, "1/2"): "constant.numeric",
    (9, "data"): "keyword",
    (9, "mnist"): "type.builtin",
    (9, ";"): "punctuation.delimiter",
    (9, "true"): "constant.builtin.boolean",
    (11, "mlp"): "type",
    (12, "loss"): "variable.other.member",
    (12, "sparse_categorical_crossentropy"): "type.builtin",
    (13, "optimizer"): "variable.other.member",
    (13, "adam"): "type.builtin",
    (13, "lr"): "variable.parameter",
    (13, "choice"): "function.macro",
    (13, "1e-3"): "constant.numeric",
    (14, "schedule"): "variable.other.member",
    (14, "wibble"): "constant",
    (15, "metrics"): "variable.other.member",
}
# `schedule wibble` is no schedule: the server's error marks line 14 in the gutter.
DIAGNOSED_LINES = [14]
# The shapes drawn after the layers (`flatten → 784`), in order.
HINTS = ["784", "512", "512", "10"]


def _docs_helix() -> tuple[str, str]:
    """The `languages.toml` block and the shell block of the docs' Helix section."""
    docs = (ROOT / "docs" / "editors.md").read_text()
    helix = docs[docs.index("## Helix") : docs.index("## Other editors")]
    toml = re.search(r"```toml\n(.*?)```", helix, re.DOTALL)
    shell = re.search(r"```sh\n(.*?)```", helix, re.DOTALL)
    if toml is None or shell is None:
        raise SystemExit("docs/editors.md lost its Helix languages.toml or shell block")
    return toml.group(1).replace("/path/to/specc", str(ROOT)), shell.group(1)


def _theme() -> str:
    def hexed(rgb: tuple[int, int, int]) -> str:
        return "#" + "".join(f"{c:02x}" for c in rgb)

    # `ui.selection` is the one key Helix requires of a theme.
    lines = [f'"ui.text" = "{hexed(TEXT_COLOUR)}"', '"ui.selection" = { bg = "#303030" }']
    lines += [f'"{name}" = "{hexed(rgb)}"' for name, rgb in COLOURS.items()]
    return "\n".join(lines) + "\n"


def _cells(screen_line: str) -> list[tuple[str, tuple[int, ...] | None]]:
    """Each character of a `tmux capture-pane -e` line with its foreground colour."""
    out: list[tuple[str, tuple[int, ...] | None]] = []
    fg: tuple[int, ...] | None = None
    for escape, char in re.findall(r"\x1b\[([0-9;:]*)m|(.)", screen_line):
        if char:
            out.append((char, fg))
            continue
        # `4:3` (a curly underline) has sub-parameters: only its first number counts.
        codes = [int(c.split(":")[0]) for c in escape.split(";") if c] or [0]
        i = 0
        while i < len(codes):
            if codes[i] == 38 and codes[i + 1 : i + 2] == [2]:
                fg = tuple(codes[i + 2 : i + 5])
                i += 5
                continue
            if codes[i] in (0, 39):
                fg = None
            elif codes[i] in (48, 58):  # background / underline colour: skip its values
                i += 5 if codes[i + 1 : i + 2] == [2] else 3
                continue
            i += 1
    return out


def _words(screen: list[str], width: int) -> dict[tuple[int, str], set[str]]:
    """(file line, word) -> the captures its characters were coloured with. A file line
    is found by its line number in the gutter; `width` is the gutter's width."""
    names: dict[tuple[int, ...] | None, str] = {rgb: name for name, rgb in COLOURS.items()}
    found: dict[tuple[int, str], set[str]] = {}
    for raw in screen:
        cells = _cells(raw)
        text = "".join(c for c, _ in cells)
        number = re.match(r"[●\s]*(\d+)\s", text[:width])
        if number is None:
            continue
        line = int(number.group(1))
        body = cells[width:]
        for match in re.finditer(
            r'"[^"]*"|[^\s(),;=\[\]{}]+|[(),;=\[\]{}]', "".join(c for c, _ in body)
        ):
            colours = {body[i][1] for i in range(match.start(), match.end())}
            # The first time only: Helix 25.07 writes the diagnostic's message after the
            # line's text, and its words are not the file's.
            found.setdefault((line, match.group()), {names.get(c, "text") for c in colours})
    return found


def check(hx: str, home: Path) -> list[str]:
    """The problems found (empty when the docs' setup works as they say)."""
    problems: list[str] = []
    config = home / ".config" / "helix"
    config.mkdir(parents=True)
    toml, shell = _docs_helix()
    (config / "languages.toml").write_text(toml)
    bin_dir = home / "bin"
    bin_dir.mkdir()
    (bin_dir / "hx").symlink_to(shutil.which(hx) or Path(hx).resolve())
    # `specc` is the console script next to this interpreter (as an installed specc is).
    path = os.pathsep.join([str(bin_dir), str(Path(sys.executable).parent), os.environ["PATH"]])
    env = {k: v for k, v in os.environ.items() if not k.startswith("XDG_")}
    env.update(HOME=str(home), PATH=path, TERM="xterm-256color", COLORTERM="truecolor")

    # The docs' commands, as a user types them (each line; the build's own exit status
    # also counts the other languages' grammars, which were never fetched here).
    for command in [c for c in shell.splitlines() if c.strip()]:
        run = subprocess.run(
            ["bash", "-c", command.replace("/path/to/specc", str(ROOT))],
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )
        print(f"$ {command}  -> exit {run.returncode}")
        if "--grammar build" in command and "specc" not in run.stdout + run.stderr:
            problems.append(f"`{command}` did not build specc:\n{run.stdout}{run.stderr}")
    if not (config / "runtime" / "grammars" / "specc.so").is_file():
        problems.append("no ~/.config/helix/runtime/grammars/specc.so after the docs' commands")

    health = subprocess.run(
        ["hx", "--health", "specc"], env=env, capture_output=True, text=True, timeout=60
    )
    plain = _plain(health.stdout)
    print(plain.rstrip())
    for line in ("Tree-sitter parser: ✓", "Highlight queries: ✓", "✓ specc: "):
        if line not in plain:
            problems.append(f"`hx --health specc` lacks {line!r}")

    themes = config / "themes"
    themes.mkdir()
    (themes / "specc-check.toml").write_text(_theme())
    # The docs' inlay-hint setting, and the theme above.
    (config / "config.toml").write_text(
        'theme = "specc-check"\n\n[editor.lsp]\ndisplay-inlay-hints = true\n'
    )
    sample = home / "sample.nn"
    sample.write_text(SAMPLE)
    screen, after_gd = _session(env, home, sample)
    width = 7  # the gutter: diagnostic, line number, spaces ("●  12  ")
    got = _words(screen, width)
    for key, capture in EXPECTED.items():
        if got.get(key) != {capture}:
            problems.append(f"line {key[0]} `{key[1]}`: coloured as {got.get(key)}, not {capture}")
    marked = sorted(
        int(m.group(1)) for row in screen if (m := re.match(r"\s*●\s*(\d+)", _plain(row)))
    )
    if marked != DIAGNOSED_LINES:
        problems.append(f"diagnostics in the gutter on lines {marked}, not {DIAGNOSED_LINES}")
    hints = [_plain(row).split("→")[-1].strip() for row in screen if "→" in _plain(row)]
    if hints != HINTS:
        problems.append(f"inlay hints {hints}, not {HINTS}")
    if after_gd != "2:7":
        problems.append(f"`gd` on `model mlp` went to {after_gd or 'nowhere'}, not 2:7")
    return problems


def _plain(row: str) -> str:
    return re.sub(r"\x1b\[[0-9;:]*m", "", row)


def _session(env: dict[str, str], home: Path, sample: Path) -> tuple[list[str], str]:
    """Helix's screen (with colours) once the sample, its diagnostics and inlay hints are
    drawn; then the status line's cursor position after `gd` on the train block's
    `model mlp` (line 11, column 12)."""
    tmux = shutil.which("tmux")
    if tmux is None:
        raise SystemExit("tmux is not on PATH (apt-get install tmux)")
    base = [tmux, "-S", str(home / "tmux.sock")]

    def capture() -> list[str]:
        shown = subprocess.run(
            [*base, "capture-pane", "-p", "-e"], env=env, capture_output=True, text=True
        )
        return shown.stdout.splitlines()

    def drawn(rows: list[str]) -> bool:
        text = [_plain(row) for row in rows]
        if any("●" in row[:3] for row in text) and not any("→" in row for row in text):
            # Helix asks for inlay hints when idle after a key (none is pressed at start).
            subprocess.run([*base, "send-keys", "g", "g"], env=env)
        return any("●" in row[:3] for row in text) and any("→" in row for row in text)

    subprocess.run(
        [*base, "new-session", "-d", "-x", "100", "-y", "30", f"hx {sample}"],
        env=env,
        check=True,
        cwd=home,
    )
    try:
        rows: list[str] = []
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not drawn(rows):
            time.sleep(0.5)
            rows = capture()
        time.sleep(0.5)  # let the rest of the frame settle
        rows = capture()
        subprocess.run([*base, "send-keys", "1", "1", "g", "g", "1", "1", "l", "g", "d"], env=env)
        position = ""
        while time.monotonic() < deadline + 10:
            time.sleep(0.5)
            status = [_plain(row) for row in capture() if " sel " in _plain(row)]
            position = status[-1].split()[-1] if status else ""
            if position not in ("", "1:1", "11:12"):
                break
        return rows, position
    finally:
        subprocess.run([*base, "kill-server"], env=env, capture_output=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--hx", default="hx", help="the Helix command (default: hx on PATH)")
    args = parser.parse_args()
    if shutil.which(args.hx) is None and not Path(args.hx).is_file():
        raise SystemExit(f"{args.hx} not found (install Helix: Debian 13's `hx` package)")
    version = subprocess.run([args.hx, "--version"], capture_output=True, text=True).stdout
    print(version.strip())
    with tempfile.TemporaryDirectory() as folder:
        problems = check(args.hx, Path(folder))
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if problems:
        return 1
    print("the documented Helix setup works: grammar, queries, colours, diagnostics, hints, gd")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
