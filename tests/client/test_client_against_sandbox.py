"""The generated client end to end against the sandbox: over a real loopback socket (a running
`pik-sandbox`) and in-process (the app behind `httpx.ASGITransport`, passed through
`httpx_args` like any custom transport)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pik_generated_client import AuthenticatedClient, errors
from pik_generated_client.api.payment_links import (
    create_payment_link,
    get_payment_link,
    list_payment_links,
)
from pik_generated_client.api.sandbox import simulate_payment_link
from pik_generated_client.models import (
    CreatePaymentLinkRequest,
    ErrorResponse,
    PaymentLink,
    PaymentLinkList,
    PaymentLinkStatus,
    SimulatePaymentLinkRequest,
    SimulatePaymentLinkRequestStatus,
)
from tests.conftest import API_KEY, IN_PROCESS_URL, OTHER_API_KEY

if TYPE_CHECKING:
    from tests.conftest import SandboxProcess


def order(description: str = "Order #1234", amount: str = "75.00") -> CreatePaymentLinkRequest:
    return CreatePaymentLinkRequest(amount=amount, currency="USDT", description=description)


def created(client: AuthenticatedClient, **kwargs: Any) -> PaymentLink:
    link = create_payment_link.sync(client=client, body=order(**kwargs))
    assert isinstance(link, PaymentLink), link
    return link


@pytest.fixture
def live_client(live_sandbox: SandboxProcess) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=live_sandbox.api_url, token=live_sandbox.api_keys[0])


@pytest.fixture
def other_live_client(live_sandbox: SandboxProcess) -> AuthenticatedClient:
    return AuthenticatedClient(base_url=live_sandbox.api_url, token=live_sandbox.api_keys[1])


def test_a_link_goes_from_created_to_paid(live_client: AuthenticatedClient) -> None:
    link = created(live_client, amount="12.345678")
    assert link.status == PaymentLinkStatus.ACTIVE
    assert link.amount == "12.345678"
    assert link.url.endswith(f"/pay/{link.id}")

    fetched = get_payment_link.sync(client=live_client, id=link.id)
    assert isinstance(fetched, PaymentLink)
    assert fetched.to_dict() == link.to_dict()

    paid = simulate_payment_link.sync(
        client=live_client,
        id=link.id,
        body=SimulatePaymentLinkRequest(status=SimulatePaymentLinkRequestStatus.PAID),
    )
    assert isinstance(paid, PaymentLink)
    assert paid.status == PaymentLinkStatus.PAID
    assert paid.paid_at and paid.paid_at >= link.created_at


def test_the_list_holds_the_new_link_first(live_client: AuthenticatedClient) -> None:
    link = created(live_client, description="newest")
    page = list_payment_links.sync(client=live_client, limit=1)
    assert isinstance(page, PaymentLinkList)
    assert [item.id for item in page.data] == [link.id]
    assert page.total >= 1
    assert (page.limit, page.offset) == (1, 0)


def test_sync_iter_walks_every_page_of_the_account(live_sandbox: SandboxProcess) -> None:
    client = AuthenticatedClient(base_url=live_sandbox.api_url, token=live_sandbox.api_keys[1])
    before = list_payment_links.sync(client=client, limit=1)
    assert isinstance(before, PaymentLinkList)
    ids = [created(client, description=f"#{i}").id for i in range(7)]
    walked = [link.id for link in list_payment_links.sync_iter(client=client, limit=3)]
    assert len(walked) == before.total + 7
    assert walked[:7] == ids[::-1]
    assert len(set(walked)) == len(walked)


def test_documented_errors_come_back_as_error_responses(
    live_client: AuthenticatedClient, other_live_client: AuthenticatedClient
) -> None:
    link = created(live_client)
    foreign = get_payment_link.sync(client=other_live_client, id=link.id)
    assert isinstance(foreign, ErrorResponse)
    assert foreign.error.code == "not_found"

    unsupported = create_payment_link.sync(
        client=live_client,
        body=CreatePaymentLinkRequest(amount="1", currency="DOGE"),
    )
    assert isinstance(unsupported, ErrorResponse)
    assert unsupported.error.code == "unprocessable_entity"
    assert "currency" in unsupported.error.message


def test_a_wrong_key_fails_pagination_with_api_error(live_sandbox: SandboxProcess) -> None:
    client = AuthenticatedClient(base_url=live_sandbox.api_url, token="sk_not_a_key")
    with pytest.raises(errors.ApiError) as caught:
        next(list_payment_links.sync_iter(client=client))
    assert caught.value.code == "unauthorized"
    assert "sk_not_a_key" not in str(caught.value)


@pytest.mark.anyio
async def test_async_client_in_process(make_sandbox_app: Any) -> None:
    app = make_sandbox_app()
    transport = httpx.ASGITransport(app=app)
    async with AuthenticatedClient(
        base_url=f"{IN_PROCESS_URL}/v1", token=API_KEY, httpx_args={"transport": transport}
    ) as client:
        for index in range(5):
            made = await create_payment_link.asyncio(client=client, body=order(f"#{index}"))
            assert isinstance(made, PaymentLink)
        descriptions = [
            link.description
            async for link in list_payment_links.asyncio_iter(client=client, limit=2)
        ]
        assert descriptions == [f"#{index}" for index in reversed(range(5))]

    other = AuthenticatedClient(
        base_url=f"{IN_PROCESS_URL}/v1", token=OTHER_API_KEY, httpx_args={"transport": transport}
    )
    assert [link async for link in list_payment_links.asyncio_iter(client=other)] == []
