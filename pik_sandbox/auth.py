"""The bearer-token check Connexion calls for every secured operation."""

from __future__ import annotations

from typing import Any

from pik_sandbox.domain import account_for_key
from pik_sandbox.state import sandbox_from_scope


def bearer_info(token: str, request: Any) -> dict[str, str] | None:
    """The account of a known API key, or None (a 401) for any other token.

    Connexion names the result's `sub` as the `user` argument of every handler.
    """
    sandbox = sandbox_from_scope(request.scope)
    account = account_for_key(token)
    if account not in sandbox.accounts:
        return None
    return {"sub": account}
