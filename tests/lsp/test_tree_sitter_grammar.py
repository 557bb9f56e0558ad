"""The tree-sitter grammar (editors/tree-sitter-specc): Helix's highlighting.

The committed parser (src/parser.c, generated from grammar.js) is compiled with the
system C compiler, as `hx --grammar build` does, and loaded with the `tree-sitter`
Python bindings; then the highlight queries run on it.
"""

from __future__ import annotations

import ctypes
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from tree_sitter import Language, Node, Parser, Query, QueryCursor

from specc.syntax import parse

ROOT = Path(__file__).resolve().parents[2]
GRAMMAR = ROOT / "editors" / "tree-sitter-specc"
SPECS = sorted((ROOT / "specs").glob("*.nn"))


@pytest.fixture(scope="module")
def language(tmp_path_factory: pytest.TempPathFactory) -> Language:
    compiler = shutil.which("cc") or shutil.which("gcc")
    assert compiler, "a C compiler (cc) is needed to build the grammar, as Helix does"
    # A name Python cannot import, so the library never shadows the `specc` package.
    library = tmp_path_factory.mktemp("grammar") / "specc-grammar.so"
    source = GRAMMAR / "src"
    subprocess.run(
        [
            compiler,
            "-shared",
            "-fPIC",
            "-O1",
            f"-I{source}",
            str(source / "parser.c"),
            "-o",
            str(library),
        ],
        check=True,
    )
    lib = ctypes.CDLL(str(library))
    lib.tree_sitter_specc.restype = ctypes.c_void_p
    capsule = ctypes.pythonapi.PyCapsule_New
    capsule.restype = ctypes.py_object
    capsule.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_void_p]
    return Language(capsule(lib.tree_sitter_specc(), b"tree_sitter.Language", None))


def _errors(node: Node) -> list[str]:
    found = []
    if node.type == "ERROR" or node.is_missing:
        found.append(f"{node.type} at {node.start_point}: {node.text!r}")
    for child in node.children:
        found.extend(_errors(child))
    return found


def test_abi_is_one_helix_25_01_loads(language: Language) -> None:
    # Helix 25.01 links tree-sitter 0.22, which loads ABI 13 and 14.
    assert language.abi_version == 14


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_every_shipped_spec_parses_without_error(language: Language, spec: Path) -> None:
    tree = Parser(language).parse(spec.read_bytes())
    assert _errors(tree.root_node) == []


def test_agrees_with_the_lark_grammar_on_every_spec_in_the_repository(language: Language) -> None:
    """Files the Lark parser reads without a syntax error parse cleanly, and the
    syntax-error fixtures do not (E103 is a nesting limit, not syntax)."""
    parser = Parser(language)
    checked = 0
    for path in sorted(ROOT.glob("**/*.nn")):
        if ".git" in path.parts or ".venv" in path.parts:
            continue
        data = path.read_bytes()
        try:
            text = data.decode()
        except UnicodeDecodeError:
            continue  # E104: not UTF-8, refused before parsing
        syntax_errors = [
            d.code for d in parse(text).diagnostics if d.code.startswith("E1") and d.code != "E103"
        ]
        has_error = parser.parse(data).root_node.has_error
        assert has_error == bool(syntax_errors), (
            path,
            syntax_errors,
            _errors(parser.parse(data).root_node),
        )
        checked += 1
    assert checked >= 60


def test_tree_shape(language: Language) -> None:
    text = b"model m {\n    dense 10 relu init=choice(he, [1, 2])\n    input 28x28\n}\ndata mnist { scale 1/255; batch 64 }\n"
    tree = Parser(language).parse(text)
    assert str(tree.root_node) == (
        "(source_file"
        " (statement name: (identifier) argument: (word) body: (body"
        " (statement name: (identifier) argument: (number) argument: (word)"
        " argument: (kwarg key: (identifier) value: (call function: (identifier)"
        " argument: (word) argument: (list element: (number) element: (number)))))"
        " (statement name: (identifier) argument: (shape))))"
        " (statement name: (identifier) argument: (word) body: (body"
        " (statement name: (identifier) argument: (fraction))"
        " (statement name: (identifier) argument: (number)))))"
    )


def test_newlines_inside_brackets_are_layout(language: Language) -> None:
    tree = Parser(language).parse(
        b"train {\n    metrics [\n        accuracy,\n        mse,\n    ]\n    lr choice(\n        1e-3, 1e-4)\n}\n"
    )
    assert _errors(tree.root_node) == []
    train = tree.root_node.children[0]
    assert [
        s.child_by_field_name("name").text for s in train.child_by_field_name("body").named_children
    ] == [
        b"metrics",
        b"lr",
    ]


SAMPLE = """\
# a comment
model mlp {
    input 28x28
    dense 512 relu name=hidden
    dropout 1/2
}
data mnist { batch 64; shuffle true }
train {
    model mlp
    loss sparse_categorical_crossentropy
    optimizer adam lr=choice(1e-3, 3e-4)
    schedule wibble
    metrics [accuracy, mse]
    init from "runs/x"
}
"""


def _highlights(language: Language, text: str) -> dict[tuple[int, str], list[str]]:
    """(line, text) of each highlighted node -> the capture names that claim it. Helper
    captures (`@_name`) count too: Helix 25.07 leaves a word one of them claims uncoloured
    (seen with editors/helix/check_config.py), so the queries must have none."""
    query = Query(language, (GRAMMAR / "queries" / "highlights.scm").read_text())
    tree = Parser(language).parse(text.encode())
    claimed: dict[tuple[int, int], list[str]] = defaultdict(list)
    nodes: dict[tuple[int, int], Node] = {}
    for capture, found in QueryCursor(query).captures(tree.root_node).items():
        for node in found:
            claimed[(node.start_byte, node.end_byte)].append(capture)
            nodes[(node.start_byte, node.end_byte)] = node
    out: dict[tuple[int, str], list[str]] = {}
    for key, captures in claimed.items():
        node = nodes[key]
        out[(node.start_point.row + 1, (node.text or b"").decode())] = sorted(set(captures))
    return out


def test_highlight_captures_on_a_sample(language: Language) -> None:
    got = _highlights(language, SAMPLE)
    expected = {
        (1, "# a comment"): "comment",
        (2, "model"): "keyword",  # block keywords
        (7, "data"): "keyword",
        (8, "train"): "keyword",
        (2, "mlp"): "type",  # a model's name
        (9, "mlp"): "type",
        (3, "input"): "variable.other.member",  # settings
        (7, "batch"): "variable.other.member",
        (10, "loss"): "variable.other.member",
        (4, "dense"): "function",  # layer kinds
        (5, "dropout"): "function",
        (4, "name"): "variable.parameter",  # argument names
        (11, "lr"): "variable.parameter",
        (4, "relu"): "constant",  # value words
        (4, "hidden"): "constant",
        (12, "wibble"): "constant",  # not a schedule: a plain word
        (13, "accuracy"): "constant",
        (13, "mse"): "constant",  # a loss's name, but not after `loss`
        (14, "from"): "constant",
        (7, "mnist"): "type.builtin",  # kinds a setting's first word picks
        (10, "sparse_categorical_crossentropy"): "type.builtin",
        (11, "adam"): "type.builtin",
        (7, "true"): "constant.builtin.boolean",
        (3, "28x28"): "constant.numeric.shape",
        (4, "512"): "constant.numeric",
        (5, "1/2"): "constant.numeric",
        (11, "1e-3"): "constant.numeric",
        (14, '"runs/x"'): "string",
        (11, "choice"): "function.macro",
        (4, "="): "operator",
        (7, ";"): "punctuation.delimiter",
        (2, "{"): "punctuation.bracket",
    }
    assert {key: got.get(key) for key in expected} == {key: [c] for key, c in expected.items()}


@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.name)
def test_each_node_gets_one_capture(language: Language, spec: Path) -> None:
    """Helix 25.01 lets the first matching pattern win and 25.07 the last: with one
    capture name per node (however many patterns match it) the colours are the same in
    both."""
    got = _highlights(language, spec.read_text())
    assert {key: captures for key, captures in got.items() if len(captures) > 1} == {}
    # Every word of the spec is coloured: nothing falls between the patterns.
    tree = Parser(language).parse(spec.read_bytes())
    words: list[Node] = []
    stack = [tree.root_node]
    while stack:
        node = stack.pop()
        if node.type in ("identifier", "word"):
            words.append(node)
        stack.extend(node.children)
    assert words
    missing = [
        (w.start_point.row + 1, w.text)
        for w in words
        if (w.start_point.row + 1, (w.text or b"").decode()) not in got
    ]
    assert missing == []


def test_the_documented_helix_config_points_at_the_grammar() -> None:
    import re
    import tomllib

    docs = (ROOT / "docs" / "editors.md").read_text()
    helix = docs[docs.index("## Helix") : docs.index("## Other editors")]
    config = tomllib.loads(re.search(r"```toml\n(.*?)```", helix, re.S).group(1))  # type: ignore[union-attr]
    (language,) = config["language"]
    (grammar,) = config["grammar"]
    assert language["grammar"] == grammar["name"] == "specc"
    assert language["file-types"] == ["nn"]
    path = Path(grammar["source"]["path"].replace("/path/to/specc", str(ROOT)))
    assert path == GRAMMAR
    # What `hx --grammar build` compiles, and what the documented link gives Helix.
    assert (path / "src" / "parser.c").is_file() and (
        path / "src" / "tree_sitter" / "parser.h"
    ).is_file()
    commands = re.search(r"```sh\n(.*?)```", helix, re.S).group(1).splitlines()  # type: ignore[union-attr]
    # Helix 25.01 builds into ~/.config/helix/runtime/grammars but does not create it
    # (found by running the commands in Helix: editors/helix/check_config.py).
    assert commands == [
        "mkdir -p ~/.config/helix/runtime/grammars ~/.config/helix/runtime/queries",
        "hx --grammar build",
        "ln -s /path/to/specc/editors/tree-sitter-specc/queries ~/.config/helix/runtime/queries/specc",
    ]
    assert (path / "queries" / "highlights.scm").is_file()


def test_the_generated_parser_is_of_this_grammar_js() -> None:
    """`src/` must be regenerated after grammar.js changes (`tree-sitter generate`): the
    rules grammar.js defines are the rules of the generated src/grammar.json, in order."""
    import json
    import re

    source = (GRAMMAR / "grammar.js").read_text()
    defined = re.findall(r"^    (\w+): (?:\$|_) =>", source, re.M)
    generated = json.loads((GRAMMAR / "src" / "grammar.json").read_text())
    assert generated["name"] == "specc"
    assert list(generated["rules"]) == defined
    assert '#include "tree_sitter/parser.h"' in (GRAMMAR / "src" / "parser.c").read_text()
