"""The cross-site payment as a real attack: a page on another origin, opened in Chromium, posts a
form to a link's checkout. The browser's own headers get it refused; the link stays unpaid."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING

import httpx
import pytest

from tests.browser.test_checkout_browser import CHROMIUM, CHROMIUM_ARGS
from tests.sandbox.support import create

if TYPE_CHECKING:
    from playwright.sync_api import Browser

    from tests.conftest import SandboxProcess

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        yield chromium
        chromium.close()


@pytest.fixture
def other_site() -> Iterator[tuple[int, dict[str, str]]]:
    """A web server of another origin whose one page is a form posting to `pages["target"]`."""
    pages: dict[str, str] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = (
                '<!DOCTYPE html><html><body><form method="post" action="'
                + pages["target"]
                + '"><button type="submit">Claim your prize</button></form></body></html>'
            ).encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server.server_address[1], pages
    server.shutdown()
    server.server_close()
    thread.join()


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"], ids=["cross-site", "other port"])
def test_a_form_on_another_site_cannot_pay_a_link(
    browser: Browser,
    live_sandbox: SandboxProcess,
    other_site: tuple[int, dict[str, str]],
    host: str,
) -> None:
    from playwright.sync_api import expect

    port, pages = other_site
    with live_sandbox.client() as merchant:
        link = create(merchant)
        pages["target"] = link["url"]
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"http://{host}:{port}/")
            with page.expect_navigation():
                page.get_by_role("button", name="Claim your prize").click()
            expect(page.get_by_role("heading", name="Payment not made")).to_be_visible()
            expect(page.get_by_role("alert")).to_contain_text("another website")
        finally:
            context.close()
        assert merchant.get(f"/payment-links/{link['id']}").json()["status"] == "active"
        # The same browser on the checkout page itself still pays.
        context = browser.new_context()
        try:
            page = context.new_page()
            page.goto(link["url"])
            page.get_by_role("button", name="Pay").click()
            expect(page.get_by_text("This payment link has been paid")).to_be_visible()
        finally:
            context.close()
        assert httpx.URL(link["url"]).host == httpx.URL(live_sandbox.site_url).host
