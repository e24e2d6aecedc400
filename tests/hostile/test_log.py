"""The log cannot leak a key or be forged: keys anywhere in a request (known or only key-shaped),
at every level and from every library's logger, control characters, and X-Forwarded-For."""

from __future__ import annotations

import logging
import re
import socket
import sys
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

import httpx
import pytest

from pik_sandbox.logs import RedactingFormatter
from tests.conftest import OTHER_API_KEY

if TYPE_CHECKING:
    from tests.conftest import SandboxProcess

StartSandbox = Callable[..., "SandboxProcess"]
KEY = "sk_test_a"
LIVE_KEY = "sk_live_51Habc123def"
FORGED = "2026-01-01 00:00:00,000 INFO pik_sandbox.access: forged"

# Where a key turned up in the log before, and more.
TARGETS = [
    f"/v1/payment-links/{KEY}.json",
    f"/v1/Bearer%20{KEY}",
    f"/pay/x{KEY}",
    f"/v1/payment-links/pl_x;{KEY}",
    f"/v1/payment-links?Bearer+{KEY}",
    f"/v1/payment-links?{KEY}%3D=1",
    f"/v1/payment-links?api_key:{KEY}",
    f"/v1/payment-links/{LIVE_KEY}",
    "/v1/payment-links/" + "".join(f"%{byte:02X}" for byte in KEY.encode()),
    "/v1/payment-links/%2F" + LIVE_KEY,
    "/v1/payment-links/pl_%0A" + FORGED.replace(" ", "%20"),
    "/v1/payment-links/pl_%1B%5B31mred%0D",
]


def send_raw(sandbox: SandboxProcess, target: str, *headers: str) -> bytes:
    """One request with exactly this target and these header lines; the server's answer."""
    url = httpx.URL(sandbox.site_url)
    assert url.host and url.port
    lines = [f"GET {target} HTTP/1.1", "Host: x", "Connection: close", *headers, "", ""]
    with socket.create_connection((url.host, url.port), timeout=5) as sock:
        sock.sendall("\r\n".join(lines).encode())
        answer = b""
        while chunk := sock.recv(65536):
            answer += chunk
    return answer


def stopped_log(sandbox: SandboxProcess, requests: int) -> str:
    """The whole log, once `requests` access lines are in it and the process has stopped."""
    deadline = time.monotonic() + 10
    while sandbox.log().count('"GET ') < requests and time.monotonic() < deadline:
        time.sleep(0.05)
    sandbox.stop()
    return sandbox.log()


def test_no_key_reaches_the_log_at_debug_level_from_any_logger(
    start_sandbox: StartSandbox,
) -> None:
    sandbox = start_sandbox("--log-level", "debug", api_keys=(KEY, OTHER_API_KEY))
    for target in TARGETS:
        send_raw(sandbox, target, f"Authorization: Bearer {KEY}")
    send_raw(sandbox, "/v1/payment-links", f"Authorization: Bearer {LIVE_KEY}")
    log = stopped_log(sandbox, len(TARGETS) + 1)
    assert "validating parameters" in log or "DEBUG" in log, "debug lines were written"
    for secret in (KEY, LIVE_KEY, KEY.replace("_", "%5F")):
        assert secret not in log
    assert log.count("[redacted]") >= len(TARGETS) - 2
    # One request, one line: nothing a client sends starts a line of its own.
    assert not any(line.startswith(FORGED) for line in log.splitlines())
    assert "\x1b" not in log and "\r" not in log


def test_x_forwarded_for_is_ignored_unless_the_proxy_is_trusted(
    start_sandbox: StartSandbox,
) -> None:
    forged = ("Authorization: Bearer x", f"X-Forwarded-For: 203.0.113.7, {KEY}")
    untrusted = start_sandbox(api_keys=(KEY, OTHER_API_KEY))
    send_raw(untrusted, "/v1/payment-links", *forged)
    log = stopped_log(untrusted, 1)
    line = next(line for line in log.splitlines() if '"GET /v1/payment-links"' in line)
    assert "127.0.0.1:" in line and "203.0.113.7" not in log and KEY not in log

    trusted = start_sandbox("--trusted-proxy", "127.0.0.1", api_keys=(KEY, OTHER_API_KEY))
    send_raw(trusted, "/v1/payment-links", "X-Forwarded-For: 203.0.113.7")
    send_raw(trusted, "/v1/payment-links", f"X-Forwarded-For: {KEY}")
    log = stopped_log(trusted, 2)
    assert re.search(r'203\.0\.113\.7:\d+ - "GET /v1/payment-links"', log)
    assert KEY not in log


def test_a_traceback_keeps_its_lines_indented_and_its_keys_out() -> None:
    formatter = RedactingFormatter("%(levelname)s %(name)s: %(message)s", secrets=["s3cr3t-key"])
    try:
        raise ValueError(f"bad value\n{FORGED} s3cr3t-key {LIVE_KEY}")
    except ValueError:
        record = logging.LogRecord(
            "any.library", logging.ERROR, __file__, 1, "failed on %s", ("x\ny",), sys.exc_info()
        )
    lines = formatter.format(record).split("\n")
    assert lines[0] == "ERROR any.library: failed on x\\ny"
    assert all(line.startswith("    ") for line in lines[1:])
    text = "\n".join(lines)
    assert "s3cr3t-key" not in text and LIVE_KEY not in text and "[redacted]" in text


@pytest.mark.parametrize("word", ["disk_usage", "task_queue", "risk_score"])
def test_words_that_merely_contain_sk_are_left_alone(word: str) -> None:
    formatter = RedactingFormatter("%(message)s")
    record = logging.LogRecord("x", logging.INFO, __file__, 1, word, None, None)
    assert formatter.format(record) == word
