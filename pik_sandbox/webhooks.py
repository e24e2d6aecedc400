"""Delivering webhook events, as PIK does: from the store's outbox, signed, retried on PIK's
schedule, in the background.

Each pending delivery is sent as a POST of its event's JSON body with a `PIK-Signature` header
(the HMAC-SHA256 of the body under the endpoint's secret, lowercase hex). A 200 within the timeout
is success; anything else is a failure, retried after the schedule's next wait (PIK's: 5 min,
30 min, 2 h, 8 h, 24 h), and after the last retry the event is undelivered. Waits follow the
sandbox's clock. At most `concurrency` deliveries are in flight, each endpoint gets its events
one at a time and in order, no redirect is followed and at most `MAX_RESPONSE_BYTES` of an answer
is read, so a receiver that hangs or is down costs the API nothing. A payment wakes the loop at
once; otherwise it looks for due retries and expired links every POLL_INTERVAL_SECONDS.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging

import httpx

from pik_sandbox.settings import WEBHOOK_RETRY_SCHEDULE, WEBHOOK_TIMEOUT_SECONDS
from pik_sandbox.store import DeliveryRecord, PaymentLinkStore

logger = logging.getLogger("pik_sandbox.webhooks")

DELIVERY_CONCURRENCY = 8
MAX_RESPONSE_BYTES = 64 * 1024
POLL_INTERVAL_SECONDS = 0.1
SIGNATURE_HEADER = "PIK-Signature"


def sign(body: bytes, secret: str) -> str:
    """The `PIK-Signature` of `body`: HMAC-SHA256 under `secret`, lowercase hex."""
    return hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()


class WebhookDeliverer:
    """Sends what the outbox holds, for as long as `run()` runs (the app's lifespan)."""

    def __init__(
        self,
        store: PaymentLinkStore,
        *,
        schedule: tuple[float, ...] = WEBHOOK_RETRY_SCHEDULE,
        timeout: float = WEBHOOK_TIMEOUT_SECONDS,
        concurrency: int = DELIVERY_CONCURRENCY,
    ) -> None:
        self.store = store
        self.schedule = schedule
        self.timeout = timeout
        self._slots = asyncio.Semaphore(concurrency)
        self._concurrency = concurrency
        self._in_flight: dict[int, asyncio.Task[None]] = {}
        self._wake = asyncio.Event()
        # A payment wakes the loop at once instead of at its next look.
        store.on_events = self.wake

    def wake(self) -> None:
        """Look at the outbox now rather than at the next poll."""
        self._wake.set()

    async def run(self) -> None:
        """Deliver until cancelled, looking for due work every POLL_INTERVAL_SECONDS."""
        async with httpx.AsyncClient(
            follow_redirects=False, timeout=self.timeout, trust_env=False
        ) as http:
            try:
                while True:
                    try:
                        await self.deliver_due(http)
                    except Exception:  # A failing database must not end deliveries for good.
                        logger.exception("webhook deliveries failed; trying again")
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), POLL_INTERVAL_SECONDS)
                    self._wake.clear()
            finally:
                for task in self._in_flight.values():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.gather(*self._in_flight.values(), return_exceptions=True)

    async def deliver_due(self, http: httpx.AsyncClient) -> None:
        """Expire links past their time, then start every delivery that is due."""
        await self.store.expire_due()
        free = self._concurrency - len(self._in_flight)
        if free <= 0:
            return
        for delivery in await self.store.due_deliveries(limit=free, skip=self._in_flight):
            task = asyncio.create_task(self._deliver(http, delivery))
            self._in_flight[delivery.seq] = task
            task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        for seq, running in list(self._in_flight.items()):
            if running is task:
                del self._in_flight[seq]

    async def _deliver(self, http: httpx.AsyncClient, delivery: DeliveryRecord) -> None:
        async with self._slots:
            result = await self._attempt(http, delivery)
        delivered = result == "200"
        attempt = delivery.attempts + 1
        retry_in = None if delivered or attempt > len(self.schedule) else self.schedule[attempt - 1]
        await self.store.finish_attempt(
            delivery.seq, delivered=delivered, result=result, retry_in=retry_in
        )
        logger.info(
            "webhook %s %s to %s: attempt %d: %s%s",
            delivery.event_type,
            delivery.event_id,
            delivery.webhook_id,
            attempt,
            result,
            ""
            if delivered
            else (f"; retry in {retry_in:g} s" if retry_in is not None else "; undelivered"),
        )

    async def _attempt(self, http: httpx.AsyncClient, delivery: DeliveryRecord) -> str:
        """One POST of the delivery: its status code as text, or what went wrong."""
        headers = {
            "Content-Type": "application/json",
            SIGNATURE_HEADER: sign(delivery.body, delivery.secret),
            "User-Agent": "pik-sandbox-webhooks",
        }
        try:
            async with asyncio.timeout(self.timeout):
                async with http.stream(
                    "POST", delivery.url, content=delivery.body, headers=headers
                ) as answer:
                    read = 0
                    async for chunk in answer.aiter_raw():
                        read += len(chunk)
                        if read > MAX_RESPONSE_BYTES:
                            break
                    return str(answer.status_code)
        except TimeoutError:
            return f"no answer within {self.timeout:g} s"
        except httpx.HTTPError as error:
            return f"{type(error).__name__}: {error}"[:200]
