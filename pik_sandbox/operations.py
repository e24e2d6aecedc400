"""openapi.yaml read once into what serving a request needs: each operation's route, security,
parameters and body with their schemas compiled, and the schema of each documented answer.

Nothing here knows the payment-links API: a new operation in the document is routed, checked and
handed to the handler named after its operationId without a change to this module.
"""

from __future__ import annotations

import builtins
import keyword
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from pik_sandbox.validation import ParameterRule, SchemaCheck

METHODS: Final = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
JSON_MEDIA_TYPE: Final = "application/json"
# Names a handler's keyword arguments may not take as they are, Python's keywords and builtins:
# `id` becomes `id_`.
_SHADOWED: Final = frozenset(keyword.kwlist) | frozenset(dir(builtins))


def python_name(name: str) -> str:
    """A parameter's name as a handler's keyword argument: snake_case, `id` as `id_`."""
    snake = re.sub(r"(?<!^)(?=[A-Z])", "_", name).replace("-", "_").lower()
    return snake + "_" if snake in _SHADOWED else snake


def handler_name(operation_id: str) -> str:
    """The handler function of an operationId: createPaymentLink -> create_payment_link."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", operation_id).lower()


def resolve_refs(node: Any, document: Mapping[str, Any], seen: tuple[str, ...] = ()) -> Any:
    """`node` with every local `$ref` replaced by a copy of what it points at."""
    if isinstance(node, dict):
        reference = node.get("$ref")
        if isinstance(reference, str) and reference.startswith("#/"):
            if reference in seen:
                raise ValueError(f"openapi.yaml: {reference} refers to itself")
            target: Any = document
            for part in reference[2:].split("/"):
                target = target[part.replace("~1", "/").replace("~0", "~")]
            return resolve_refs(target, document, (*seen, reference))
        return {key: resolve_refs(value, document, seen) for key, value in node.items()}
    if isinstance(node, list):
        return [resolve_refs(item, document, seen) for item in node]
    return node


@dataclass(frozen=True)
class Body:
    """An operation's JSON request body."""

    required: bool
    check: SchemaCheck


@dataclass(frozen=True)
class Operation:
    """One operation of the document, ready to serve."""

    operation_id: str
    method: str
    path: str
    secured: bool
    query: tuple[ParameterRule, ...]
    path_parameters: tuple[ParameterRule, ...]
    body: Body | None
    # Whether the operation declares request content at all (its media types are checked even
    # when the request sends none).
    consumes: tuple[str, ...]
    # Every documented status, with the schema of its JSON body when it has one.
    responses: Mapping[int, SchemaCheck | None]
    handler: Callable[..., Any]
    query_names: frozenset[str] = field(init=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "query_names", frozenset(rule.name for rule in self.query))


@dataclass(frozen=True)
class PathItem:
    """A documented path: its template and its operations by upper-case method."""

    template: str
    operations: Mapping[str, Operation]

    @property
    def allowed(self) -> list[str]:
        """The methods the document has on this path, in its order (for `Allow`)."""
        return list(self.operations)


def _parameters(path_item: Mapping[str, Any], operation: Mapping[str, Any]) -> list[Any]:
    """The operation's parameters: the path item's, overridden by the operation's own."""
    merged: dict[tuple[str, str], Any] = {}
    for parameter in [*path_item.get("parameters", []), *operation.get("parameters", [])]:
        merged[parameter["name"], parameter["in"]] = parameter
    return list(merged.values())


def _rules(parameters: list[Any], location: str) -> tuple[ParameterRule, ...]:
    return tuple(
        ParameterRule(parameter, python_name(parameter["name"]))
        for parameter in parameters
        if parameter["in"] == location
    )


def _secured(document: Mapping[str, Any], operation: Mapping[str, Any]) -> bool:
    """Whether the operation needs the bearer key (its own `security`, else the document's)."""
    requirements = operation.get("security", document.get("security", []))
    return any(requirements) if requirements else False


def _responses(operation: Mapping[str, Any]) -> dict[int, SchemaCheck | None]:
    checks: dict[int, SchemaCheck | None] = {}
    for status, response in operation.get("responses", {}).items():
        if str(status).isdigit():
            schema = response.get("content", {}).get(JSON_MEDIA_TYPE, {}).get("schema")
            checks[int(status)] = (
                None
                if schema is None
                else SchemaCheck(schema, subject="response body", own_formats=True)
            )
    return checks


def _body(operation: Mapping[str, Any]) -> Body | None:
    request_body = operation.get("requestBody")
    if request_body is None:
        return None
    content = request_body.get("content", {})
    schema = content.get(JSON_MEDIA_TYPE, {}).get("schema")
    if schema is None:
        return None
    return Body(
        required=bool(request_body.get("required", False)),
        check=SchemaCheck(schema),
    )


def read_operations(
    document: Mapping[str, Any], find_handler: Callable[[str], Callable[..., Any]]
) -> list[PathItem]:
    """Every documented path with its operations, in the document's order."""
    resolved = resolve_refs(document, document)
    items: list[PathItem] = []
    for template, path_item in resolved.get("paths", {}).items():
        operations: dict[str, Operation] = {}
        for method in (m for m in path_item if m in METHODS):
            operation = path_item[method]
            parameters = _parameters(path_item, operation)
            body = _body(operation)
            operations[method.upper()] = Operation(
                operation_id=operation["operationId"],
                method=method.upper(),
                path=template,
                secured=_secured(resolved, operation),
                query=_rules(parameters, "query"),
                path_parameters=_rules(parameters, "path"),
                body=body,
                consumes=tuple(
                    media_type.lower()
                    for media_type in operation.get("requestBody", {}).get("content", {})
                ),
                responses=_responses(operation),
                handler=find_handler(operation["operationId"]),
            )
        items.append(PathItem(template, operations))
    return items


def all_operations(items: list[PathItem]) -> Iterator[Operation]:
    """Every operation of `items`."""
    for item in items:
        yield from item.operations.values()
