"""The JSON Schema of the IR, for editors and YAML/JSON tooling (`specc schema`).

The schema comes from the pydantic IR itself (`Spec.model_json_schema()`), so it can never
disagree with what the builder accepts. Two drafts are produced:

- 2020-12, pydantic's native output, with `$schema` naming the draft;
- draft-07, for tools that stop there (yaml-language-server, many editor plugins):
  `$defs` becomes `definitions`, tuple `prefixItems` becomes array-form `items`, `$ref`
  with sibling keywords is wrapped in `allOf` (draft-07 ignores a `$ref`'s siblings), and
  keywords draft-07 does not know are dropped.

The generated files are committed under schema/; tests fail when they go stale.
"""

from __future__ import annotations

import json
from typing import Any

DRAFTS = {
    "2020-12": "https://json-schema.org/draft/2020-12/schema",
    "07": "http://json-schema.org/draft-07/schema#",
}
# Committed file per draft, relative to the repository root.
FILES = {"2020-12": "schema/specc.schema.json", "07": "schema/specc.draft-07.schema.json"}
REGENERATE = (
    "python -m specc schema -o schema/specc.schema.json && "
    "python -m specc schema --draft 07 -o schema/specc.draft-07.schema.json"
)

# Validation keywords introduced after draft-07; a draft-07 validator would ignore them
# silently, so dropping them keeps the file honest about what it checks.
_NEWER_KEYWORDS = frozenset(
    {
        "unevaluatedProperties",
        "unevaluatedItems",
        "dependentRequired",
        "dependentSchemas",
        "minContains",
        "maxContains",
        "$anchor",
        "$dynamicRef",
        "$dynamicAnchor",
        "$vocabulary",
        "contentSchema",
    }
)
# Fields of the IR that are bookkeeping, not data: never in `specc ir` output.
_INTERNAL_FIELDS = ("field_spans",)


def json_schema(draft: str = "2020-12") -> dict[str, Any]:
    """The IR's JSON Schema in the given draft (`2020-12` or `07`)."""
    if draft not in DRAFTS:
        raise ValueError(f"unknown draft {draft!r}; known: {', '.join(DRAFTS)}")
    from specc.ir.docs import describe_schema
    from specc.ir.spec import Spec

    schema = _without_internal(describe_schema(Spec.model_json_schema()))
    schema = {
        "$schema": DRAFTS[draft],
        "title": "specc spec",
        "description": "The typed IR of a .nn spec (`specc ir` prints it for any spec).",
        **{k: v for k, v in schema.items() if k not in ("title", "description")},
    }
    if draft == "07":
        schema = _to_draft07(schema)
    return schema


def dumps(draft: str = "2020-12") -> str:
    """The schema as the committed files hold it: 2-space indent, final newline."""
    return json.dumps(json_schema(draft), indent=2, ensure_ascii=False) + "\n"


def _without_internal(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _without_internal(v) for k, v in node.items()}
        props = out.get("properties")
        if isinstance(props, dict) and out.get("type") == "object":
            out["properties"] = {k: v for k, v in props.items() if k not in _INTERNAL_FIELDS}
        return out
    if isinstance(node, list):
        return [_without_internal(v) for v in node]
    return node


def _to_draft07(node: Any) -> Any:
    if isinstance(node, list):
        return [_to_draft07(v) for v in node]
    if not isinstance(node, dict):
        return node.replace("#/$defs/", "#/definitions/") if isinstance(node, str) else node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key in _NEWER_KEYWORDS:
            continue
        if key == "$defs":
            out["definitions"] = {name: _to_draft07(v) for name, v in value.items()}
        elif key == "prefixItems":
            out["items"] = _to_draft07(value)  # draft-07's tuple form
            if "items" in node:
                out["additionalItems"] = _to_draft07(node["items"])
        elif key == "items" and "prefixItems" in node:
            continue  # became additionalItems above
        else:  # includes `discriminator`, an OpenAPI annotation whose mapping holds refs
            out[key] = _to_draft07(value)
    if "$ref" in out and len(out) > 1:
        ref = out.pop("$ref")
        out["allOf"] = [{"$ref": ref}, *out.get("allOf", [])]
    return out
