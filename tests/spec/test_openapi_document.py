"""openapi.yaml is a valid OpenAPI 3.0.3 document that says what PIK documents, and its schemas
accept the seed's examples and reject what PIK would reject."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from openapi_spec_validator import validate
from openapi_spec_validator.readers import read_from_filename

from tests.support.openapi_doc import (
    SPEC_PATH,
    component_schema,
    iter_examples,
    load_document,
    load_seed,
    resolve,
    schema_errors,
)

OPERATIONS = {
    ("post", "/payment-links"): "createPaymentLink",
    ("get", "/payment-links"): "listPaymentLinks",
    ("get", "/payment-links/{id}"): "getPaymentLink",
    ("post", "/sandbox/payment-links/{id}/simulate"): "simulatePaymentLink",
    ("post", "/webhooks"): "createWebhook",
    ("get", "/webhooks"): "listWebhooks",
}
HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options", "trace"}


def operations() -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method, path, operation)
        for path, item in load_document()["paths"].items()
        for method, operation in item.items()
        if method in HTTP_METHODS
    ]


def test_document_is_valid_openapi_3_0_3() -> None:
    spec_dict, base_uri = read_from_filename(str(SPEC_PATH))
    validate(spec_dict, base_uri=base_uri)
    assert spec_dict["openapi"] == "3.0.3"


def test_document_has_exactly_the_documented_operations() -> None:
    found = {(method, path): op["operationId"] for method, path, op in operations()}
    assert found == OPERATIONS


@pytest.mark.parametrize("field", ["operationId", "summary", "description", "tags"])
def test_every_operation_is_described(field: str) -> None:
    missing = [f"{m.upper()} {p}" for m, p, op in operations() if not op.get(field)]
    assert missing == []


def test_info_has_description_contact_and_license() -> None:
    info = load_document()["info"]
    assert info["description"].strip()
    assert info["contact"]["url"]
    assert info["license"]["name"]


def test_servers_are_production_and_sandbox() -> None:
    urls = [server["url"] for server in load_document()["servers"]]
    assert urls == ["https://api.pik.global/v1", "https://api-sandbox.pik.global/v1"]


def test_every_operation_requires_the_bearer_key() -> None:
    document = load_document()
    assert document["components"]["securitySchemes"]["bearerAuth"] == {
        "type": "http",
        "scheme": "bearer",
        "description": document["components"]["securitySchemes"]["bearerAuth"]["description"],
    }
    for method, path, operation in operations():
        assert operation.get("security", document["security"]) == [{"bearerAuth": []}], (
            method,
            path,
        )


def test_every_operation_documents_auth_rate_limit_and_server_errors() -> None:
    for method, path, operation in operations():
        responses = resolve(operation["responses"])
        for status, code in (
            ("401", "unauthorized"),
            ("403", "forbidden"),
            ("429", "rate_limited"),
        ):
            examples = responses[status]["content"]["application/json"]["examples"]
            codes = {example["value"]["error"]["code"] for example in examples.values()}
            assert codes == {code}, (method, path, status)
        assert "500" in responses, (method, path)
        assert "Retry-After" in responses["429"]["headers"], (method, path)


def test_lookups_by_id_document_404_and_writes_document_422() -> None:
    by_id = {op["operationId"]: op for _, _, op in operations()}
    for operation_id in ("getPaymentLink", "simulatePaymentLink"):
        assert "404" in by_id[operation_id]["responses"]
    for operation_id in ("createPaymentLink", "simulatePaymentLink"):
        assert "422" in by_id[operation_id]["responses"]


def test_document_tells_400_from_422() -> None:
    text = load_document()["info"]["description"]
    assert "| 400 | `invalid_request` |" in text
    assert "| 422 | `unprocessable_entity` |" in text
    for phrase in ("unsupported asset", "amount of zero", "more decimals"):
        assert phrase in text


def test_create_links_to_get_and_simulate() -> None:
    links = load_document()["paths"]["/payment-links"]["post"]["responses"]["201"]["links"]
    targets = {link["operationId"]: link["parameters"] for link in links.values()}
    assert targets == {
        "getPaymentLink": {"id": "$response.body#/id"},
        "simulatePaymentLink": {"id": "$response.body#/id"},
    }


def test_list_parameters_are_bounded() -> None:
    listed = resolve(load_document()["paths"]["/payment-links"]["get"]["parameters"])
    parameters = {p["name"]: p for p in listed}
    assert parameters["limit"]["schema"]["minimum"] == 1
    assert parameters["limit"]["schema"]["maximum"] == 100
    assert parameters["limit"]["schema"]["default"] == 20
    assert parameters["offset"]["schema"]["minimum"] == 0
    assert parameters["offset"]["schema"]["default"] == 0
    # No server's integer type overflows on an offset the document allows.
    assert parameters["offset"]["schema"]["maximum"] <= 2**31 - 1
    assert parameters["status"]["schema"]["enum"] == ["active", "paid", "expired", "deactivated"]


EXAMPLES = list(iter_examples(load_document()))


def test_document_states_examples_everywhere() -> None:
    """Every request body, every response body, every parameter and every component schema."""
    document = load_document()
    missing = []
    for method, path, operation in operations():
        bodies = [("request", operation.get("requestBody"))]
        bodies += [(status, answer) for status, answer in operation["responses"].items()]
        for where, body in bodies:
            if body is None:
                continue
            media = resolve(body).get("content", {}).get("application/json")
            if media is not None and not (media.get("examples") or media.get("example")):
                missing.append(f"{method.upper()} {path} {where}")
        for parameter in resolve(operation.get("parameters", [])):
            if "example" not in parameter:
                missing.append(f"{method.upper()} {path} parameter {parameter['name']}")
    for name, schema in document["components"]["schemas"].items():
        if "example" not in schema and schema.get("type") != "object":
            missing.append(f"schema {name}")
        for prop, definition in schema.get("properties", {}).items():
            described_elsewhere = "$ref" in definition or definition.get("type") == "array"
            if not described_elsewhere and "example" not in definition:
                missing.append(f"schema {name}.{prop}")
    assert missing == []


@pytest.mark.parametrize(("where", "schema", "example"), EXAMPLES, ids=[e[0] for e in EXAMPLES])
def test_every_example_validates_against_its_schema(
    where: str, schema: dict[str, Any], example: Any
) -> None:
    assert schema_errors(schema, example) == []


def _media_example(path: str, method: str, where: str, name: str) -> Any:
    operation = load_document()["paths"][path][method]
    if where == "request":
        content = operation["requestBody"]["content"]
    else:
        content = resolve(operation["responses"][where])["content"]
    return resolve(content["application/json"]["examples"][name])["value"]


@pytest.mark.parametrize(
    ("seed", "path", "method", "where", "name"),
    [
        ("create_request.json", "/payment-links", "post", "request", "order"),
        ("create_201.json", "/payment-links", "post", "201", "created"),
        ("list_200.json", "/payment-links", "get", "200", "activePage"),
        ("get_200_paid.json", "/payment-links/{id}", "get", "200", "paid"),
        ("error_404.json", "/payment-links/{id}", "get", "404", "notFound"),
    ],
)
def test_seed_examples_are_in_the_document_verbatim(
    seed: str, path: str, method: str, where: str, name: str
) -> None:
    assert _media_example(path, method, where, name) == load_seed(seed)


SEED_LINK = load_seed("create_201.json")


@pytest.mark.parametrize(
    ("schema_name", "instance", "reason"),
    [
        ("CreatePaymentLinkRequest", {"amount": 75.0, "currency": "USDT"}, "numeric amount"),
        ("CreatePaymentLinkRequest", {"amount": "75.00"}, "missing currency"),
        ("CreatePaymentLinkRequest", {"amount": "-1", "currency": "USDT"}, "signed amount"),
        ("CreatePaymentLinkRequest", {"amount": "1e3", "currency": "USDT"}, "exponent"),
        ("CreatePaymentLinkRequest", {"amount": "75.", "currency": "USDT"}, "bare point"),
        ("CreatePaymentLinkRequest", {"amount": "1", "currency": "usdt"}, "lower-case asset"),
        ("CreatePaymentLinkRequest", {"amount": "1", "currency": "USDT", "x": 1}, "unknown field"),
        ("PaymentLink", {**SEED_LINK, "status": "refunded"}, "unknown status"),
        ("PaymentLink", {k: v for k, v in SEED_LINK.items() if k != "id"}, "no id"),
        ("PaymentLink", {**SEED_LINK, "id": "abc123"}, "id without pl_"),
        ("PaymentLink", {**SEED_LINK, "created_at": "yesterday"}, "bad timestamp"),
        ("PaymentLinkList", {"data": [], "total": 0, "limit": 10}, "no offset"),
        ("SimulatePaymentLinkRequest", {"status": "active"}, "back to active"),
        ("ErrorResponse", {"error": {"code": "not_found"}}, "no message"),
    ],
)
def test_schemas_reject_what_they_must(
    schema_name: str, instance: dict[str, Any], reason: str
) -> None:
    assert schema_errors(component_schema(schema_name), instance), reason


@pytest.mark.parametrize(
    ("schema_name", "instance"),
    [
        ("PaymentLink", {**SEED_LINK, "currency": "SOL", "risk_score": 3}),
        ("PaymentLink", {k: v for k, v in SEED_LINK.items() if k != "description"}),
        ("CreatePaymentLinkRequest", {"amount": "0.000000000000000001", "currency": "ETH"}),
    ],
    ids=["new asset and new field", "no description", "eighteen decimals"],
)
def test_schemas_accept_what_must_stay_open(schema_name: str, instance: dict[str, Any]) -> None:
    assert schema_errors(component_schema(schema_name), copy.deepcopy(instance)) == []


def test_pagination_extension_names_fields_the_page_has() -> None:
    """The client generator gives an operation iterators from `x-pik-pagination`: a misspelt
    field would silently drop them, so every name must be a field of the page or a parameter."""
    marked = 0
    for _, _, operation in operations():
        for answer in operation["responses"].values():
            spec = answer.get("x-pik-pagination")
            if spec is None:
                continue
            marked += 1
            page = resolve(answer["content"]["application/json"]["schema"])
            parameters = {p["name"] for p in resolve(operation.get("parameters", []))}
            assert page["properties"][spec["items"]]["type"] == "array"
            for field in ("total", "limit", "offset"):
                assert spec[field] in page["required"], field
            assert {spec["limit"], spec["offset"]} <= parameters
    assert marked == 1
