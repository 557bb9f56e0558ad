"""docs/reference.md is generated from the IR registry (scripts/gen_reference.py): it is
never stale, documents every kind, and every example in it is accepted by the checker."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

from specc.analysis import analyze
from specc.ir.data import AnyData, Data
from specc.ir.registry import collector_members, members
from specc.ir.training import Train

ROOT = Path(__file__).resolve().parents[2]


def _generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "gen_reference", ROOT / "scripts" / "gen_reference.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["gen_reference"] = module
    spec.loader.exec_module(module)
    return module


GEN = _generator()


def test_reference_is_not_stale() -> None:
    current = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    assert current == GEN.render(), (
        "docs/reference.md is stale: run `python scripts/gen_reference.py`"
    )


def test_every_kind_has_a_section_and_an_example() -> None:
    _, families = GEN._discover()
    text = (ROOT / "docs" / "reference.md").read_text(encoding="utf-8")
    kinds = [
        c
        for classes in families.values()
        for c in classes
        if c.kind_name() not in ("model", "train")
    ]
    assert len(kinds) >= 70
    for cls in kinds:
        assert f"### `{cls.kind_name()}`" in text, cls
        assert (GEN._module(cls), cls.kind_name()) in GEN.EXAMPLES, cls
    assert set(GEN.EXAMPLES) == {(GEN._module(c), c.kind_name()) for c in kinds}


DATA_WORDS = {*Data.keywords, *(w for w in collector_members(Data))}
SOURCES = set(members(AnyData))  # every data source's word
# Statements only one source takes (`tokenize` in `text_folder`): written in that source's block.
OWN_WORDS = {
    word: cls.kind_name()
    for cls in members(AnyData).values()
    for word in cls.keywords
    if word not in Data.keywords
}


def _spec_with(statement: str) -> str:
    """A small valid spec with `statement` in the block it belongs to."""
    model = ["input 1x28x28", "flatten", "dense 10"]
    header, data, train = "mnist_sample", ["scale 1/255"], ["loss sparse_categorical_crossentropy"]
    word = statement.split(" ")[0]
    if word in SOURCES:
        header = statement
    elif word in DATA_WORDS:
        data.append(statement)
    elif word in OWN_WORDS:
        header, data = GEN.EXAMPLES[("data", OWN_WORDS[word])], [statement]
    elif word in Train.keywords:
        train = [*(train if word != "loss" else []), statement]
    elif word in ("input", "init"):
        model = [statement, *model[1:]] if word == "input" else [statement, *model]
    else:
        model = [model[0], statement, *model[1:]]
    body = lambda lines: "\n".join(f"    {x}" for x in lines)  # noqa: E731
    return (
        f"model m {{\n{body(model)}\n}}\ndata {header} {{\n{body(data)}\n}}\n"
        f"train {{\n{body(train)}\n}}\n"
    )


def _outputs_spec(output: str) -> str:
    """`_spec_with` for a model whose `output` block replaces its last layers."""
    text = _spec_with("dropout 0.1")
    return text.replace("    flatten\n    dense 10\n", f"    {output}\n")


@pytest.mark.parametrize("key", sorted(GEN.EXAMPLES), ids=lambda k: "-".join(k))
def test_every_example_is_accepted_by_the_checker(key: tuple[str, str]) -> None:
    text = _spec_with(GEN.EXAMPLES[key])
    if key[1] == "output":  # a model's `output` block and its training need each other
        text = _outputs_spec(GEN.EXAMPLES[("layers", "output")])
        text = text.replace(
            "    loss sparse_categorical_crossentropy",
            "    " + GEN.EXAMPLES[("training", "output")],
        )
    analysis = analyze(text, "example.nn")
    wrong = [d for d in analysis.diagnostics if d.code[:2] in ("E1", "E2", "E3")]
    assert not wrong, (text, [(d.code, d.message) for d in wrong])


def test_semantics_writes_top_k_accuracy_as_the_syntax_does() -> None:
    semantics = (ROOT / "docs" / "semantics.md").read_text(encoding="utf-8")
    assert "`top_k_accuracy k`" not in semantics
    assert "`top_k_accuracy(k=3)`" in semantics
