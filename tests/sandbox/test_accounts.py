"""Each API key is an account: it sees and changes only its own links."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.sandbox.support import ORDER, assert_error, create

OPERATIONS = [
    ("POST", "/v1/payment-links", ORDER),
    ("GET", "/v1/payment-links", None),
    ("GET", "/v1/payment-links/pl_abc123xyz", None),
    ("POST", "/v1/sandbox/payment-links/pl_abc123xyz/simulate", {"status": "paid"}),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer sk_unknown", "Bearer", "Basic c2tfdGVzdDp4", "sk_test_owner_3f9a1c", ""],
)
def test_a_missing_or_unknown_key_is_401(
    anonymous_api: httpx.Client,
    method: str,
    path: str,
    body: Any,
    authorization: str | None,
) -> None:
    headers = {"Authorization": authorization} if authorization is not None else {}
    response = anonymous_api.request(method, path, json=body, headers=headers)
    assert_error(response, 401, "unauthorized", "API key")
    assert response.headers["www-authenticate"] == "Bearer"


def test_a_rejected_key_stores_nothing(anonymous_api: httpx.Client, api: httpx.Client) -> None:
    response = anonymous_api.post(
        "/v1/payment-links", json=ORDER, headers={"Authorization": "Bearer nope"}
    )
    assert response.status_code == 401
    assert api.get("/payment-links").json()["total"] == 0


def test_another_accounts_link_is_404_exactly_like_a_missing_one(
    api: httpx.Client, other_api: httpx.Client
) -> None:
    link = create(api)
    foreign = other_api.get(f"/payment-links/{link['id']}")
    missing = other_api.get("/payment-links/pl_thisdoesnotexist")
    assert_error(foreign, 404, "not_found")
    assert foreign.json() == missing.json(), "a 404 must not reveal that the link exists"


def test_another_account_cannot_simulate_a_link(api: httpx.Client, other_api: httpx.Client) -> None:
    link = create(api)
    for status in ("paid", "expired", "deactivated"):
        response = other_api.post(
            f"/sandbox/payment-links/{link['id']}/simulate", json={"status": status}
        )
        assert_error(response, 404, "not_found")
    assert api.get(f"/payment-links/{link['id']}").json() == link


def test_lists_never_show_another_accounts_links(
    api: httpx.Client, other_api: httpx.Client
) -> None:
    mine = {create(api, description=f"mine {i}")["id"] for i in range(3)}
    theirs = {create(other_api, description=f"theirs {i}")["id"] for i in range(2)}
    other_api.post(f"/sandbox/payment-links/{next(iter(theirs))}/simulate", json={"status": "paid"})
    for client, own, foreign in ((api, mine, theirs), (other_api, theirs, mine)):
        everything = client.get("/payment-links", params={"limit": 100}).json()
        assert {link["id"] for link in everything["data"]} == own
        assert everything["total"] == len(own)
        for status in ("active", "paid", "expired", "deactivated"):
            page = client.get("/payment-links", params={"status": status}).json()
            assert not {link["id"] for link in page["data"]} & foreign
    assert api.get("/payment-links", params={"status": "paid"}).json()["total"] == 0
    assert other_api.get("/payment-links", params={"status": "paid"}).json()["total"] == 1
