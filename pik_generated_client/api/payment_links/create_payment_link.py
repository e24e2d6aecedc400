from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.create_payment_link_request import CreatePaymentLinkRequest
from ...models.error_response import ErrorResponse
from ...models.payment_link import PaymentLink
from ...types import Response, build_response

OPERATION = "create_payment_link"


def _get_kwargs(
    *,
    body: CreatePaymentLinkRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/payment-links",
    }
    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"
    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | PaymentLink | None:
    if response.status_code == 201:
        response_201 = PaymentLink.from_dict(response.json())

        return response_201

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 403:
        response_403 = ErrorResponse.from_dict(response.json())

        return response_403

    if response.status_code == 413:
        response_413 = ErrorResponse.from_dict(response.json())

        return response_413

    if response.status_code == 415:
        response_415 = ErrorResponse.from_dict(response.json())

        return response_415

    if response.status_code == 422:
        response_422 = ErrorResponse.from_dict(response.json())

        return response_422

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
    *,
    client: AuthenticatedClient | Client,
    body: CreatePaymentLinkRequest,
) -> Response[ErrorResponse | PaymentLink]:
    """Create a payment link

    Creates a new `active` payment link for a fixed amount of one digital asset and returns
    it, with the `url` to send to your customer.

    A request that does not match the schema is a `400 invalid_request`. A well-formed
    request that cannot be accepted (an unsupported asset, an amount of zero, more
    decimals than the asset has) is a `422 unprocessable_entity` whose message names the
    field. Creations are limited to 60 a minute per API key.

    Args:
        body (CreatePaymentLinkRequest): What to charge for. Example: {'amount': '75.00',
            'currency': 'USDT', 'description': 'Order #1234'}.

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
        body=body,
    )
    response = client.get_httpx_client().request(**kwargs)
    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient | Client,
    body: CreatePaymentLinkRequest,
) -> ErrorResponse | PaymentLink | None:
    """Create a payment link

    Creates a new `active` payment link for a fixed amount of one digital asset and returns
    it, with the `url` to send to your customer.

    A request that does not match the schema is a `400 invalid_request`. A well-formed
    request that cannot be accepted (an unsupported asset, an amount of zero, more
    decimals than the asset has) is a `422 unprocessable_entity` whose message names the
    field. Creations are limited to 60 a minute per API key.

    Args:
        body (CreatePaymentLinkRequest): What to charge for. Example: {'amount': '75.00',
            'currency': 'USDT', 'description': 'Order #1234'}.

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
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient | Client,
    body: CreatePaymentLinkRequest,
) -> Response[ErrorResponse | PaymentLink]:
    """Create a payment link

    Creates a new `active` payment link for a fixed amount of one digital asset and returns
    it, with the `url` to send to your customer.

    A request that does not match the schema is a `400 invalid_request`. A well-formed
    request that cannot be accepted (an unsupported asset, an amount of zero, more
    decimals than the asset has) is a `422 unprocessable_entity` whose message names the
    field. Creations are limited to 60 a minute per API key.

    Args:
        body (CreatePaymentLinkRequest): What to charge for. Example: {'amount': '75.00',
            'currency': 'USDT', 'description': 'Order #1234'}.

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
        body=body,
    )
    response = await client.get_async_httpx_client().request(**kwargs)
    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient | Client,
    body: CreatePaymentLinkRequest,
) -> ErrorResponse | PaymentLink | None:
    """Create a payment link

    Creates a new `active` payment link for a fixed amount of one digital asset and returns
    it, with the `url` to send to your customer.

    A request that does not match the schema is a `400 invalid_request`. A well-formed
    request that cannot be accepted (an unsupported asset, an amount of zero, more
    decimals than the asset has) is a `422 unprocessable_entity` whose message names the
    field. Creations are limited to 60 a minute per API key.

    Args:
        body (CreatePaymentLinkRequest): What to charge for. Example: {'amount': '75.00',
            'currency': 'USDT', 'description': 'Order #1234'}.

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
            client=client,
            body=body,
        )
    ).parsed
