"""The hosted checkout page over HTTP: content, escaping, paying, final states, 404."""

from __future__ import annotations

import re
from collections.abc import Callable
from html.parser import HTMLParser

import httpx
import pytest

from tests.sandbox.support import create, simulate


class _Collector(HTMLParser):
    """The parts of a page the tests look at."""

    def __init__(self) -> None:
        super().__init__()
        self.lang: str | None = None
        self.title = ""
        self.buttons: list[str] = []
        self.forms: list[dict[str, str | None]] = []
        self.external: list[str] = []
        self.scripts = 0
        self._in: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "html":
            self.lang = values.get("lang")
        if tag == "form":
            self.forms.append(values)
        if tag == "script":
            self.scripts += 1
        for name in ("src", "href", "action"):
            value = values.get(name)
            if value and re.match(r"^(https?:)?//", value):
                self.external.append(value)
        self._in.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if self._in and self._in[-1] == tag:
            self._in.pop()

    def handle_data(self, data: str) -> None:
        if "title" in self._in:
            self.title += data
        if "button" in self._in:
            self.buttons.append(data.strip())


def parse(html: str) -> _Collector:
    """Read a page."""
    collector = _Collector()
    collector.feed(html)
    return collector


@pytest.fixture
def customer(sandbox_app: object, client_for: Callable[..., httpx.Client]) -> httpx.Client:
    """A browser-like client without an API key: the customer."""
    return client_for(sandbox_app, None, base_path="")


def page_path(link: dict[str, str]) -> str:
    """The checkout page's path, from the link's `url`."""
    return httpx.URL(link["url"]).path


def test_an_active_link_shows_its_details_and_a_pay_button(
    api: httpx.Client, customer: httpx.Client
) -> None:
    link = create(api, amount="75.00", currency="USDT", description="Order #1234")
    response = customer.get(page_path(link))
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = parse(response.text)
    assert page.lang == "en"
    assert "75.00 USDT" in page.title
    assert "75.00" in response.text and "USDT" in response.text
    assert "Order #1234" in response.text
    assert "Awaiting payment" in response.text
    assert page.buttons == ["Pay"]
    assert page.forms and page.forms[0].get("method") == "post"
    assert page.external == [] and page.scripts == 0
    assert "default-src 'none'" in response.headers["content-security-policy"]


def test_the_description_is_html_escaped(api: httpx.Client, customer: httpx.Client) -> None:
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)> & "quotes"'
    link = create(api, description=evil)
    text = customer.get(page_path(link)).text
    assert "<script>" not in text and "<img" not in text
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in text
    assert "&amp; &quot;quotes&quot;" in text


def test_paying_marks_the_link_paid_then_shows_it_paid(
    api: httpx.Client, customer: httpx.Client
) -> None:
    link = create(api)
    paid = customer.post(page_path(link))
    assert paid.status_code == 303
    assert paid.headers["location"] == page_path(link)
    after = api.get(f"/payment-links/{link['id']}").json()
    assert after["status"] == "paid" and after["paid_at"]
    shown = customer.get(page_path(link))
    assert "Paid" in shown.text and parse(shown.text).buttons == []
    # Paying again (a reload, a double click) changes nothing.
    assert customer.post(page_path(link)).status_code == 303
    assert api.get(f"/payment-links/{link['id']}").json() == after


@pytest.mark.parametrize(
    ("status", "wording"),
    [("paid", "has been paid"), ("expired", "expired"), ("deactivated", "deactivated")],
)
def test_final_states_are_shown_plainly_without_a_pay_button(
    api: httpx.Client, customer: httpx.Client, status: str, wording: str
) -> None:
    link = create(api)
    simulate(api, link["id"], status)
    response = customer.get(page_path(link))
    assert response.status_code == 200
    page = parse(response.text)
    assert page.buttons == [] and page.forms == []
    assert wording in response.text
    # A POST by hand cannot pay it either.
    assert customer.post(page_path(link)).status_code == 303
    assert api.get(f"/payment-links/{link['id']}").json()["status"] == status


def test_an_unknown_link_is_a_404_page(customer: httpx.Client) -> None:
    for method in ("GET", "POST"):
        response = customer.request(method, "/pay/pl_doesnotexist")
        assert response.status_code == 404
        assert response.headers["content-type"].startswith("text/html")
        assert "not found" in response.text.lower()
        assert parse(response.text).lang == "en"


@pytest.mark.parametrize("path", ["/pay", "/pay/", "/pay/a/b", "/pay/pl_abc123/", "/pay/pl_x/y"])
def test_a_checkout_address_with_no_link_is_a_404_page(customer: httpx.Client, path: str) -> None:
    response = customer.get(path)
    assert response.status_code == 404
    assert response.headers["content-type"].startswith("text/html")
    assert "not found" in response.text.lower()
    assert parse(response.text).lang == "en"


@pytest.mark.parametrize("method", ["DELETE", "PUT", "PATCH"])
def test_a_wrong_method_on_a_checkout_page_is_a_405_page(
    customer: httpx.Client, method: str
) -> None:
    response = customer.request(method, "/pay/pl_abc123")
    assert response.status_code == 405
    assert response.headers["content-type"].startswith("text/html")
    assert {"GET", "POST"} <= {m.strip() for m in response.headers["allow"].split(",")}
    page = parse(response.text)
    assert page.lang == "en" and page.buttons == []
