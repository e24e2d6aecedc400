from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.payment_link import PaymentLink
from ...types import Response, build_response

OPERATION = "get_payment_link"


def _path_segment(value: object) -> str:
    # Every character but letters and digits escaped, dots included: an id of "." or ".." must
    # not become a path step that reaches another endpoint.
    return quote(str(value), safe="").replace(".", "%2E")


def _get_kwargs(
    id: str,
) -> dict[str, Any]:
    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": f"/payment-links/{_path_segment(id)}",
    }
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | PaymentLink | None:
    if response.status_code == 200:
        response_200 = PaymentLink.from_dict(response.json())

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

    if response.status_code == 404:
        response_404 = ErrorResponse.from_dict(response.json())

        return response_404

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
) -> Response[ErrorResponse | PaymentLink]:
    return build_response(
        operation=OPERATION,
        response=response,
        parse=lambda received: _parse_response(client=client, response=received),
        redact=client.redact,
    )


def sync_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorResponse | PaymentLink]:
    """Retrieve a payment link

    Returns a single payment link of your account by its id, with its current status;
    `paid_at` is present once the link is paid. An id that is not in your account is a
    `404 not_found`.

    Args:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.

    Raises:
        errors.UnexpectedStatus: The status is undocumented and `raise_on_unexpected_status` is
            set, or it is not an HTTP status at all.
        errors.InvalidResponse: The body is not what the document promises.
        httpx.TimeoutException: The request took longer than the client's timeout.
        httpx.TransportError: The request failed on the network, after any retries.

    Returns:
        Response[ErrorResponse | PaymentLink]: status, headers, raw and parsed body.
    """

    kwargs = _get_kwargs(
        id=id,
    )
    response = client.get_httpx_client().request(**kwargs)
    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorResponse | PaymentLink | None:
    """Retrieve a payment link

    Returns a single payment link of your account by its id, with its current status;
    `paid_at` is present once the link is paid. An id that is not in your account is a
    `404 not_found`.

    Args:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.

    Raises:
        errors.UnexpectedStatus: The status is undocumented and `raise_on_unexpected_status` is
            set, or it is not an HTTP status at all.
        errors.InvalidResponse: The body is not what the document promises.
        httpx.TimeoutException: The request took longer than the client's timeout.
        httpx.TransportError: The request failed on the network, after any retries.

    Returns:
        ErrorResponse | PaymentLink: the parsed body, or None for an undocumented status.
    """

    return sync_detailed(
        id=id,
        client=client,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
) -> Response[ErrorResponse | PaymentLink]:
    """Retrieve a payment link

    Returns a single payment link of your account by its id, with its current status;
    `paid_at` is present once the link is paid. An id that is not in your account is a
    `404 not_found`.

    Args:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.

    Raises:
        errors.UnexpectedStatus: The status is undocumented and `raise_on_unexpected_status` is
            set, or it is not an HTTP status at all.
        errors.InvalidResponse: The body is not what the document promises.
        httpx.TimeoutException: The request took longer than the client's timeout.
        httpx.TransportError: The request failed on the network, after any retries.

    Returns:
        Response[ErrorResponse | PaymentLink]: status, headers, raw and parsed body.
    """

    kwargs = _get_kwargs(
        id=id,
    )
    response = await client.get_async_httpx_client().request(**kwargs)
    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
) -> ErrorResponse | PaymentLink | None:
    """Retrieve a payment link

    Returns a single payment link of your account by its id, with its current status;
    `paid_at` is present once the link is paid. An id that is not in your account is a
    `404 not_found`.

    Args:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.

    Raises:
        errors.UnexpectedStatus: The status is undocumented and `raise_on_unexpected_status` is
            set, or it is not an HTTP status at all.
        errors.InvalidResponse: The body is not what the document promises.
        httpx.TimeoutException: The request took longer than the client's timeout.
        httpx.TransportError: The request failed on the network, after any retries.

    Returns:
        ErrorResponse | PaymentLink: the parsed body, or None for an undocumented status.
    """

    return (
        await asyncio_detailed(
            id=id,
            client=client,
        )
    ).parsed
