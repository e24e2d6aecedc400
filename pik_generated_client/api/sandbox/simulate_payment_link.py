from typing import Any
from urllib.parse import quote

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.payment_link import PaymentLink
from ...models.simulate_payment_link_request import SimulatePaymentLinkRequest
from ...types import Response, build_response

OPERATION = "simulate_payment_link"


def _path_segment(value: object) -> str:
    # Every character but letters and digits escaped, dots included: an id of "." or ".." must
    # not become a path step that reaches another endpoint.
    return quote(str(value), safe="").replace(".", "%2E")


def _get_kwargs(
    id: str,
    *,
    body: SimulatePaymentLinkRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": f"/sandbox/payment-links/{_path_segment(id)}/simulate",
    }
    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"
    _kwargs["headers"] = headers
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
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SimulatePaymentLinkRequest,
) -> Response[ErrorResponse | PaymentLink]:
    """Simulate a payment link's outcome (sandbox only)

    Available on sandbox servers only. Moves an `active` link into the final state you
    name, as a customer's payment (`paid`, which sets `paid_at`), an expiry (`expired`) or
    a manual deactivation (`deactivated`) would, and returns the link. A link that is
    already in a final state never changes again: asking is a `422 unprocessable_entity`.

    Args:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.
        body (SimulatePaymentLinkRequest): The final state to move an active link into. Example:
            {'status': 'paid'}.

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
        body=body,
    )
    response = client.get_httpx_client().request(**kwargs)
    return _build_response(client=client, response=response)


def sync(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SimulatePaymentLinkRequest,
) -> ErrorResponse | PaymentLink | None:
    """Simulate a payment link's outcome (sandbox only)

    Available on sandbox servers only. Moves an `active` link into the final state you
    name, as a customer's payment (`paid`, which sets `paid_at`), an expiry (`expired`) or
    a manual deactivation (`deactivated`) would, and returns the link. A link that is
    already in a final state never changes again: asking is a `422 unprocessable_entity`.

    Args:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.
        body (SimulatePaymentLinkRequest): The final state to move an active link into. Example:
            {'status': 'paid'}.

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
        body=body,
    ).parsed


async def asyncio_detailed(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SimulatePaymentLinkRequest,
) -> Response[ErrorResponse | PaymentLink]:
    """Simulate a payment link's outcome (sandbox only)

    Available on sandbox servers only. Moves an `active` link into the final state you
    name, as a customer's payment (`paid`, which sets `paid_at`), an expiry (`expired`) or
    a manual deactivation (`deactivated`) would, and returns the link. A link that is
    already in a final state never changes again: asking is a `422 unprocessable_entity`.

    Args:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.
        body (SimulatePaymentLinkRequest): The final state to move an active link into. Example:
            {'status': 'paid'}.

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
        body=body,
    )
    response = await client.get_async_httpx_client().request(**kwargs)
    return _build_response(client=client, response=response)


async def asyncio(
    id: str,
    *,
    client: AuthenticatedClient | Client,
    body: SimulatePaymentLinkRequest,
) -> ErrorResponse | PaymentLink | None:
    """Simulate a payment link's outcome (sandbox only)

    Available on sandbox servers only. Moves an `active` link into the final state you
    name, as a customer's payment (`paid`, which sets `paid_at`), an expiry (`expired`) or
    a manual deactivation (`deactivated`) would, and returns the link. A link that is
    already in a final state never changes again: asking is a `422 unprocessable_entity`.

    Args:
        id (str): Unique identifier of a payment link, `pl_` followed by letters and digits.
            Example: pl_abc123xyz.
        body (SimulatePaymentLinkRequest): The final state to move an active link into. Example:
            {'status': 'paid'}.

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
            body=body,
        )
    ).parsed
