"""Every spec in specs/ emitted for every target equals its golden file, byte for byte,
and the goldens are clean Python (ruff check + ruff format) that parses.

Regenerate with: python scripts/regen_goldens.py
"""

from __future__ import annotations

import ast

import pytest

from specc.emit.targets import NAMES
from tests.emit.conftest import GOLDEN, ROOT, RUFF, RUFF_SELECT, regen, ruff

EXPECTED = regen.golden_outputs()
FIX = "run `python scripts/regen_goldens.py` and review the diff"


@pytest.mark.parametrize("path", sorted(EXPECTED), ids=str)
def test_golden_is_current(path):
    golden = ROOT / path
    assert golden.exists(), f"{path} is missing: {FIX}"
    assert golden.read_text(encoding="utf-8") == EXPECTED[path], f"{path} is stale: {FIX}"


def test_no_stray_goldens():
    present = {p.relative_to(ROOT) for p in GOLDEN.glob("*/*") if p.suffix in (".py", ".err")}
    assert present <= set(EXPECTED), f"goldens no spec produces: {present - set(EXPECTED)}; {FIX}"


def test_every_spec_has_a_golden_per_target():
    """Every target in the registry has a golden (.py or .err) on disk for every spec of
    specs/ and every graph of tests/emit/graphs/ (graph_<name>)."""
    specs = set(regen.golden_specs())
    assert {"graph_resnet", "cnn"} <= specs
    for target in NAMES:
        on_disk = {p.stem for p in (GOLDEN / target).glob("*") if p.suffix in (".py", ".err")}
        assert on_disk == specs, f"{target}: missing {sorted(specs - on_disk)}; {FIX}"


SCRIPTS = sorted(p for p in EXPECTED if p.suffix == ".py")


def test_every_target_is_linted():
    assert {p.parts[-2] for p in SCRIPTS} == set(NAMES)


def test_goldens_are_clean_python():
    """One ruff run over all of them (ruff check + ruff format --check), and each parses."""
    for path in SCRIPTS:
        ast.parse(EXPECTED[path])
    files = [str(ROOT / p) for p in SCRIPTS]
    checked = ruff("check", *RUFF, *RUFF_SELECT, *files)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    formatted = ruff("format", "--check", *RUFF, *files)
    assert formatted.returncode == 0, formatted.stdout + formatted.stderr


def test_search_space_golden_is_the_e601_diagnostics():
    for target in NAMES:
        text = EXPECTED[GOLDEN.relative_to(ROOT) / target / "search.err"]
        assert text.splitlines() == [
            "specs/search.nn:17:22: E601 `lr` is a search space (`loguniform(...)`); "
            "a training needs a number",
            "specs/search.nn:17:54: E601 `momentum` is a search space (`uniform(...)`); "
            "a training needs a number",
        ]
