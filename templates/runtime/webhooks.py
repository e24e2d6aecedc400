"""Check that a webhook delivery comes from PIK, then read its event.

```python
event = webhooks.verify(request_body_bytes, request.headers.get("PIK-Signature"), secret)
```

`verify` checks the `PIK-Signature` header (the HMAC-SHA256 of the raw body, keyed with the
endpoint's secret, as lowercase hex) in constant time, over the bytes exactly as received, and
only then parses them. Pass the raw body: JSON parsed and written out again is not the same bytes.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re

from . import errors
from .models.webhook_event import WebhookEvent

SIGNATURE_HEADER = "PIK-Signature"
_HEX_DIGEST = re.compile(r"[0-9a-f]{64}")


def sign(payload: bytes, secret: str) -> str:
    """The `PIK-Signature` of `payload` under `secret`: HMAC-SHA256, lowercase hex."""
    return hmac.new(secret.encode("utf-8"), payload, hashlib.sha256).hexdigest()


def verify(payload: bytes, signature: str | None, secret: str) -> WebhookEvent:
    """The event a delivery carries, once its signature is checked.

    Args:
        payload: The request body, as received (bytes, not parsed and re-serialised JSON).
        signature: The `PIK-Signature` header's value (None when the header is missing).
        secret: The endpoint's secret, returned once by `createWebhook`.

    Raises:
        errors.WebhookSignatureError: The header is missing or malformed, or does not match the
            body and the secret. Nothing of the body has been parsed.
        errors.InvalidWebhookEvent: The signature matches, but the body is not an event.
    """
    if not isinstance(payload, bytes | bytearray | memoryview):
        raise TypeError("payload must be the raw request body as bytes, exactly as received")
    if not secret:
        raise ValueError("secret must be the endpoint's signing secret")
    if not signature:
        raise errors.WebhookSignatureError(f"the {SIGNATURE_HEADER} header is missing")
    given = signature.strip().lower()
    if not _HEX_DIGEST.fullmatch(given):
        raise errors.WebhookSignatureError(f"the {SIGNATURE_HEADER} header is not a hex HMAC-SHA256 digest")
    if not hmac.compare_digest(sign(bytes(payload), secret), given):
        raise errors.WebhookSignatureError(
            f"the {SIGNATURE_HEADER} header does not match the body and this endpoint's secret"
        )
    try:
        return WebhookEvent.from_dict(json.loads(bytes(payload)))
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as exc:
        reason = f"{type(exc).__name__}: {exc}"
    raise errors.InvalidWebhookEvent(f"the delivery's body is not an event: {reason}"[:300])


__all__ = ["SIGNATURE_HEADER", "sign", "verify"]
