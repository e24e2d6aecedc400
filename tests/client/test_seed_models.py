"""The seed's example responses parse through the generated models and serialise back to the
same JSON, so nothing PIK sends is lost or reshaped by the client."""

from __future__ import annotations

import datetime

from pik_generated_client.models import (
    CreatePaymentLinkRequest,
    ErrorResponse,
    PaymentLink,
    PaymentLinkList,
    PaymentLinkStatus,
)
from tests.support.openapi_doc import load_seed


def test_created_link_round_trips() -> None:
    body = load_seed("create_201.json")
    link = PaymentLink.from_dict(body)
    assert link.id == "pl_abc123xyz"
    assert link.amount == "75.00"
    assert link.status == PaymentLinkStatus.ACTIVE
    assert link.created_at == datetime.datetime(2024, 1, 15, 10, 30, tzinfo=datetime.UTC)
    assert link.to_dict() == body


def test_paid_link_round_trips_with_paid_at() -> None:
    body = load_seed("get_200_paid.json")
    link = PaymentLink.from_dict(body)
    assert link.status == PaymentLinkStatus.PAID
    assert link.paid_at == datetime.datetime(2024, 1, 15, 10, 45, tzinfo=datetime.UTC)
    assert link.to_dict() == body


def test_list_page_round_trips_with_a_link_without_description() -> None:
    body = load_seed("list_200.json")
    page = PaymentLinkList.from_dict(body)
    assert (page.total, page.limit, page.offset) == (1, 10, 0)
    assert [link.id for link in page.data] == ["pl_abc123xyz"]
    assert "description" not in page.data[0].to_dict()
    assert page.to_dict() == body


def test_not_found_error_round_trips() -> None:
    body = load_seed("error_404.json")
    error = ErrorResponse.from_dict(body)
    assert error.error.code == "not_found"
    assert error.to_dict() == body


def test_create_request_serialises_to_the_seed_request() -> None:
    request = CreatePaymentLinkRequest(amount="75.00", currency="USDT", description="Order #1234")
    assert request.to_dict() == load_seed("create_request.json")
