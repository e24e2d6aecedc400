"""What one running sandbox holds, and how request-handling code reaches it."""

from __future__ import annotations

import time
from collections.abc import Mapping, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from pik_sandbox.domain import account_for_key
from pik_sandbox.ratelimit import RollingWindowLimiter
from pik_sandbox.settings import SandboxSettings
from pik_sandbox.store import PaymentLinkRecord, PaymentLinkStore, link_fields
from pik_sandbox.workers import WorkerRole

# Where the sandbox is placed in each request's ASGI scope (under "extensions"), so that the
# routes that are plain functions (the checkout page's) find their own instance even when several
# sandboxes run in one process.
SCOPE_KEY: Final = "pik_sandbox"


@dataclass
class Sandbox:
    """One sandbox instance: its settings, its store and its rate limiters."""

    settings: SandboxSettings
    store: PaymentLinkStore
    accounts: frozenset[str] = field(init=False)
    creation_limiter: RollingWindowLimiter = field(init=False)
    general_limiter: RollingWindowLimiter = field(init=False)
    # Its part of the work when the command runs several worker processes.
    worker: WorkerRole = field(default_factory=WorkerRole)

    def __post_init__(self) -> None:
        self.accounts = frozenset(account_for_key(key) for key in self.settings.api_keys)
        window = self.settings.rate_limit_window_seconds
        clock = self.settings.clock or time.monotonic
        # Built before any worker process is forked, so that every worker counts against the same
        # limits (see pik_sandbox.workers).
        self.creation_limiter = RollingWindowLimiter(
            self.settings.creation_limit, window, self.accounts, clock
        )
        self.general_limiter = RollingWindowLimiter(
            self.settings.general_limit, window, self.accounts, clock
        )

    def checkout_url(self, link_id: str) -> str:
        """The hosted checkout page of a link, under the sandbox's public URL."""
        return f"{self.settings.public_url}/pay/{link_id}"

    def link_json(self, link: PaymentLinkRecord) -> dict[str, Any]:
        """A link as the API returns it; optional fields are absent, never null."""
        return {"id": link.id, "url": self.checkout_url(link.id), **link_fields(link)}

    def served_links(self, links: list[tuple[str, str]]) -> orjson.Fragment:
        """The JSON array of a page's (id, tail) pairs, the same objects `link_json` gives, for
        orjson to put in the answer as it is."""
        prefix = self._checkout_prefix
        return orjson.Fragment(
            "["
            + ",".join(
                f'{{"id":"{link_id}","url":"{prefix}{link_id}",{tail}' for link_id, tail in links
            )
            + "]"
        )

    @property
    def _checkout_prefix(self) -> str:
        # The public URL is the user's: escaped as JSON, once. Ids are letters, digits and `_`.
        return orjson.dumps(self.checkout_url("")).decode()[1:-1]


def sandbox_from_scope(scope: Mapping[str, Any]) -> Sandbox:
    """The sandbox serving the request whose ASGI scope this is."""
    sandbox: Sandbox = scope["extensions"][SCOPE_KEY]
    return sandbox


def with_sandbox(scope: MutableMapping[str, Any], sandbox: Sandbox) -> dict[str, Any]:
    """A copy of `scope` that carries `sandbox`."""
    new_scope = dict(scope)
    new_scope["extensions"] = {**(scope.get("extensions") or {}), SCOPE_KEY: sandbox}
    return new_scope
