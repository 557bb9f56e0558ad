"""Nothing from a spec reaches an emitted script as code.

A spec full of hostile names and strings (Python keywords and builtins as layer names,
quotes, triple quotes, backslashes, `__import__('os')`, a right-to-left override, a
homoglyph, a file name with a newline) must give a module whose code is exactly the code
of the same spec written with plain names: the same names, the same calls. The hostile
strings survive only as string constants.
"""

from __future__ import annotations

import ast

import pytest

from specc.analysis import analyze
from specc.emit import NAMES, emit

EVIL_INIT = "x\"); __import__('os').system('echo pwned') #"
EVIL_FILE = "evil\"\"\"'''.csv \u202e\u0435"  # triple quotes, RTL override, Cyrillic e
EVIL_TARGET = "t'; import os"
EVIL_MONITOR = "val_loss\"); print('x') #"

SPEC = """
model {model} {{
    init from {init}
    input 8
    dense 12 relu name={n1}
    dense 8 relu name={n2}
    dense 4 relu name={n3}
    dense 4 relu name={n4}
    dense 4 relu name={n5}
    dense 1 sigmoid name={n6}
}}
data csv {file} target={target} task=binary {{
    batch 32 shuffle
    validation 0.2
    test 0.2
}}
train {{
    loss binary_crossentropy
    optimizer adam lr=1e-3
    epochs 2
    metrics accuracy
    early_stopping monitor={monitor} patience=2
    checkpoint best monitor={monitor}
}}
"""


def _quote(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


HOSTILE = SPEC.format(
    model="exec",
    init=_quote(EVIL_INIT),
    n1="__import__",
    n2="eval",
    n3="forward",
    n4="torch",
    n5="x",
    n6="class",
    file=_quote(EVIL_FILE),
    target=_quote(EVIL_TARGET),
    monitor=_quote(EVIL_MONITOR),
)
CLEAN = SPEC.format(
    model="plain",
    init='"runs/a"',
    n1="a1",
    n2="a2",
    n3="a3",
    n4="a4",
    n5="a5",
    n6="a6",
    file='"data.csv"',
    target='"target"',
    monitor='"val_loss"',
)


def _code_names(tree: ast.Module, model_class: str) -> tuple[set[str], set[str]]:
    """(every Name id, every called dotted name not rooted at `self`); the model's class,
    named after the spec's model, is written as MODEL."""
    names = {
        "MODEL" if n.id == model_class else n.id for n in ast.walk(tree) if isinstance(n, ast.Name)
    }
    calls = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            parts, func = [], node.func
            while isinstance(func, ast.Attribute):
                parts.append(func.attr)
                func = func.value
            if isinstance(func, ast.Name) and func.id != "self":
                root = "MODEL" if func.id == model_class else func.id
                calls.add(".".join([root, *reversed(parts)]))
    return names, calls


def _constants(tree: ast.Module) -> set[object]:
    return {n.value for n in ast.walk(tree) if isinstance(n, ast.Constant)}


@pytest.mark.parametrize("target", NAMES)
def test_hostile_spec_emits_only_template_code(target):
    hostile = analyze(HOSTILE, "evil\n__import__('os').system('x')\"\"\".nn")
    clean = analyze(CLEAN, "clean.nn")
    assert hostile.ok and clean.ok, [d.message for d in hostile.errors + clean.errors]
    evil_tree = ast.parse(emit(hostile, target))
    clean_tree = ast.parse(emit(clean, target))
    assert _code_names(evil_tree, "Exec") == _code_names(clean_tree, "Plain")
    constants = _constants(evil_tree)
    for text in (EVIL_INIT, EVIL_FILE, EVIL_TARGET, EVIL_MONITOR):
        assert text in constants, text
    # The module is one docstring and then the template's statements, nothing spliced in.
    assert isinstance(evil_tree.body[0], ast.Expr)
    assert [type(s) for s in evil_tree.body] == [type(s) for s in clean_tree.body]


def test_hostile_layer_names_become_safe_attributes():
    text = emit(analyze(HOSTILE, "evil.nn"), "pytorch")
    for line in (
        "self.layer_import__ = nn.Linear(8, 12)",
        "self.eval_ = nn.Linear(12, 8)",
        "self.forward_ = nn.Linear(8, 4)",
        "self.torch_ = nn.Linear(4, 4)",
        "self.x_ = nn.Linear(4, 4)",
        "self.class_ = nn.Linear(4, 1)",
    ):
        assert line in text
    # saved weights keep the spec's names
    assert '"layer_import__": "__import__",' in text and '"class_": "class",' in text


def test_keras_layer_names_are_string_literals():
    text = emit(analyze(HOSTILE, "evil.nn"), "keras")
    assert 'name="__import__")' in text and 'name="class")' in text
    assert 'name="exec",' in text  # the model's name
