"""Creating, reading and simulating payment links over HTTP, in-process."""

from __future__ import annotations

import re
import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.sandbox.support import ORDER, assert_error, create

RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")


def test_create_returns_an_active_link_with_a_checkout_url(api: httpx.Client) -> None:
    link = create(api)
    assert re.fullmatch(r"pl_[A-Za-z0-9]{20,}", link["id"])
    assert link["url"] == f"http://sandbox.test/pay/{link['id']}"
    assert link["amount"] == "75.00"
    assert link["currency"] == "USDT"
    assert link["description"] == "Order #1234"
    assert link["status"] == "active"
    assert "paid_at" not in link
    assert RFC3339_Z.match(link["created_at"])
    created = datetime.strptime(link["created_at"], "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC)
    assert abs(datetime.now(UTC) - created) < timedelta(seconds=5)


def test_ids_are_unique_and_random(api: httpx.Client) -> None:
    ids = {create(api)["id"] for _ in range(20)}
    assert len(ids) == 20
    # Random, not sequential: no shared prefix beyond `pl_`.
    assert len({link_id[:6] for link_id in ids}) > 1


def test_description_is_optional_and_then_absent(api: httpx.Client) -> None:
    response = api.post("/payment-links", json={"amount": "1", "currency": "BTC"})
    assert response.status_code == 201
    assert "description" not in response.json()
    assert "description" not in api.get(f"/payment-links/{response.json()['id']}").json()


@pytest.mark.parametrize(
    ("amount", "currency"),
    [
        ("75.00", "USDT"),
        ("75", "USDT"),
        ("0.000001", "USDC"),
        ("0001.50", "USDT"),
        ("0.00000001", "BTC"),
        ("21000000.12345678", "BTC"),
        ("1.000000000000000001", "ETH"),
        ("123456789012345678901234567890.5", "ETH"),
    ],
)
def test_amount_is_kept_exactly_as_sent(api: httpx.Client, amount: str, currency: str) -> None:
    link = create(api, amount=amount, currency=currency)
    assert link["amount"] == amount
    assert api.get(f"/payment-links/{link['id']}").json()["amount"] == amount
    listed = api.get("/payment-links", params={"limit": 1}).json()["data"][0]
    assert listed["amount"] == amount


@pytest.mark.timeout(20)
def test_a_create_the_database_refuses_is_a_500_not_a_retry_for_ever(
    make_sandbox_app: Any, client_for: Any, tmp_path: Path
) -> None:
    # Only an id drawn twice is worth drawing again; any other refusal is final.
    db_path = tmp_path / "refusing.sqlite3"
    api = client_for(make_sandbox_app(db_path=db_path))
    with closing(sqlite3.connect(db_path)) as database:
        database.execute(
            "CREATE TRIGGER refuse BEFORE INSERT ON payment_links"
            " BEGIN SELECT RAISE(ABORT, 'no more links'); END"
        )
        database.commit()
    assert_error(api.post("/payment-links", json=ORDER), 500, "internal_error")


def test_get_returns_the_same_link(api: httpx.Client) -> None:
    link = create(api)
    response = api.get(f"/payment-links/{link['id']}")
    assert response.status_code == 200
    assert response.json() == link


def test_get_unknown_id_is_404(api: httpx.Client) -> None:
    assert_error(api.get("/payment-links/pl_doesnotexist123"), 404, "not_found")


@pytest.mark.parametrize("target", ["paid", "expired", "deactivated"])
def test_simulate_moves_an_active_link_into_a_final_state(api: httpx.Client, target: str) -> None:
    link = create(api)
    response = api.post(f"/sandbox/payment-links/{link['id']}/simulate", json={"status": target})
    assert response.status_code == 200, response.text
    moved = response.json()
    assert moved["status"] == target
    assert {k: v for k, v in moved.items() if k not in ("status", "paid_at")} == {
        k: v for k, v in link.items() if k != "status"
    }
    if target == "paid":
        assert RFC3339_Z.match(moved["paid_at"])
        assert moved["paid_at"] >= link["created_at"]
    else:
        assert "paid_at" not in moved
    assert api.get(f"/payment-links/{link['id']}").json() == moved


@pytest.mark.parametrize("first", ["paid", "expired", "deactivated"])
@pytest.mark.parametrize("second", ["paid", "expired", "deactivated"])
def test_a_final_state_never_changes(api: httpx.Client, first: str, second: str) -> None:
    link = create(api)
    url = f"/sandbox/payment-links/{link['id']}/simulate"
    final = api.post(url, json={"status": first}).json()
    assert_error(api.post(url, json={"status": second}), 422, "unprocessable_entity", first)
    assert api.get(f"/payment-links/{link['id']}").json() == final


def test_simulate_unknown_id_is_404(api: httpx.Client) -> None:
    response = api.post("/sandbox/payment-links/pl_nosuchlink/simulate", json={"status": "paid"})
    assert_error(response, 404, "not_found")


@pytest.mark.parametrize(
    ("fields", "mention"),
    [
        ({"currency": "DOGE"}, "currency"),
        ({"currency": "USDX"}, "currency"),
        ({"amount": "0"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": "000.000000"}, "amount"),
        ({"amount": "1.0000001", "currency": "USDT"}, "amount"),
        ({"amount": "1.0000001", "currency": "USDC"}, "amount"),
        ({"amount": "0.000000001", "currency": "BTC"}, "amount"),
        ({"amount": "0.0000000000000000001", "currency": "ETH"}, "amount"),
        ({"amount": "75.000000000", "currency": "USDT"}, "amount"),
    ],
)
def test_unacceptable_links_are_422_naming_the_field(
    api: httpx.Client, fields: dict[str, str], mention: str
) -> None:
    response = api.post("/payment-links", json={**ORDER, **fields})
    assert_error(response, 422, "unprocessable_entity", mention)
    assert api.get("/payment-links").json()["total"] == 0


def test_supported_assets_are_configurable(make_sandbox_app: Any, client_for: Any) -> None:
    client = client_for(make_sandbox_app(supported_assets={"SOL": 9}))
    assert (
        client.post("/payment-links", json={"amount": "1.5", "currency": "SOL"}).status_code == 201
    )
    response = client.post("/payment-links", json={"amount": "1", "currency": "USDT"})
    assert_error(response, 422, "unprocessable_entity", "currency", "SOL")
    too_precise = client.post("/payment-links", json={"amount": "1.0000000001", "currency": "SOL"})
    assert_error(too_precise, 422, "unprocessable_entity", "amount")


@pytest.mark.parametrize(
    ("body", "mention"),
    [
        ({"currency": "USDT"}, "amount"),
        ({"amount": "75.00"}, "currency"),
        ({"amount": 75, "currency": "USDT"}, "amount"),
        ({"amount": 75.5, "currency": "USDT"}, "amount"),
        ({"amount": "-1", "currency": "USDT"}, "amount"),
        ({"amount": "1e5", "currency": "USDT"}, "amount"),
        ({"amount": "1.", "currency": "USDT"}, "amount"),
        ({"amount": "", "currency": "USDT"}, "amount"),
        # The document's patterns end in `$`, which (as in ECMA-262) allows no final newline.
        ({"amount": "5\n", "currency": "BTC"}, "amount"),
        ({"amount": "5", "currency": "BTC\n"}, "currency"),
        ({"amount": "75.00", "currency": "usdt"}, "currency"),
        ({"amount": "75.00", "currency": None}, "currency"),
        ({"amount": "75.00", "currency": "USDT", "description": 5}, "description"),
        ({"amount": "75.00", "currency": "USDT", "description": "x" * 501}, "description"),
        ({"amount": "75.00", "currency": "USDT", "metadata": {}}, "metadata"),
        ([], "object"),
        ("75.00", "object"),
    ],
)
def test_requests_that_do_not_match_the_document_are_400(
    api: httpx.Client, body: Any, mention: str
) -> None:
    response = api.post("/payment-links", json=body)
    assert_error(response, 400, "invalid_request", mention)
    assert "Failed validating" not in response.text, "no schema dumps"
    assert api.get("/payment-links").json()["total"] == 0


@pytest.mark.parametrize(
    "body", [{}, {"status": "active"}, {"status": "refunded"}, {"status": "paid", "x": 1}]
)
def test_simulate_rejects_bodies_outside_the_document(api: httpx.Client, body: Any) -> None:
    link = create(api)
    response = api.post(f"/sandbox/payment-links/{link['id']}/simulate", json=body)
    assert_error(response, 400, "invalid_request")
    assert api.get(f"/payment-links/{link['id']}").json()["status"] == "active"


@pytest.mark.parametrize(
    ("query", "mention"),
    [
        ({"limit": 0}, "limit"),
        ({"limit": 101}, "limit"),
        ({"limit": "ten"}, "limit"),
        ({"offset": -1}, "offset"),
        ({"offset": 2**31}, "offset"),
        ({"status": "refunded"}, "status"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_list_parameters_are_400(
    api: httpx.Client, query: dict[str, Any], mention: str
) -> None:
    assert_error(api.get("/payment-links", params=query), 400, "invalid_request", mention)


@pytest.mark.parametrize(
    ("query", "mention"),
    [
        ("status=active&status=paid", "status"),
        ("limit=5&limit=6", "limit"),
        ("offset=0&offset=0", "offset"),
        ("limit=1_0", "limit"),
        ("limit=%EF%BC%95", "limit"),  # a full-width 5
        ("offset=%D9%A3", "offset"),  # an Arabic-Indic 3
        ("limit=%2B5", "limit"),
        ("limit=%205", "limit"),
        ("limit=5%20", "limit"),
    ],
)
def test_list_parameters_are_given_once_in_plain_digits(
    api: httpx.Client, query: str, mention: str
) -> None:
    assert_error(api.get(f"/payment-links?{query}"), 400, "invalid_request", mention)


def test_a_malformed_id_is_400(api: httpx.Client) -> None:
    assert_error(api.get("/payment-links/not-an-id"), 400, "invalid_request", "id")
