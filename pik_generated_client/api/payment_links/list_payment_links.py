from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.payment_link_list import PaymentLinkList
from ...models.payment_link_status import PaymentLinkStatus
from ...types import UNSET, Response, Unset


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

    if response.status_code == 429:
        response_429 = ErrorResponse.from_dict(response.json())

        return response_429

    if response.status_code == 500:
        response_500 = ErrorResponse.from_dict(response.json())

        return response_500

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | PaymentLinkList]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
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
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | PaymentLinkList]
    """

    kwargs = _get_kwargs(
        status=status,
        limit=limit,
        offset=offset,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

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
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | PaymentLinkList
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
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | PaymentLinkList]
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
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | PaymentLinkList
    """

    return (
        await asyncio_detailed(
            client=client,
            status=status,
            limit=limit,
            offset=offset,
        )
    ).parsed
