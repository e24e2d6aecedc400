from collections.abc import AsyncIterator, Iterator
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.payment_link import PaymentLink
from ...models.payment_link_list import PaymentLinkList
from ...models.payment_link_status import PaymentLinkStatus
from ...types import UNSET, Response, Unset, build_response

OPERATION = "list_payment_links"


def _get_kwargs(
    *,
    status: PaymentLinkStatus | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> dict[str, Any]:
    params: dict[str, Any] = {}

    json_status: str | Unset = UNSET
    if not isinstance(status, Unset):
        json_status = status.value

    params["status"] = json_status

    params["limit"] = limit

    params["offset"] = offset

    params = {k: v for k, v in params.items() if v is not UNSET and v is not None}

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/payment-links",
        "params": params,
    }
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | PaymentLinkList | None:
    if response.status_code == 200:
        response_200 = PaymentLinkList.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 429:
        response_429 = ErrorResponse.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorResponse.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(
            "this status is not documented for the operation",
            operation=OPERATION,
            status_code=response.status_code,
            content=response.content,
            redact=client.redact,
        )
    return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | PaymentLinkList]:
    return build_response(
        operation=OPERATION,
        response=response,
        parse=lambda received: _parse_response(client=client, response=received),
        redact=client.redact,
    )


def sync_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: PaymentLinkStatus | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> Response[ErrorResponse | PaymentLinkList]:
    """List payment links

    Returns one page of the payment links in your account, newest first, optionally
    filtered by status. `total` counts every link that matches the filter, so the next
    page starts at `offset + limit` while that is less than `total`.

    Args:
        status (PaymentLinkStatus | Unset): `active`: waiting for payment. `paid`: the customer
            paid. `expired`: past its expiry
            time. `deactivated`: manually disabled. Every status but `active` is final.
             Example: active.
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: The status is undocumented and `raise_on_unexpected_status` is
            set, or it is not an HTTP status at all.
        errors.InvalidResponse: The body is not what the document promises.
        httpx.TimeoutException: The request took longer than the client's timeout.
        httpx.TransportError: The request failed on the network, after any retries.

    Returns:
        Response[ErrorResponse | PaymentLinkList]: status, headers, raw and parsed body.
    """

    kwargs = _get_kwargs(
        status=status,
        limit=limit,
        offset=offset,
    )
    response = client.get_httpx_client().request(**kwargs)
    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    status: PaymentLinkStatus | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> ErrorResponse | PaymentLinkList | None:
    """List payment links

    Returns one page of the payment links in your account, newest first, optionally
    filtered by status. `total` counts every link that matches the filter, so the next
    page starts at `offset + limit` while that is less than `total`.

    Args:
        status (PaymentLinkStatus | Unset): `active`: waiting for payment. `paid`: the customer
            paid. `expired`: past its expiry
            time. `deactivated`: manually disabled. Every status but `active` is final.
             Example: active.
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: The status is undocumented and `raise_on_unexpected_status` is
            set, or it is not an HTTP status at all.
        errors.InvalidResponse: The body is not what the document promises.
        httpx.TimeoutException: The request took longer than the client's timeout.
        httpx.TransportError: The request failed on the network, after any retries.

    Returns:
        ErrorResponse | PaymentLinkList: the parsed body, or None for an undocumented status.
    """

    return sync_detailed(
        client=client,
        status=status,
        limit=limit,
        offset=offset,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    status: PaymentLinkStatus | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> Response[ErrorResponse | PaymentLinkList]:
    """List payment links

    Returns one page of the payment links in your account, newest first, optionally
    filtered by status. `total` counts every link that matches the filter, so the next
    page starts at `offset + limit` while that is less than `total`.

    Args:
        status (PaymentLinkStatus | Unset): `active`: waiting for payment. `paid`: the customer
            paid. `expired`: past its expiry
            time. `deactivated`: manually disabled. Every status but `active` is final.
             Example: active.
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: The status is undocumented and `raise_on_unexpected_status` is
            set, or it is not an HTTP status at all.
        errors.InvalidResponse: The body is not what the document promises.
        httpx.TimeoutException: The request took longer than the client's timeout.
        httpx.TransportError: The request failed on the network, after any retries.

    Returns:
        Response[ErrorResponse | PaymentLinkList]: status, headers, raw and parsed body.
    """

    kwargs = _get_kwargs(
        status=status,
        limit=limit,
        offset=offset,
    )
    response = await client.get_async_httpx_client().request(**kwargs)
    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    status: PaymentLinkStatus | Unset = UNSET,
    limit: int | Unset = 20,
    offset: int | Unset = 0,
) -> ErrorResponse | PaymentLinkList | None:
    """List payment links

    Returns one page of the payment links in your account, newest first, optionally
    filtered by status. `total` counts every link that matches the filter, so the next
    page starts at `offset + limit` while that is less than `total`.

    Args:
        status (PaymentLinkStatus | Unset): `active`: waiting for payment. `paid`: the customer
            paid. `expired`: past its expiry
            time. `deactivated`: manually disabled. Every status but `active` is final.
             Example: active.
        limit (int | Unset):  Default: 20.
        offset (int | Unset):  Default: 0.

    Raises:
        errors.UnexpectedStatus: The status is undocumented and `raise_on_unexpected_status` is
            set, or it is not an HTTP status at all.
        errors.InvalidResponse: The body is not what the document promises.
        httpx.TimeoutException: The request took longer than the client's timeout.
        httpx.TransportError: The request failed on the network, after any retries.

    Returns:
        ErrorResponse | PaymentLinkList: the parsed body, or None for an undocumented status.
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            limit=limit,
            offset=offset,
        )
    ).parsed


def _page_or_raise(
    response: Response[ErrorResponse | PaymentLinkList], client: AuthenticatedClient | Client
) -> PaymentLinkList:
    if isinstance(response.parsed, PaymentLinkList):
        return response.parsed
    raise errors.api_error(
        operation=OPERATION, status_code=response.status_code, content=response.content, redact=client.redact
    )


def _next_offset(
    response: Response[ErrorResponse | PaymentLinkList],
    page: PaymentLinkList,
    offset: int,
    client: AuthenticatedClient | Client,
) -> int | None:
    if page.offset != offset:
        # A server that ignores the offset would hand out the first page forever.
        raise errors.InvalidResponse(
            f"asked for offset {offset}, got a page at offset {page.offset!r}",
            operation=OPERATION,
            status_code=response.status_code,
            content=response.content,
            redact=client.redact,
        )
    # Stop at the reported total, and on a short page whatever the total says.
    items = page.data
    offset += len(items)
    full = len(items) >= page.limit
    return offset if items and full and offset < page.total else None


def sync_iter(
    *,
    client: AuthenticatedClient | Client,
    status: PaymentLinkStatus | Unset = UNSET,
    limit: int | Unset = 20,
) -> Iterator[PaymentLink]:
    """Every item of every page, fetching each page only when the previous one is used up.

    Takes the operation's filters; `limit` is the page size.

    Raises:
        errors.ApiError: A page request was answered with an error.
    """
    offset: int | None = 0
    while offset is not None:
        response = sync_detailed(
            client=client,
            status=status,
            limit=limit,
            offset=offset,
        )
        page = _page_or_raise(response, client)
        yield from page.data
        offset = _next_offset(response, page, offset, client)


async def asyncio_iter(
    *,
    client: AuthenticatedClient | Client,
    status: PaymentLinkStatus | Unset = UNSET,
    limit: int | Unset = 20,
) -> AsyncIterator[PaymentLink]:
    """Every item of every page, fetching each page only when the previous one is used up.

    Takes the operation's filters; `limit` is the page size.

    Raises:
        errors.ApiError: A page request was answered with an error.
    """
    offset: int | None = 0
    while offset is not None:
        response = await asyncio_detailed(
            client=client,
            status=status,
            limit=limit,
            offset=offset,
        )
        page = _page_or_raise(response, client)
        for item in page.data:
            yield item
        offset = _next_offset(response, page, offset, client)
