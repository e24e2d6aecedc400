"""The client's webhook verifier: it checks the signature over the raw bytes in constant time and
only then parses; every tampered, missing or malformed signature is refused."""

from __future__ import annotations

import hashlib
import hmac
import json
import pickle

import pytest

from pik_generated_client import errors, webhooks
from pik_generated_client.models import WebhookEventType

SECRET = "whsec_test_4f8a2b9c1d"
# PIK's documented example, as the bytes a receiver gets.
BODY = json.dumps(
    {
        "event": "payment.confirmed",
        "id": "evt_xyz789",
        "created_at": "2024-01-15T10:45:00Z",
        "data": {
            "transaction_id": "txn_def456",
            "payment_link_id": "pl_abc123xyz",
            "amount": "75.00",
            "currency": "USDT",
            "status": "confirmed",
            "confirmed_at": "2024-01-15T10:45:00Z",
        },
    },
    indent=2,
).encode()
SIGNATURE = hmac.new(SECRET.encode(), BODY, hashlib.sha256).hexdigest()


def test_a_correctly_signed_delivery_gives_the_typed_event() -> None:
    event = webhooks.verify(BODY, SIGNATURE, SECRET)
    assert event.event == WebhookEventType.PAYMENT_CONFIRMED
    assert (event.id, event.data.amount, event.data.payment_link_id) == (
        "evt_xyz789",
        "75.00",
        "pl_abc123xyz",
    )
    assert webhooks.sign(BODY, SECRET) == SIGNATURE


@pytest.mark.parametrize(
    ("body", "signature", "secret"),
    [
        (BODY, SIGNATURE, "whsec_wrong"),  # another endpoint's secret
        (BODY.replace(b"75.00", b"75.01"), SIGNATURE, SECRET),  # one changed byte
        (json.dumps(json.loads(BODY)).encode(), SIGNATURE, SECRET),  # parsed and written out again
        (BODY, None, SECRET),  # no header
        (BODY, "", SECRET),
        (BODY, "sha256=" + SIGNATURE, SECRET),  # not the documented form
        (BODY, SIGNATURE[:-1], SECRET),
        (BODY, SIGNATURE[:-1] + "g", SECRET),
    ],
)
def test_anything_but_the_exact_signature_is_refused(
    body: bytes, signature: str | None, secret: str
) -> None:
    with pytest.raises(errors.WebhookSignatureError) as caught:
        webhooks.verify(body, signature, secret)
    assert isinstance(caught.value, errors.PikError)
    assert secret not in str(caught.value) + repr(pickle.loads(pickle.dumps(caught.value)))


def test_nothing_unverified_is_parsed() -> None:
    garbage = b"\xff not json at all"
    with pytest.raises(errors.WebhookSignatureError):
        webhooks.verify(garbage, SIGNATURE, SECRET)
    signed_garbage = webhooks.sign(garbage, SECRET)
    with pytest.raises(errors.InvalidWebhookEvent):
        webhooks.verify(garbage, signed_garbage, SECRET)


def test_a_body_as_text_is_refused_rather_than_re_encoded() -> None:
    with pytest.raises(TypeError, match="raw request body as bytes"):
        webhooks.verify(BODY.decode(), SIGNATURE, SECRET)  # type: ignore[arg-type]


def test_an_unknown_event_type_still_parses_with_its_type_kept() -> None:
    body = BODY.replace(b"payment.confirmed", b"payment.refunded")
    event = webhooks.verify(body, webhooks.sign(body, SECRET), SECRET)
    assert event.event == "payment.refunded"
    assert not event.event.is_known


def test_the_comparison_is_constant_time() -> None:
    source = webhooks.verify.__code__.co_names
    assert "compare_digest" in source
