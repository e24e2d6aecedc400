"""pik_sandbox.testing starts real sandboxes (on a loopback port, in-process, as a process), gives
their URLs, keys, clock and payments, and leaves nothing behind when they stop."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import threading
from pathlib import Path

import httpx
import pytest

from pik_sandbox.testing import (
    API_KEY,
    OTHER_API_KEY,
    SandboxCallFailed,
    SandboxClock,
    SandboxProcess,
    SandboxStartFailed,
    run_sandbox,
    run_sandbox_async,
)
from tests.sandbox.support import ORDER


def open_descriptors() -> set[str]:
    """This process's open file descriptors, by what they point at."""
    found = set()
    for name in os.listdir("/proc/self/fd"):
        # The listing's own descriptor is closed by the time it is read.
        with contextlib.suppress(OSError):
            found.add(f"{name}->{os.readlink(f'/proc/self/fd/{name}')}")
    return found


def refuses_connections(host: str, port: int) -> bool:
    try:
        socket.create_connection((host, port), timeout=2).close()
    except ConnectionRefusedError:
        return True
    return False


def test_a_sandbox_on_a_loopback_port_serves_two_accounts_and_simulates_payments() -> None:
    with run_sandbox() as sandbox:
        assert sandbox.base_url.startswith("http://127.0.0.1:")
        assert sandbox.base_url.endswith("/v1")
        assert (sandbox.api_key, sandbox.other_api_key) == (API_KEY, OTHER_API_KEY)
        with sandbox.http_client() as api, sandbox.http_client(sandbox.other_api_key) as other:
            link = api.post("/payment-links", json=ORDER).json()
            assert link["url"] == f"{sandbox.base_url.removesuffix('/v1')}/pay/{link['id']}"
            assert other.get(f"/payment-links/{link['id']}").status_code == 404
            paid = sandbox.simulate_payment(link["id"])
            assert paid["status"] == "paid" and paid["paid_at"]
            assert api.get(f"/payment-links/{link['id']}").json() == paid
        with pytest.raises(SandboxCallFailed) as refused:
            sandbox.simulate_payment(link["id"], "expired")  # a final state never changes
        assert refused.value.status_code == 422
        with pytest.raises(SandboxCallFailed) as foreign:
            sandbox.simulate_payment(link["id"], api_key=sandbox.other_api_key)
        assert foreign.value.status_code == 404
        with pytest.raises(SandboxCallFailed) as not_an_id:
            sandbox.simulate_payment(f"{link['id']}/../{link['id']}")  # one path segment
        assert not_an_id.value.status_code in (400, 404)


def test_moving_the_clock_expires_links_and_rolls_rate_limit_windows() -> None:
    with (
        run_sandbox(link_ttl_seconds=60, rate_limit=True, creation_limit=2) as sandbox,
        sandbox.http_client() as api,
    ):
        link = api.post("/payment-links", json=ORDER).json()
        assert api.post("/payment-links", json=ORDER).status_code == 201
        assert api.post("/payment-links", json=ORDER).status_code == 429
        sandbox.clock.advance(59)
        assert api.get(f"/payment-links/{link['id']}").json()["status"] == "active"
        sandbox.clock.advance(2)
        assert api.get(f"/payment-links/{link['id']}").json()["status"] == "expired"
        assert api.post("/payment-links", json=ORDER).status_code == 201


def test_a_frozen_clock_stands_still_until_advanced() -> None:
    clock = SandboxClock(frozen=True)
    now = clock()
    assert clock() == now and clock.frozen
    clock.advance(30)
    assert clock() == now + 30
    clock.resume()
    assert not clock.frozen and now + 30 <= clock() < now + 31
    with pytest.raises(ValueError, match="forward"):
        clock.advance(-1)


def test_stopping_leaves_no_port_file_thread_or_descriptor() -> None:
    with run_sandbox():
        pass  # One-time set-up of libraries (event-loop policy, pipes) is not the sandbox's.
    threads, descriptors = threading.active_count(), open_descriptors()
    with run_sandbox() as sandbox:
        url = httpx.URL(sandbox.base_url)
        folder = sandbox.db_path.parent
        with sandbox.http_client() as api:
            assert api.post("/payment-links", json=ORDER).status_code == 201
        assert folder.is_dir() and threading.active_count() > threads
    assert url.host and url.port and refuses_connections(url.host, url.port)
    assert not folder.exists()
    assert threading.active_count() == threads
    assert open_descriptors() == descriptors


def test_in_process_a_sandbox_is_reached_through_its_transport() -> None:
    threads = threading.active_count()
    with run_sandbox(in_process=True) as sandbox:
        assert sandbox.in_process and sandbox.base_url == "http://sandbox.test/v1"
        with sandbox.http_client() as api:
            link = api.post("/payment-links", json=ORDER).json()
        assert sandbox.simulate_payment(link["id"])["status"] == "paid"
        with httpx.Client(transport=sandbox.transport, base_url=sandbox.base_url) as bare:
            assert bare.get("/payment-links").status_code == 401
        folder = sandbox.db_path.parent
    assert not folder.exists() and threading.active_count() == threads


def test_the_async_forms_serve_over_a_socket_and_in_process() -> None:
    async def scenario(in_process: bool) -> str:
        async with run_sandbox_async(in_process=in_process) as sandbox:
            async with sandbox.async_http_client() as api:
                link = (await api.post("/payment-links", json=ORDER)).json()
            paid = await sandbox.simulate_payment_async(link["id"])
            if in_process:
                with pytest.raises(RuntimeError, match="async_http_client"):
                    sandbox.http_client()
            return str(paid["status"])

    threads = threading.active_count()
    assert asyncio.run(scenario(in_process=False)) == "paid"
    assert asyncio.run(scenario(in_process=True)) == "paid"
    assert threading.active_count() == threads


def test_a_process_runs_the_command_with_extra_options_and_cleans_up() -> None:
    with SandboxProcess.start("--rate-limit", "off", "--asset", "DOGE:0") as sandbox:
        assert sandbox.base_url.endswith("/v1")
        with sandbox.http_client() as api:
            for _ in range(65):  # more than the creation limit, which is off
                created = api.post(
                    "/payment-links", json={**ORDER, "amount": "75", "currency": "DOGE"}
                )
                assert created.status_code == 201, created.text
        assert sandbox.simulate_payment(created.json()["id"])["status"] == "paid"
        folder = sandbox.log_path.parent
    assert sandbox.process.returncode == 0
    assert not folder.exists()
    assert "PIK sandbox stopped." not in sandbox.log()  # the log went with its folder


def test_a_process_that_cannot_start_says_why(tmp_path: Path) -> None:
    with pytest.raises(SandboxStartFailed, match="link TTL"):
        SandboxProcess.start("--link-ttl", "never", workdir=tmp_path)


def test_a_process_stopped_by_a_signal_reports_it(tmp_path: Path) -> None:
    sandbox = SandboxProcess.start(workdir=tmp_path)
    assert sandbox.stop(signal.SIGKILL) == -signal.SIGKILL
    assert sandbox.log_path.exists()  # a folder of the caller's own is kept
