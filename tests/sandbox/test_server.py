"""The `pik-sandbox` command as a real server: durability across restarts and kill -9,
concurrent clients, signals, keys from the environment, access logs, docs and the spec."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio.from_thread
import httpx
import pytest
import yaml

from pik_sandbox.app import close_app
from pik_sandbox.spec import spec_text
from tests.conftest import API_KEY, OTHER_API_KEY
from tests.sandbox.support import ORDER, create

if TYPE_CHECKING:
    from tests.conftest import SandboxProcess

StartSandbox = Callable[..., "SandboxProcess"]
# Fixed, so that checkout URLs stay the same when a restarted server gets another port.
PUBLIC_URL = ("--public-url", "http://checkout.sandbox.test")


def everything(api: httpx.Client) -> list[dict[str, Any]]:
    """Every link of the account, newest first, page by page."""
    links: list[dict[str, Any]] = []
    while True:
        page = api.get("/payment-links", params={"limit": 100, "offset": len(links)}).json()
        links += page["data"]
        if len(links) >= page["total"]:
            return links


def wait_for_log(sandbox: SandboxProcess, pattern: str, timeout: float = 5.0) -> str:
    """The sandbox's log once `pattern` appears in it."""
    deadline = time.monotonic() + timeout
    while True:
        log = sandbox.log()
        if re.search(pattern, log) or time.monotonic() > deadline:
            assert re.search(pattern, log), f"{pattern!r} not in the log:\n{log[-2000:]}"
            return log
        time.sleep(0.02)


def test_links_survive_a_restart(start_sandbox: StartSandbox) -> None:
    first = start_sandbox(*PUBLIC_URL)
    with first.client() as api, first.client(OTHER_API_KEY) as other:
        created = [
            api.post("/payment-links", json={**ORDER, "amount": f"{i}.5"}) for i in range(1, 8)
        ]
        assert all(response.status_code == 201 for response in created)
        paid = api.post(
            f"/sandbox/payment-links/{created[0].json()['id']}/simulate", json={"status": "paid"}
        ).json()
        foreign = other.post("/payment-links", json=ORDER).json()
        before, before_other = everything(api), everything(other)
    assert first.stop(signal.SIGTERM) == 0
    assert "PIK sandbox stopped." in first.log()

    second = start_sandbox(*PUBLIC_URL, db_path=first.db_path)
    with second.client() as api, second.client(OTHER_API_KEY) as other:
        assert everything(api) == before
        assert api.get(f"/payment-links/{paid['id']}").json()["paid_at"] == paid["paid_at"]
        assert len(everything(other)) == len(before_other) == 1
        assert api.get(f"/payment-links/{foreign['id']}").status_code == 404


def test_every_201_survives_kill_9(start_sandbox: StartSandbox) -> None:
    first = start_sandbox(*PUBLIC_URL)
    with first.client() as api:
        answered = []
        for i in range(40):
            response = api.post("/payment-links", json={**ORDER, "description": f"order {i}"})
            assert response.status_code == 201
            answered.append(response.json())
        last = api.post(
            f"/sandbox/payment-links/{answered[-1]['id']}/simulate", json={"status": "paid"}
        )
        assert last.status_code == 200
    # No time for a checkpoint or a graceful close: the process dies at once.
    first.process.send_signal(signal.SIGKILL)
    first.process.wait(timeout=10)
    assert first.process.returncode == -signal.SIGKILL

    second = start_sandbox(*PUBLIC_URL, db_path=first.db_path)
    with second.client() as api:
        for link in answered[:-1]:
            assert api.get(f"/payment-links/{link['id']}").json() == link
        assert api.get(f"/payment-links/{answered[-1]['id']}").json() == last.json()
        assert api.get("/payment-links").json()["total"] == 40
    assert second.stop(signal.SIGINT) == 0
    assert "Traceback" not in second.log()


def test_hundreds_of_concurrent_creates_all_succeed(live_sandbox: SandboxProcess) -> None:
    count = 300

    async def run() -> tuple[list[httpx.Response], int, int]:
        limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
        headers = {"Authorization": f"Bearer {API_KEY}"}
        async with httpx.AsyncClient(
            base_url=live_sandbox.base_url, headers=headers, limits=limits, timeout=60
        ) as api:
            before = (await api.get("/payment-links")).json()["total"]
            responses = await asyncio.gather(
                *(
                    api.post("/payment-links", json={**ORDER, "description": f"concurrent {i}"})
                    for i in range(count)
                )
            )
            after = (await api.get("/payment-links")).json()["total"]
            return list(responses), before, after

    responses, before, after = asyncio.run(run())
    assert [r.status_code for r in responses] == [201] * count
    ids = {r.json()["id"] for r in responses}
    assert len(ids) == count
    assert after - before == count
    described = {r.json()["description"] for r in responses}
    assert described == {f"concurrent {i}" for i in range(count)}


def test_the_access_log_never_contains_an_api_key(live_sandbox: SandboxProcess) -> None:
    with live_sandbox.client() as api:
        link = api.post("/payment-links", json=ORDER).json()
        api.get(f"/payment-links/{link['id']}")
        api.get("/payment-links", params={"status": "active"})
        # A client that puts its key in the URL by mistake, and one with another account's key.
        api.get("/payment-links", params={"api_key": API_KEY})
        api.get(f"/payment-links/{API_KEY}")
    with live_sandbox.client(OTHER_API_KEY) as other:
        other.get(f"/payment-links/{link['id']}")
    with live_sandbox.client("sk_wrong_key_9c1d") as wrong:
        assert wrong.get("/payment-links").status_code == 401
    # A line is written once its response has gone out, so the last one may lag a little.
    log = wait_for_log(live_sandbox, r'"GET /v1/payment-links" 401')
    assert re.search(r'"POST /v1/payment-links" 201', log)
    assert re.search(rf'"GET /v1/payment-links/{link["id"]}" 200', log)
    for key in (API_KEY, OTHER_API_KEY):
        assert key not in log


def test_the_access_log_keeps_query_names_and_no_value(
    make_sandbox_app: Any, client_for: Any, caplog: pytest.LogCaptureFixture
) -> None:
    # A one-letter key must not mangle other text, and keys sent by mistake (encoded, or a key
    # this sandbox does not know) must not be written down.
    app = make_sandbox_app(api_keys=("k", API_KEY))
    api = client_for(app, "k")
    encoded = "".join(f"%{byte:02X}" for byte in API_KEY.encode())
    production_key = "sk_live_9f8e7d6c5b4a"
    with caplog.at_level(logging.INFO, logger="pik_sandbox.access"):
        api.get("/payment-links", params={"status": "active", "limit": 5})
        api.get(f"/payment-links?api_key={encoded}")
        api.get("/payment-links", params={"token": production_key})
        api.get(f"/payment-links/{encoded}")
        api.get("/payment-links/k")
    lines = [record.getMessage() for record in caplog.records]
    assert len(lines) == 5
    log = "\n".join(lines)
    for secret in (API_KEY, encoded, production_key, '/k"'):
        assert secret not in log
    assert '"GET /v1/payment-links?status=*&limit=*" 200' in lines[0]
    assert '"GET /v1/payment-links?api_key=*" ' in lines[1]
    assert '"GET /v1/payment-links?token=*" ' in lines[2]
    assert '"GET /v1/payment-links/[redacted]" 400' in lines[3]
    assert '"GET /v1/payment-links/[redacted]" 400' in lines[4]


def test_a_client_that_leaves_mid_body_is_not_logged_as_a_failure(
    live_sandbox: SandboxProcess,
) -> None:
    path = f"/v1/sandbox/payment-links/pl_leaves{time.monotonic_ns()}/simulate"
    url = httpx.URL(live_sandbox.site_url)
    with socket.create_connection((url.host, url.port), timeout=10) as connection:
        connection.sendall(
            f"POST {path} HTTP/1.1\r\nHost: {url.host}\r\nAuthorization: Bearer {API_KEY}\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n".encode()
            + b'{"status": '
        )
        time.sleep(0.1)  # The first part has arrived; then the client is gone.
    log = wait_for_log(live_sandbox, re.escape(f'"POST {path}"'))
    line = next(line for line in log.splitlines() if path in line)
    assert "disconnected" in line and " 500 " not in line


def test_keys_can_come_from_the_environment(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox(api_keys=(), env={"PIK_SANDBOX_API_KEYS": "sk_env_one, sk_env_two"})
    for key in ("sk_env_one", "sk_env_two"):
        with sandbox.client(key) as api:
            assert api.post("/payment-links", json=ORDER).status_code == 201
    with sandbox.client("sk_sandbox_demo") as api:
        assert api.get("/payment-links").status_code == 401
    assert "sk_env_one" not in sandbox.log()


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs curl")
@pytest.mark.parametrize(
    ("args", "asset"), [((), "USDT"), (("--asset", "DOGE:0", "--asset", "BTC"), "DOGE")]
)
def test_without_keys_a_demo_key_and_a_working_curl_are_printed(
    start_sandbox: StartSandbox, args: tuple[str, ...], asset: str
) -> None:
    sandbox = start_sandbox(*args, api_keys=())
    log = sandbox.log()
    assert "sk_sandbox_demo" in log
    curl_line = next(line for line in log.splitlines() if line.strip().startswith("curl "))
    assert sandbox.base_url + "/payment-links" in curl_line
    result = subprocess.run(
        shlex.split(curl_line.strip()), capture_output=True, text=True, timeout=10, check=True
    )
    created = httpx.Response(200, content=result.stdout.encode()).json()
    assert created["status"] == "active" and created["currency"] == asset
    assert created["url"] == f"{sandbox.site_url}/pay/{created['id']}"


def test_docs_are_served_offline_and_the_spec_at_openapi_yaml(
    live_sandbox: SandboxProcess,
) -> None:
    with live_sandbox.client(None, base_path="") as site:
        docs = site.get("/docs", follow_redirects=True)
        assert docs.status_code == 200 and "swagger-ui" in docs.text
        # Every script and stylesheet comes from this server.
        assets = re.findall(r'(?:src|href)="([^"]+)"', docs.text)
        assert assets and all(not asset.startswith(("http:", "https:", "//")) for asset in assets)
        for asset in assets:
            assert site.get(httpx.URL(str(docs.url)).join(asset)).status_code == 200
        assert "/openapi.yaml" in docs.text
        spec_response = site.get("/openapi.yaml")
        assert spec_response.status_code == 200
        spec = yaml.safe_load(spec_response.text)
        assert spec["openapi"] == "3.0.3"
        assert set(spec["paths"]) >= {"/payment-links", "/payment-links/{id}"}
        assert spec["servers"][0]["url"] == live_sandbox.base_url
        assert "x-bearerInfoFunc" not in spec_response.text
    # Only the sandbox's in-memory copy names the bearer check; the shared document never does.
    assert "x-bearerInfoFunc" not in spec_text()


def test_rate_limits_are_on_by_default(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox()
    with sandbox.client() as api:
        for _ in range(60):
            assert api.post("/payment-links", json=ORDER).status_code == 201
        refused = api.post("/payment-links", json=ORDER)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "rate_limited"
        assert refused.headers["retry-after"].isdigit()


def test_link_ttl_option_expires_links(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox("--link-ttl", "0.5")
    with sandbox.client() as api:
        link = api.post("/payment-links", json=ORDER).json()
        assert link["status"] == "active"
        time.sleep(0.8)
        assert api.get(f"/payment-links/{link['id']}").json()["status"] == "expired"
        expired = api.get("/payment-links", params={"status": "expired"}).json()
        assert [item["id"] for item in expired["data"]] == [link["id"]]


def test_the_app_serves_again_after_its_lifespan_closed_the_store(
    make_sandbox_app: Any, client_for: Any
) -> None:
    # Test harnesses (schemathesis among them) run an app's lifespan once per client.
    app = make_sandbox_app()
    api = client_for(app)
    link = create(api)
    close_app(app)
    assert api.get(f"/payment-links/{link['id']}").json() == link
    close_app(app)
    assert create(api)["id"] != link["id"]


def open_files_under(path: Path) -> int:
    """How many file descriptors of this process point at `path` (or its -wal, -shm files)."""
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{fd}").startswith(str(path)):
                count += 1
        except OSError:
            pass  # Closed since it was listed.
    return count


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="needs /proc")
def test_database_connections_do_not_pile_up_as_worker_threads_come_and_go(
    make_sandbox_app: Any, tmp_path: Path
) -> None:
    # Event loops (and their worker threads) come and go; the store's own threads keep one
    # connection each, and the connections must be reused, not left open.
    db_path = tmp_path / "threads.sqlite3"
    app = make_sandbox_app(db_path=db_path)
    concurrency = 10

    async def burst() -> None:
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app),
            base_url="http://sandbox.test/v1",
            headers={"Authorization": f"Bearer {API_KEY}"},
        ) as api:
            responses = await asyncio.gather(
                *(api.get("/payment-links") for _ in range(concurrency))
            )
            assert [r.status_code for r in responses] == [200] * concurrency

    for _ in range(4):
        with anyio.from_thread.start_blocking_portal() as portal:  # fresh worker threads
            portal.call(burst)
    # Never more than one connection per request in flight (the store has five), each holding
    # the database and its WAL file.
    assert open_files_under(db_path) <= 2 * concurrency + 1
