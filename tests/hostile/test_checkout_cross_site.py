"""A page on another site cannot make a visitor's browser pay a link: the checkout's Pay refuses
what the browser marks as cross-site with a page, and no site may frame the checkout."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import IN_PROCESS_URL
from tests.sandbox.support import create

CROSS_SITE = {
    "another origin": {"Origin": "https://evil.example"},
    "another origin, cross-site fetch": {
        "Origin": "https://evil.example",
        "Sec-Fetch-Site": "cross-site",
    },
    "a sandboxed frame or data: page (Origin null)": {"Origin": "null"},
    "a sibling site": {"Sec-Fetch-Site": "same-site", "Origin": "http://shop.sandbox.test"},
    "a cross-site fetch without Origin": {"Sec-Fetch-Site": "cross-site"},
    "a text/plain form from elsewhere": {
        "Origin": "https://evil.example",
        "Content-Type": "text/plain",
    },
    "another port of the same host": {"Origin": "http://sandbox.test:8443"},
}

SAME_PAGE = {
    "the page itself (Sec-Fetch-Site)": {"Sec-Fetch-Site": "same-origin", "Origin": IN_PROCESS_URL},
    "the page itself (Origin only)": {"Origin": IN_PROCESS_URL},
    "no browser headers (a script, curl)": {},
    "the user's own navigation": {"Sec-Fetch-Site": "none"},
}


@pytest.fixture
def customer(sandbox_app: Any, client_for: Callable[..., httpx.Client]) -> httpx.Client:
    return client_for(sandbox_app, None, base_path="")


@pytest.mark.parametrize("headers", CROSS_SITE.values(), ids=CROSS_SITE.keys())
def test_a_cross_site_pay_is_refused_with_a_page_and_pays_nothing(
    api: httpx.Client, customer: httpx.Client, headers: dict[str, str]
) -> None:
    link = create(api)
    path = httpx.URL(link["url"]).path
    refused = customer.post(path, headers=headers, content=b"")
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("text/html")
    assert "another website" in refused.text and "Nothing was paid" in refused.text
    assert refused.headers["x-frame-options"] == "DENY"
    assert api.get(f"/payment-links/{link['id']}").json()["status"] == "active"


@pytest.mark.parametrize("headers", SAME_PAGE.values(), ids=SAME_PAGE.keys())
def test_pay_from_the_page_itself_still_pays(
    api: httpx.Client, customer: httpx.Client, headers: dict[str, str]
) -> None:
    link = create(api)
    paid = customer.post(httpx.URL(link["url"]).path, headers=headers)
    assert paid.status_code == 303
    assert api.get(f"/payment-links/{link['id']}").json()["status"] == "paid"


def test_no_site_may_frame_any_checkout_page(api: httpx.Client, customer: httpx.Client) -> None:
    link = create(api)
    for response in (
        customer.get(httpx.URL(link["url"]).path),
        customer.get("/pay/pl_doesnotexist"),
        customer.delete("/pay/pl_doesnotexist"),
    ):
        assert response.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in response.headers["content-security-policy"]


def test_every_refusal_on_checkout_ground_is_a_page_for_people(
    api: httpx.Client, customer: httpx.Client
) -> None:
    link = create(api)
    path = httpx.URL(link["url"]).path
    for response, status in (
        (customer.post(path, content=b"x" * 100_000, headers={"Content-Type": "text/plain"}), 413),
        (customer.post(path, content=b"a=1", headers={"Content-Encoding": "gzip"}), 415),
        (customer.post(path, headers={"Content-Length": "-1"}), 400),
    ):
        assert response.status_code == status
        assert response.headers["content-type"].startswith("text/html")
        assert "Nothing was paid" in response.text
    assert api.get(f"/payment-links/{link['id']}").json()["status"] == "active"
