"""The checkout's pages, as HTML: a link's page, and the pages that stand in for errors on checkout
ground. Self-contained (no scripts, fonts or images from anywhere), with every text escaped in one
place.
"""

from __future__ import annotations

from html import escape
from typing import Final

from starlette.responses import HTMLResponse

from pik_sandbox.store import PaymentLinkRecord

CHECKOUT_PREFIX: Final = "/pay"
CHECKOUT_PATH: Final = CHECKOUT_PREFIX + "/{link_id}"

_HEADERS: Final = {
    # Nothing may load from elsewhere, the form may only post back here, and no other site may
    # frame the page (CSP's frame-ancestors, and X-Frame-Options for browsers without it).
    "Content-Security-Policy": (
        "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; "
        "base-uri 'none'; frame-ancestors 'none'"
    ),
    "Cache-Control": "no-store",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}

_STYLE: Final = """
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif;
       color: #1b1f24; background: #f3f4f6; }
main { max-width: 28rem; margin: 3rem auto; padding: 2rem; background: #fff;
       border: 1px solid #d0d5dd; border-radius: 12px; }
.merchant { margin: 0 0 .25rem; color: #4a5160; font-size: .875rem; }
h1 { margin: 0 0 1.5rem; font-size: 1.5rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .5rem 1rem; margin: 0 0 1.5rem; }
dt { color: #4a5160; }
dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
.status { display: inline-block; padding: .125rem .5rem; border-radius: 999px;
          font-size: .875rem; }
.status-active { background: #e6f0ff; color: #0b3d91; }
.status-paid { background: #e3f5e8; color: #135c2c; }
.status-expired, .status-deactivated { background: #f1f2f4; color: #3b414c; }
.notice { margin: 0 0 1.5rem; padding: .75rem 1rem; border-radius: 8px; background: #f1f2f4; }
.notice-paid { background: #e3f5e8; color: #135c2c; }
button { width: 100%; padding: .875rem 1rem; border: 0; border-radius: 8px;
         background: #0b5cad; color: #fff; font: inherit; font-weight: 600; cursor: pointer; }
button:hover { background: #094a8c; }
button:focus-visible { outline: 3px solid #1b1f24; outline-offset: 3px; }
.sandbox { margin: 1.5rem 0 0; color: #4a5160; font-size: .8125rem; }
"""

_STATUS_TEXT: Final = {
    "active": "Awaiting payment",
    "paid": "Paid",
    "expired": "Expired",
    "deactivated": "Deactivated",
}

_FINAL_NOTICE: Final = {
    "paid": "This payment link has been paid. Thank you!",
    "expired": "This payment link has expired and can no longer be paid.",
    "deactivated": "This payment link has been deactivated and can no longer be paid.",
}


def _element(tag: str, text: str, **attributes: str) -> str:
    """An HTML element holding `text`: the one place where the page's text is escaped."""
    shown = "".join(f' {name}="{escape(value)}"' for name, value in attributes.items())
    return f"<{tag}{shown}>{escape(text)}</{tag}>"


def _page(title: str, body: str, status_code: int = 200) -> HTMLResponse:
    """A whole page: `title` is text, `body` is HTML."""
    document = (
        "<!DOCTYPE html>\n"
        '<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"{_element('title', title)}\n<style>{_STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n"
        '<p class="sandbox">PIK sandbox: no real funds move.</p>\n'
        "</main>\n</body>\n</html>\n"
    )
    return HTMLResponse(document, status_code=status_code, headers=_HEADERS)


def render_link(link: PaymentLinkRecord) -> HTMLResponse:
    """The checkout page of one link, in whatever state it is."""
    amount = f"{link.amount} {link.currency}"
    status_text = _STATUS_TEXT.get(link.status, link.status)
    rows = [
        ("Amount", _element("dd", link.amount)),
        ("Asset", _element("dd", link.currency)),
    ]
    if link.description:
        rows.append(("Description", _element("dd", link.description)))
    status = _element("span", status_text, **{"class": f"status status-{link.status}"})
    rows.append(("Status", f"<dd>{status}</dd>"))
    if link.paid_at:
        paid_at = _element("time", link.paid_at, datetime=link.paid_at)
        rows.append(("Paid at", f"<dd>{paid_at}</dd>"))
    details = "\n".join(f"{_element('dt', name)}{value}" for name, value in rows)
    if link.status == "active":
        action = '<form method="post">\n<button type="submit">Pay</button>\n</form>'
        title = heading = f"Pay {amount}"
    else:
        notice = _FINAL_NOTICE.get(link.status, f"This payment link is {link.status}.")
        notice_class = "notice notice-paid" if link.status == "paid" else "notice"
        action = _element("p", notice, role="status", **{"class": notice_class})
        title = f"{status_text}: {amount}"
        heading = amount
    body = (
        '<p class="merchant">PIK checkout</p>\n'
        f"{_element('h1', heading)}\n"
        f'<dl aria-label="Payment details">\n{details}\n</dl>\n{action}'
    )
    return _page(f"{title} · PIK checkout", body)


def serves(path: str) -> bool:
    """Whether `path` is checkout ground, where answers are pages for people, not JSON."""
    return path == CHECKOUT_PREFIX or path.startswith(CHECKOUT_PREFIX + "/")


def not_found_page() -> HTMLResponse:
    """The 404 page: no payment link at this address."""
    body = (
        '<p class="merchant">PIK checkout</p>\n<h1>Payment link not found</h1>\n'
        '<p class="notice">There is no payment link at this address. Check the link you '
        "were given, or ask the merchant for a new one.</p>"
    )
    return _page("Payment link not found · PIK checkout", body, status_code=404)


def method_not_allowed_page(allowed: list[str]) -> HTMLResponse:
    """The 405 page, for a method other than those `allowed` (sent as `Allow`)."""
    body = (
        '<p class="merchant">PIK checkout</p>\n<h1>This page cannot do that</h1>\n'
        '<p class="notice">A checkout page can only be opened or paid. Open the payment link '
        "you were given in your browser.</p>"
    )
    page = _page("Not allowed · PIK checkout", body, status_code=405)
    page.headers["Allow"] = ", ".join(allowed)
    return page


_ERROR_HEADINGS: Final = {
    403: "Payment not made",
    503: "Payment not taken",
}


def error_page(status: int, message: str, headers: dict[str, str] | None = None) -> HTMLResponse:
    """The page that stands in for an error on checkout ground: the 404 and 405 pages, or a page
    that says what happened (`message`, a sentence for the customer) and that nothing was paid.
    `headers` go with it (`Allow`, `Retry-After`)."""
    headers = dict(headers or {})
    if status == 404:
        page = not_found_page()
    elif status == 405:
        allowed = [method.strip() for method in headers.get("Allow", "").split(",")]
        page = method_not_allowed_page([method for method in allowed if method])
    else:
        heading = _ERROR_HEADINGS.get(status, "This request cannot be handled")
        body = (
            '<p class="merchant">PIK checkout</p>\n'
            f"{_element('h1', heading)}\n"
            f"{_element('p', message, role='alert', **{'class': 'notice'})}\n"
            f"{_element('p', 'Nothing was paid.')}"
        )
        page = _page(f"{heading} · PIK checkout", body, status_code=status)
    for name, value in headers.items():
        page.headers[name] = value
    return page
