"""The sandbox delivers webhook events as PIK does, over real sockets: signed, to the right
account's subscribed endpoints, retried on the schedule the sandbox's clock follows, and kept
across a kill -9 of the sandbox."""

from __future__ import annotations

import json
import signal
import socket
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from pik_generated_client import Pik, errors, webhooks
from pik_generated_client.models import CreatedWebhook, WebhookEventType
from pik_sandbox.testing import LocalSandbox, SandboxProcess, run_sandbox
from tests.webhooks.receiver import Receiver, running_receiver

EVERY_EVENT = ["payment.confirmed", "payment.settled", "payment.failed"]


def pik_of(sandbox: LocalSandbox | SandboxProcess, api_key: str | None = None) -> Pik:
    return Pik(api_key=api_key or sandbox.api_key, base_url=sandbox.base_url, max_retries=0)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as running:
        yield running


def register(pik: Pik, receiver: Receiver, events: list[str] = EVERY_EVENT) -> CreatedWebhook:
    return pik.webhooks.create(url=receiver.url, events=events)  # type: ignore[arg-type]


def test_a_paid_link_sends_confirmed_then_settled_signed_with_the_endpoints_secret(
    receiver: Receiver,
) -> None:
    with run_sandbox() as sandbox, pik_of(sandbox) as pik:
        endpoint = register(pik, receiver)
        assert endpoint.secret.startswith("whsec_")
        assert endpoint.secret not in repr(endpoint)
        link = pik.payment_links.create(amount="75.00", currency="USDT", description="Order #1")
        pik.sandbox.simulate(link.id, status="paid")
        confirmed, settled = (
            webhooks.verify(d.body, d.signature, endpoint.secret) for d in receiver.wait_for(2)
        )
    assert (confirmed.event, settled.event) == (
        WebhookEventType.PAYMENT_CONFIRMED,
        WebhookEventType.PAYMENT_SETTLED,
    )
    assert confirmed.id != settled.id and confirmed.id.startswith("evt_")
    for event in (confirmed, settled):
        assert (event.data.payment_link_id, event.data.amount, event.data.currency) == (
            link.id,
            "75.00",
            "USDT",
        )
        assert event.data.transaction_id == confirmed.data.transaction_id
    assert (confirmed.data.status, settled.data.status) == ("confirmed", "settled")


def test_paying_on_the_checkout_page_sends_the_events_too(receiver: Receiver) -> None:
    with run_sandbox() as sandbox, pik_of(sandbox) as pik:
        endpoint = register(pik, receiver, ["payment.settled"])
        link = pik.payment_links.create(amount="5", currency="USDC")
        with sandbox.http_client(site=True, anonymous=True) as browser:
            paid = browser.post(f"/pay/{link.id}", headers={"Sec-Fetch-Site": "same-origin"})
        assert paid.status_code == 303
        (delivery,) = receiver.wait_for(1)
        event = webhooks.verify(delivery.body, delivery.signature, endpoint.secret)
    assert event.event == WebhookEventType.PAYMENT_SETTLED
    assert event.data.payment_link_id == link.id


def test_an_expired_link_sends_payment_failed_by_simulation_and_by_time(receiver: Receiver) -> None:
    with run_sandbox(link_ttl_seconds=3600) as sandbox, pik_of(sandbox) as pik:
        endpoint = register(pik, receiver, ["payment.failed"])
        simulated = pik.payment_links.create(amount="1", currency="BTC")
        pik.sandbox.simulate(simulated.id, status="expired")
        delivered = receiver.wait_for(1)[0]
        first = webhooks.verify(delivered.body, delivered.signature, endpoint.secret)
        by_time = pik.payment_links.create(amount="2", currency="BTC")
        sandbox.clock.advance(3601)
        delivered = receiver.wait_for(2)[1]
        second = webhooks.verify(delivered.body, delivered.signature, endpoint.secret)
    assert (first.data.payment_link_id, first.data.reason) == (simulated.id, "expired")
    assert (second.data.payment_link_id, second.data.reason) == (by_time.id, "expired")
    assert second.data.status == "failed"


def test_only_the_accounts_active_subscribed_endpoints_receive(receiver: Receiver) -> None:
    with (
        running_receiver() as other_receiver,
        run_sandbox() as sandbox,
        pik_of(sandbox) as pik,
        pik_of(sandbox, sandbox.other_api_key) as other,
    ):
        register(pik, receiver, ["payment.failed"])
        register(other, other_receiver)
        assert [w.url for w in other.webhooks.list().data] == [other_receiver.url]
        assert [w.url for w in pik.webhooks.list().data] == [receiver.url]
        link = pik.payment_links.create(amount="1", currency="USDT")
        pik.sandbox.simulate(link.id, status="paid")
        time.sleep(1.0)
    assert receiver.deliveries == []  # subscribed to payment.failed only
    assert other_receiver.deliveries == []  # another account


def test_failures_are_retried_on_the_schedule_with_the_same_event_id_until_undelivered(
    receiver: Receiver,
) -> None:
    receiver.answers = [500, None, 200]  # an error, then no answer in time, then success
    schedule = (300.0, 1800.0)
    with (
        run_sandbox(webhook_retry_schedule=schedule, webhook_timeout_seconds=0.5) as sandbox,
        pik_of(sandbox) as pik,
    ):
        register(pik, receiver, ["payment.confirmed"])
        link = pik.payment_links.create(amount="1", currency="USDT")
        sandbox.clock.freeze()
        pik.sandbox.simulate(link.id, status="paid")
        receiver.wait_for(1)
        time.sleep(0.5)
        assert len(receiver.deliveries) == 1  # the retry waits for the sandbox's clock
        sandbox.clock.advance(300)
        receiver.wait_for(2)
        time.sleep(1.0)  # the sandbox gives up on the silent receiver after 0.5 s
        sandbox.clock.advance(1799)
        time.sleep(1.0)
        assert len(receiver.deliveries) == 2
        sandbox.clock.advance(1)
        ids = {json.loads(d.body)["id"] for d in receiver.wait_for(3)}
    assert len(ids) == 1

    receiver.deliveries.clear()
    receiver.answers = [503, 503, 503, 503]
    with run_sandbox(webhook_retry_schedule=(1.0, 1.0)) as sandbox, pik_of(sandbox) as pik:
        register(pik, receiver, ["payment.confirmed"])
        link = pik.payment_links.create(amount="1", currency="USDT")
        pik.sandbox.simulate(link.id, status="paid")
        receiver.wait_for(3)
        time.sleep(1.5)
        with sqlite3.connect(sandbox.db_path) as database:
            rows = database.execute(
                "SELECT state, attempts, last_result FROM webhook_deliveries"
            ).fetchall()
    assert len(receiver.deliveries) == 3  # the first try and both retries
    assert rows == [("undelivered", 3, "503")]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_an_acknowledged_payment_keeps_its_events_across_kill_9(tmp_path: Path) -> None:
    port = free_port()
    database = tmp_path / "sandbox.sqlite3"
    arguments = ("--webhook-retry-schedule", "1s,1s,1s,1s,1s", "--rate-limit", "off")
    with SandboxProcess.start(*arguments, db_path=database) as first, pik_of(first) as pik:
        endpoint = pik.webhooks.create(url=f"http://127.0.0.1:{port}/hooks", events=EVERY_EVENT)  # type: ignore[arg-type]
        paid = [pik.payment_links.create(amount="1", currency="USDT") for _ in range(3)]
        for link in paid:
            pik.sandbox.simulate(link.id, status="paid")  # acknowledged: the receiver is down
        first.stop(signal.SIGKILL)
    with running_receiver(port) as receiver, SandboxProcess.start(*arguments, db_path=database):
        events = [
            webhooks.verify(d.body, d.signature, endpoint.secret)
            for d in receiver.wait_for(6, timeout=20)
        ]
        time.sleep(1.5)
        assert len(receiver.deliveries) == 6  # exactly the acknowledged events, each once
    assert sorted((e.data.payment_link_id, str(e.event)) for e in events) == sorted(
        (link.id, kind) for link in paid for kind in ("payment.confirmed", "payment.settled")
    )


def test_a_url_that_is_no_http_url_is_unprocessable() -> None:
    with run_sandbox(in_process=True) as sandbox, sandbox.http_client() as api:
        answer = api.post("/webhooks", json={"url": "https://", "events": ["payment.failed"]})
    assert answer.status_code in (400, 422)
    assert answer.json()["error"]["code"] in ("invalid_request", "unprocessable_entity")


def test_the_client_raises_for_a_bad_webhook_request() -> None:
    with run_sandbox() as sandbox, pik_of(sandbox) as pik, pytest.raises(errors.BadRequestError):
        pik.webhooks.create(url="ftp://example.com/hook", events=["payment.failed"])
