"""The hosted checkout page in real Chromium, driven by Playwright, against a live sandbox."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.sandbox.support import create, simulate

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

    from tests.conftest import SandboxProcess

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One headless Chromium for the module."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A fresh page in its own browser context (no cookies or cache shared between tests)."""
    context = browser.new_context()
    opened = context.new_page()
    yield opened
    context.close()


@pytest.fixture
def merchant(live_sandbox: SandboxProcess) -> Iterator[httpx.Client]:
    """The merchant's side: the live sandbox's API with the first account's key."""
    with live_sandbox.client() as client:
        yield client


def test_a_customer_pays_on_the_checkout_page(
    page: Page, merchant: httpx.Client, live_sandbox: SandboxProcess
) -> None:
    from playwright.sync_api import expect

    link = create(merchant, description="Order <b>#1234</b>")
    origins: set[str] = set()
    page.on("request", lambda request: origins.add(re.sub(r"^(\w+://[^/]+).*", r"\1", request.url)))

    response = page.goto(link["url"])
    assert response is not None and response.status == 200
    expect(page).to_have_title(re.compile(r"75\.00 USDT"))
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page.get_by_text("75.00", exact=True)).to_be_visible()
    expect(page.get_by_text("USDT", exact=True)).to_be_visible()
    # Escaped, so shown as text rather than turned into markup.
    expect(page.get_by_text("Order <b>#1234</b>")).to_be_visible()
    expect(page.get_by_text("Awaiting payment")).to_be_visible()

    page.get_by_role("button", name="Pay").click()

    expect(page.get_by_text("This payment link has been paid")).to_be_visible()
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)
    assert page.url == link["url"], "after paying, the page is the link's own (POST-redirect-GET)"
    after = merchant.get(f"/payment-links/{link['id']}").json()
    assert after["status"] == "paid" and after["paid_at"]
    page.reload()
    expect(page.get_by_text("Paid", exact=True)).to_be_visible()
    assert origins == {live_sandbox.site_url}, "the page loads nothing from elsewhere"


@pytest.mark.parametrize("status", ["paid", "expired", "deactivated"])
def test_final_states_have_no_pay_button(page: Page, merchant: httpx.Client, status: str) -> None:
    from playwright.sync_api import expect

    link = create(merchant)
    assert simulate(merchant, link["id"], status).status_code == 200
    page.goto(link["url"])
    expect(page.get_by_role("status")).to_contain_text(status)
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)


def test_an_unknown_link_shows_a_404_page(page: Page, live_sandbox: SandboxProcess) -> None:
    from playwright.sync_api import expect

    response = page.goto(f"{live_sandbox.site_url}/pay/pl_doesnotexist")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Payment link not found")).to_be_visible()
    expect(page.get_by_role("button", name="Pay")).to_have_count(0)


def test_the_interactive_docs_work_offline(page: Page, live_sandbox: SandboxProcess) -> None:
    from playwright.sync_api import expect

    origins: set[str] = set()
    page.on("request", lambda request: origins.add(re.sub(r"^(\w+://[^/]+).*", r"\1", request.url)))
    page.goto(f"{live_sandbox.site_url}/docs")
    # Swagger UI has fetched /openapi.yaml and rendered the operations.
    expect(page.get_by_text("Create a payment link").first).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("PIK Payment Links API"))).to_be_visible()
    assert origins == {live_sandbox.site_url}


def test_paying_in_chromium_delivers_the_signed_events(page: Page) -> None:
    """The whole merchant loop: a link paid on the checkout page in Chromium reaches the
    merchant's receiver as payment.confirmed then payment.settled, which the client verifies."""
    from pik_generated_client import Pik, webhooks
    from pik_sandbox.testing import run_sandbox
    from tests.webhooks.receiver import running_receiver

    with (
        running_receiver() as receiver,
        run_sandbox() as sandbox,
        Pik(api_key=sandbox.api_key, base_url=sandbox.base_url) as pik,
    ):
        endpoint = pik.webhooks.create(
            url=receiver.url, events=["payment.confirmed", "payment.settled"]
        )
        link = pik.payment_links.create(amount="75.00", currency="USDT", description="Order #7")
        page.goto(link.url)
        page.get_by_role("button", name="Pay").click()
        page.wait_for_url(link.url)
        events = [
            webhooks.verify(d.body, d.signature, endpoint.secret) for d in receiver.wait_for(2)
        ]
    assert [str(event.event) for event in events] == ["payment.confirmed", "payment.settled"]
    assert {event.data.payment_link_id for event in events} == {link.id}
