"""PIK's per-key rate limits: 60 creations and 300 other calls per rolling minute."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from pik_sandbox.testing import SandboxClock
from tests.conftest import OTHER_API_KEY
from tests.sandbox.support import ORDER, assert_error


def test_the_61st_creation_in_a_minute_is_429_with_retry_after(
    make_sandbox_app: Callable[..., Any], client_for: Any
) -> None:
    app = make_sandbox_app(rate_limit=True)
    api: httpx.Client = client_for(app)
    for _ in range(60):
        assert api.post("/payment-links", json=ORDER).status_code == 201
    refused = api.post("/payment-links", json=ORDER)
    assert_error(refused, 429, "rate_limited", "60")
    retry_after = refused.headers["retry-after"]
    assert retry_after.isdigit() and 1 <= int(retry_after) <= 60
    # Refused creations are not stored; other calls and other keys have their own budgets.
    listed = api.get("/payment-links")
    assert listed.status_code == 200 and listed.json()["total"] == 60
    other: httpx.Client = client_for(app, OTHER_API_KEY)
    assert other.post("/payment-links", json=ORDER).status_code == 201


def test_the_301st_other_call_in_a_minute_is_429(
    make_sandbox_app: Callable[..., Any], client_for: Any
) -> None:
    app = make_sandbox_app(rate_limit=True)
    api: httpx.Client = client_for(app)
    for _ in range(300):
        assert api.get("/payment-links", params={"limit": 1}).status_code == 200
    for path in ("/payment-links", "/payment-links/pl_abc123xyz"):
        refused = api.get(path)
        assert_error(refused, 429, "rate_limited", "300")
        assert refused.headers["retry-after"].isdigit()
    # Creations have their own budget.
    assert api.post("/payment-links", json=ORDER).status_code == 201
    assert client_for(app, OTHER_API_KEY).get("/payment-links").status_code == 200


def test_the_window_rolls(make_sandbox_app: Callable[..., Any], client_for: Any) -> None:
    clock = SandboxClock(frozen=True)
    api: httpx.Client = client_for(make_sandbox_app(rate_limit=True, clock=clock))
    for _ in range(59):
        assert api.post("/payment-links", json=ORDER).status_code == 201
    clock.advance(30)
    assert api.post("/payment-links", json=ORDER).status_code == 201
    refused = api.post("/payment-links", json=ORDER)
    assert refused.status_code == 429 and refused.headers["retry-after"] == "30"
    clock.advance(30)  # The first 59 have left the window; the 60th has not.
    for _ in range(59):
        assert api.post("/payment-links", json=ORDER).status_code == 201
    assert api.post("/payment-links", json=ORDER).status_code == 429


def test_rate_limits_can_be_switched_off(
    make_sandbox_app: Callable[..., Any], client_for: Any
) -> None:
    api: httpx.Client = client_for(make_sandbox_app(rate_limit=False))
    for _ in range(75):
        assert api.post("/payment-links", json=ORDER).status_code == 201
    for _ in range(310):
        assert api.get("/payment-links", params={"limit": 1}).status_code == 200
