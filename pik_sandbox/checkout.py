"""The hosted checkout page a link's `url` points at: what the customer sees and pays on.

No API key is involved: whoever has the link's URL is the customer. Paying is an ordinary form
POST followed by a redirect, so it works without JavaScript and a reload never pays twice. A POST
that a browser says comes from another site is refused: a page elsewhere cannot make a visitor's
browser pay a link (the check Go's http.CrossOriginProtection makes: Sec-Fetch-Site, else Origin
against the page's own origin; a request with neither, from a script or an old browser, passes).

Errors (an unknown link, a refused POST, storage that cannot take the payment) are raised as
SandboxError and rendered as pages by the sandbox's one error renderer, since this is checkout
ground.
"""

from __future__ import annotations

from typing import Final
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from pik_sandbox.errors import SandboxError
from pik_sandbox.pages import CHECKOUT_PATH, render_link
from pik_sandbox.state import Sandbox, sandbox_from_scope
from pik_sandbox.store import TransitionRefused

# What a browser's Sec-Fetch-Site says about a form it posts: only the page itself may pay
# (`none` is the user's own action, such as a bookmark or the address bar).
_SAME_SITE_FETCHES: Final = frozenset({"same-origin", "none"})

CROSS_SITE_MESSAGE: Final = (
    "This payment was sent from another website, so it was refused. Open the payment link you "
    "were given and press Pay on its page."
)
NO_LINK_MESSAGE: Final = "No payment link at this address."


def _origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def _from_this_page(request: Request, sandbox: Sandbox) -> bool:
    """Whether the browser's own headers show the POST coming from this site's pages."""
    fetch_site = request.headers.get("sec-fetch-site")
    if fetch_site is not None:
        return fetch_site.strip().lower() in _SAME_SITE_FETCHES
    origin = request.headers.get("origin")
    if origin is None:
        return True
    own = {_origin(str(request.base_url)), _origin(sandbox.settings.public_url)}
    return origin.strip().lower() in own


async def show_checkout(request: Request) -> Response:
    """GET: the link's checkout page."""
    sandbox = sandbox_from_scope(request.scope)
    link = await sandbox.store.get_for_checkout(str(request.path_params["link_id"]))
    if link is None:
        raise SandboxError(404, NO_LINK_MESSAGE)
    return render_link(link)


async def pay(request: Request) -> Response:
    """POST: the customer pays; then the browser is sent back to the page (POST-redirect-GET)."""
    sandbox = sandbox_from_scope(request.scope)
    if not _from_this_page(request, sandbox):
        raise SandboxError(403, CROSS_SITE_MESSAGE)
    try:
        link = await sandbox.store.pay_from_checkout(str(request.path_params["link_id"]))
    except TransitionRefused:
        pass  # Paid, expired or deactivated already: the page shows which.
    else:
        if link is None:
            raise SandboxError(404, NO_LINK_MESSAGE)
    # A relative redirect works whatever host name the customer used to reach the page.
    return RedirectResponse(request.url.path, status_code=303)


async def checkout(request: Request) -> Response:
    """The checkout page's one route: GET (and HEAD) shows it, POST pays."""
    if request.method == "POST":
        return await pay(request)
    return await show_checkout(request)


def routes() -> list[Route]:
    """The checkout page's route."""
    return [Route(CHECKOUT_PATH, checkout, methods=["GET", "POST"])]
