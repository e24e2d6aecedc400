"""The API's operations, one function per operationId, taking validated parameters.

They are coroutines on the event loop; the store they await never makes the loop wait for a
lock (a locked database sends the call to its threads), so a busy database delays only the
requests that need it. Domain exceptions (a broken rule, a final
link, storage that cannot take the call) become SandboxErrors here or in the app's error handlers.

The app has already checked every request against openapi.yaml (types, patterns, ranges,
required fields, unknown fields) and authenticated its key; `user` is the caller's account and
`sandbox` the sandbox serving it.
"""

from __future__ import annotations

from typing import Any

import httpx

from pik_sandbox.domain import RuleBroken, check_new_link
from pik_sandbox.errors import SandboxError, cut_short, not_found
from pik_sandbox.state import Sandbox
from pik_sandbox.store import FINAL_STATUSES, TransitionRefused, WebhookRecord

JSONObject = dict[str, Any]


async def create_payment_link(
    sandbox: Sandbox, body: JSONObject, user: str
) -> tuple[JSONObject, int]:
    """createPaymentLink: store a new active link and return it with its checkout URL."""
    amount: str = body["amount"]
    currency: str = body["currency"]
    try:
        check_new_link(amount, currency, sandbox.settings.supported_assets)
    except RuleBroken as broken:
        raise SandboxError(422, str(broken)) from None
    link = await sandbox.store.create(
        account=user,
        amount=amount,
        currency=currency,
        description=body.get("description"),
        ttl_seconds=sandbox.settings.link_ttl_seconds,
    )
    return sandbox.link_json(link), 201


async def list_payment_links(
    sandbox: Sandbox, user: str, limit: int = 20, offset: int = 0, status: str | None = None
) -> JSONObject:
    """listPaymentLinks: one page of the caller's links, newest first, and the filtered total."""
    page = await sandbox.store.list_served(account=user, status=status, limit=limit, offset=offset)
    return {
        "data": sandbox.served_links(page.links),
        "total": page.total,
        "limit": limit,
        "offset": offset,
    }


async def get_payment_link(sandbox: Sandbox, id_: str, user: str) -> JSONObject:
    """getPaymentLink: one of the caller's links; any other id is a 404."""
    link = await sandbox.store.get(id_, account=user)
    if link is None:
        raise not_found()
    return sandbox.link_json(link)


async def simulate_payment_link(
    sandbox: Sandbox, id_: str, body: JSONObject, user: str
) -> JSONObject:
    """simulatePaymentLink: force one of the caller's active links into a final state."""
    target: str = body["status"]
    if target not in FINAL_STATUSES:
        # A final status the document lists but the sandbox does not know how to reach yet.
        raise SandboxError(
            422, f"status: the sandbox cannot move a link to {cut_short(target, 40)!r}."
        )
    try:
        link = await sandbox.store.transition(id_, account=user, status=target)
    except TransitionRefused as refused:
        raise SandboxError(
            422,
            f"status: payment link {refused.link.id} is already {refused.link.status}, "
            f"a final state that never changes; it cannot become {target}.",
        ) from None
    if link is None:
        raise not_found()
    return sandbox.link_json(link)


def _webhook_json(webhook: WebhookRecord, *, with_secret: bool = False) -> JSONObject:
    body: JSONObject = {"id": webhook.id, "url": webhook.url, "events": list(webhook.events)}
    if with_secret:
        body["secret"] = webhook.secret
    body["status"] = webhook.status
    body["created_at"] = webhook.created_at
    return body


async def create_webhook(sandbox: Sandbox, body: JSONObject, user: str) -> tuple[JSONObject, int]:
    """createWebhook: register an endpoint; its secret is returned here only.

    Unlike PIK, plain http:// and loopback URLs are accepted, so that a developer's machine can
    receive events.
    """
    url: str = body["url"]
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL:
        parsed = None
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.host:
        raise SandboxError(
            422, f"url: {cut_short(url, 60)!r} is not an http:// or https:// URL with a host."
        )
    webhook = await sandbox.store.create_webhook(account=user, url=url, events=body["events"])
    return _webhook_json(webhook, with_secret=True), 201


async def list_webhooks(sandbox: Sandbox, user: str) -> JSONObject:
    """listWebhooks: every endpoint of the caller's account, oldest first, without secrets."""
    webhooks = await sandbox.store.list_webhooks(account=user)
    return {"data": [_webhook_json(webhook) for webhook in webhooks], "total": len(webhooks)}
