"""Reading openapi.yaml; validating instances against its schemas as OpenAPI 3.0 defines them."""

from __future__ import annotations

import json
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import FormatChecker
from openapi_schema_validator import OAS30Validator

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT / "openapi.yaml"
SEED_DIR = REPO_ROOT / "tests" / "fixtures" / "seed"


@cache
def load_document() -> dict[str, Any]:
    """The parsed openapi.yaml (cached; callers must not mutate it)."""
    document: dict[str, Any] = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    return document


def load_seed(name: str) -> Any:
    """One of the seed's verbatim JSON examples from tests/fixtures/seed/."""
    return json.loads((SEED_DIR / name).read_text(encoding="utf-8"))


def resolve(node: Any, document: dict[str, Any] | None = None) -> Any:
    """`node` with every local `$ref` replaced by its target, recursively."""
    document = document if document is not None else load_document()
    if isinstance(node, dict):
        if "$ref" in node:
            target: Any = document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            return resolve(target, document)
        return {key: resolve(value, document) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve(item, document) for item in node]
    return node


def schema_errors(schema: dict[str, Any], instance: Any) -> list[str]:
    """Why `instance` fails `schema` (OpenAPI 3.0 dialect, formats checked); empty when valid."""
    validator = OAS30Validator(resolve(schema), format_checker=FormatChecker())
    return [error.message for error in validator.iter_errors(instance)]


def component_schema(name: str) -> dict[str, Any]:
    """A schema from components/schemas, with its references resolved."""
    schema: dict[str, Any] = resolve(load_document()["components"]["schemas"][name])
    return schema


def iter_examples(node: Any, path: str = "#") -> Iterator[tuple[str, dict[str, Any], Any]]:
    """Every (location, schema, example value) pair the document states.

    Covers `example` beside a schema or inside one (parameters, media types, schemas and their
    properties) and each entry of `examples` on parameters and media types.
    """
    if isinstance(node, dict):
        schema = node.get("schema")
        if isinstance(schema, dict):
            if "example" in node:
                yield f"{path}/example", schema, node["example"]
            for name, example in node.get("examples", {}).items():
                yield f"{path}/examples/{name}", schema, resolve(example)["value"]
        if "example" in node and _looks_like_schema(node):
            yield f"{path}/example", node, node["example"]
        for key, value in node.items():
            if key not in ("example", "examples"):
                yield from iter_examples(value, f"{path}/{key}")
    elif isinstance(node, list):
        for index, item in enumerate(node):
            yield from iter_examples(item, f"{path}/{index}")


def _looks_like_schema(node: dict[str, Any]) -> bool:
    return any(key in node for key in ("type", "properties", "$ref", "enum", "allOf", "oneOf"))
