"""The forms of `Authorization` the sandbox takes: the scheme in any case, the key after any
whitespace, and nothing after the key."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.conftest import API_KEY
from tests.sandbox.support import assert_error

ACCEPTED = [f"Bearer {API_KEY}", f"bearer {API_KEY}", f"BEARER  {API_KEY}", f"Bearer\t{API_KEY}"]
REFUSED = ["Bearer", "Bearer ", f"Basic {API_KEY}", f"Bearer {API_KEY} x", API_KEY, "Bearer sk_x"]


@pytest.mark.parametrize("header", ACCEPTED + REFUSED)
def test_authorization_forms(
    make_sandbox_app: Callable[..., Any], client_for: Callable[..., httpx.Client], header: str
) -> None:
    api = client_for(make_sandbox_app(), key=None)
    answer = api.get("/payment-links", headers={"Authorization": header})
    if header in ACCEPTED:
        assert answer.status_code == 200, answer.text
    else:
        assert_error(answer, 401, "unauthorized")
        assert answer.headers["www-authenticate"] == "Bearer"
