"""Helpers shared by the sandbox's HTTP tests."""

from __future__ import annotations

from typing import Any

import httpx

ORDER = {"amount": "75.00", "currency": "USDT", "description": "Order #1234"}


def create(api: httpx.Client, **fields: Any) -> dict[str, Any]:
    """Create a link (ORDER, with `fields` changed) and return its body."""
    response = api.post("/payment-links", json={**ORDER, **fields})
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def simulate(api: httpx.Client, link_id: str, status: str) -> httpx.Response:
    """Force a link into a final state."""
    return api.post(f"/sandbox/payment-links/{link_id}/simulate", json={"status": status})


def assert_error(response: httpx.Response, status: int, code: str, *mentions: str) -> None:
    """PIK's error shape, with the right status and code, and a message naming `mentions`."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message"}
    assert body["error"]["code"] == code
    message = body["error"]["message"]
    assert isinstance(message, str) and message
    assert "\n" not in message and len(message) < 300, "messages stay short and readable"
    for mention in mentions:
        assert mention in message, f"{mention!r} not in {message!r}"
