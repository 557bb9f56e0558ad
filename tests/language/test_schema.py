"""`specc schema`: the committed JSON Schema files are current, valid, and describe the IR."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from specc.analysis import analyze
from specc.cli import main
from specc.ir import strip_spans
from specc.schema import DRAFTS, FILES, REGENERATE, dumps, json_schema

ROOT = Path(__file__).resolve().parents[2]
SPECS = sorted((ROOT / "specs").glob("*.nn"))
VALIDATORS = {"2020-12": jsonschema.Draft202012Validator, "07": jsonschema.Draft7Validator}


@pytest.mark.parametrize("draft", list(DRAFTS))
def test_committed_schema_is_current(draft: str) -> None:
    committed = (ROOT / FILES[draft]).read_text(encoding="utf-8")
    assert committed == dumps(draft), f"{FILES[draft]} is stale; regenerate with: {REGENERATE}"


@pytest.mark.parametrize("draft", list(DRAFTS))
def test_schema_is_valid_for_its_draft(draft: str) -> None:
    schema = json_schema(draft)
    assert schema["$schema"] == DRAFTS[draft]
    VALIDATORS[draft].check_schema(schema)


def _keys(node: Any) -> set[str]:
    if isinstance(node, dict):
        return set(node) | {k for v in node.values() for k in _keys(v)}
    if isinstance(node, list):
        return {k for v in node for k in _keys(v)}
    return set()


def _refs(node: Any) -> set[str]:
    if isinstance(node, dict):
        own = {node["$ref"]} if isinstance(node.get("$ref"), str) else set()
        return own | {r for v in node.values() for r in _refs(v)}
    if isinstance(node, list):
        return {r for v in node for r in _refs(v)}
    return set()


def test_draft07_has_no_2020_keywords() -> None:
    schema = json_schema("07")
    assert not _keys(schema) & {"$defs", "prefixItems", "unevaluatedProperties"}
    refs = _refs(schema)
    assert refs and all(r.startswith("#/definitions/") for r in refs)
    assert all(r.removeprefix("#/definitions/") in schema["definitions"] for r in refs)
    # A 2x2 kernel is a tuple: draft-07 spells that as array-form `items`.
    kernel = schema["definitions"]["Conv2D"]["properties"]["kernel"]["anyOf"]
    assert {
        "type": "array",
        "items": [{"type": "integer"}] * 2,
        "minItems": 2,
        "maxItems": 2,
    } in kernel


def test_internal_fields_are_not_in_the_schema() -> None:
    schema = json_schema()
    assert "field_spans" not in _keys(schema)
    dense = schema["$defs"]["Dense"]
    assert dense["additionalProperties"] is False
    assert dense["required"] == ["units"]
    assert dense["properties"]["kind"]["const"] == "dense"


@functools.cache
def committed_validator(draft: str) -> Any:
    return VALIDATORS[draft](json.loads((ROOT / FILES[draft]).read_text(encoding="utf-8")))


@pytest.mark.parametrize("draft", list(DRAFTS))
@pytest.mark.parametrize("spec", SPECS, ids=lambda p: p.stem)
def test_every_spec_ir_validates(spec: Path, draft: str) -> None:
    analysis = analyze(spec.read_text(), str(spec))
    assert analysis.ok
    validator = committed_validator(draft)
    data = analysis.spec.model_dump(mode="json")
    for instance in (data, strip_spans(data)):  # `specc ir --spans` and `specc ir`
        errors = [e.message for e in validator.iter_errors(instance)]
        assert not errors, errors[:3]


@pytest.mark.parametrize("draft", list(DRAFTS))
def test_schema_rejects_what_the_ir_rejects(draft: str) -> None:
    validator = VALIDATORS[draft](json_schema(draft))

    def valid(layer: dict[str, Any]) -> bool:
        return validator.is_valid({"models": [{"name": "m", "layers": [layer]}]})

    assert valid({"kind": "dense", "units": 10})
    assert valid({"kind": "conv2d", "filters": 8, "kernel": [3, 3]})
    assert not valid({"kind": "dense", "units": 0})  # units >= 1
    assert not valid({"kind": "dense"})  # units required
    assert not valid({"kind": "dense", "units": 10, "activaton": "relu"})  # no such field
    assert not valid({"kind": "densee", "units": 10})  # no such kind
    assert not valid({"kind": "conv2d", "filters": 8, "kernel": [3, 3, 3]})  # a pair


def test_cli_prints_and_writes(tmp_path: Path) -> None:
    result = CliRunner().invoke(main, ["schema"])
    assert result.exit_code == 0
    assert json.loads(result.output)["$schema"] == DRAFTS["2020-12"]
    out = tmp_path / "s.json"
    result = CliRunner().invoke(main, ["schema", "--draft", "07", "-o", str(out)])
    assert result.exit_code == 0 and result.output == ""
    assert out.read_text(encoding="utf-8") == dumps("07")
    assert CliRunner().invoke(main, ["schema", "--draft", "04"]).exit_code == 2
    bad = CliRunner().invoke(main, ["schema", "-o", str(tmp_path / "no" / "such" / "s.json")])
    assert bad.exit_code == 2 and "cannot write" in bad.output
