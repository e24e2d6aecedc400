"""With --validate-responses, an answer the document does not allow is a 500 in PIK's shape and a
logged reason, never sent as it is; the same answer passes without the option."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

from pik_sandbox import handlers
from pik_sandbox.state import Sandbox
from tests.sandbox.support import assert_error, create

REAL_LIST = handlers.list_payment_links


async def list_with_a_broken_link(sandbox: Sandbox, **arguments: Any) -> dict[str, Any]:
    page = await REAL_LIST(sandbox, **arguments)
    page["data"] = [{"id": "pl_x", "url": "not a url", "amount": 5}]
    return page


@pytest.mark.parametrize("validate", [True, False])
def test_an_answer_off_the_document_is_a_500_only_when_responses_are_checked(
    monkeypatch: pytest.MonkeyPatch,
    make_sandbox_app: Callable[..., Any],
    client_for: Callable[..., httpx.Client],
    caplog: pytest.LogCaptureFixture,
    validate: bool,
) -> None:
    api = client_for(make_sandbox_app(validate_responses=validate))
    create(api)
    assert api.get("/payment-links").status_code == 200
    monkeypatch.setattr(handlers, "list_payment_links", list_with_a_broken_link)
    # The app looks handlers up when it is built: a new one takes the broken handler.
    api = client_for(make_sandbox_app(validate_responses=validate))
    answer = api.get("/payment-links")
    if validate:
        assert_error(answer, 500, "internal_error")
        assert "listPaymentLinks: response body does not match the document" in caplog.text
    else:
        assert answer.status_code == 200 and answer.json()["data"][0]["url"] == "not a url"


async def list_with_an_undocumented_status(
    sandbox: Sandbox, **arguments: Any
) -> tuple[dict[str, Any], int]:
    return await REAL_LIST(sandbox, **arguments), 202


def test_a_status_the_document_does_not_list_is_a_500_when_responses_are_checked(
    monkeypatch: pytest.MonkeyPatch,
    make_sandbox_app: Callable[..., Any],
    client_for: Callable[..., httpx.Client],
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setattr(handlers, "list_payment_links", list_with_an_undocumented_status)
    api = client_for(make_sandbox_app(validate_responses=True))
    assert_error(api.get("/payment-links"), 500, "internal_error")
    assert "listPaymentLinks answered 202, a status it does not document" in caplog.text
