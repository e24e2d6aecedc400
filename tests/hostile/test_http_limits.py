"""One client must not hurt the others: huge and slow request heads, idle and surplus connections,
and malformed HTTP, against a real `pik-sandbox` process over real sockets. Every answer the
server gives on its own is in PIK's error shape; nothing is stored.

The limits are options; these tests set small ones so that each attack ends in about a second.
"""

from __future__ import annotations

import json
import select
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pik_sandbox import testing
from tests.conftest import API_KEY

if TYPE_CHECKING:
    from tests.conftest import SandboxProcess

StartSandbox = Callable[..., "SandboxProcess"]
HEADER_CAP = 8192
REQUEST_TIMEOUT = 0.5


@pytest.fixture
def sandbox(start_sandbox: StartSandbox) -> SandboxProcess:
    """A sandbox with small limits."""
    return start_sandbox(
        "--rate-limit",
        "off",
        "--max-header-size",
        str(HEADER_CAP),
        "--request-timeout",
        str(REQUEST_TIMEOUT),
        "--keep-alive-timeout",
        "0.5",
        "--max-connections",
        "8",
    )


def connect(sandbox: SandboxProcess) -> socket.socket:
    url = httpx.URL(sandbox.site_url)
    assert url.host and url.port
    return socket.create_connection((url.host, url.port), timeout=5)


def read_answer(sock: socket.socket, within: float = 5.0) -> tuple[int, dict[str, str], bytes]:
    """The status, headers and body the server wrote before closing (or within `within`)."""
    data = b""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
        head, _, body = data.partition(b"\r\n\r\n")
        headers = _headers(head)
        if "content-length" in headers and len(body) >= int(headers["content-length"]):
            break
    head, _, body = data.partition(b"\r\n\r\n")
    assert head, "the server answered nothing"
    status = int(head.split(b" ", 2)[1])
    return status, _headers(head), body


def _headers(head: bytes) -> dict[str, str]:
    lines = head.decode("latin-1").split("\r\n")[1:]
    fields = (line.partition(":") for line in lines)
    return {name.strip().lower(): value.strip() for name, _, value in fields}


def assert_pik_error(status: int, headers: dict[str, str], body: bytes, expected: int) -> None:
    assert status == expected, body
    assert headers["content-type"] == "application/json"
    error = json.loads(body)["error"]
    assert set(error) == {"code", "message"} and error["message"]


def closed_by_server(sock: socket.socket, within: float) -> bool:
    """Whether the server closes the connection within `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        readable, _, _ = select.select([sock], [], [], 0.05)
        if readable:
            try:
                if sock.recv(65536) == b"":
                    return True
            except ConnectionResetError:
                return True
    return False


@pytest.fixture
def api(sandbox: SandboxProcess) -> Iterator[httpx.Client]:
    with sandbox.client() as client:
        yield client


def test_a_huge_header_is_cut_off_with_431_while_others_are_served(
    sandbox: SandboxProcess, api: httpx.Client
) -> None:
    outcome: dict[str, Any] = {}

    def stream_a_huge_header() -> None:
        sent = 0
        with connect(sandbox) as sock:
            sock.sendall(b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\nX-Junk: ")
            try:
                while sent < 64 * 1024 * 1024:
                    if select.select([sock], [], [], 0)[0]:
                        break  # the server has answered
                    sock.sendall(b"a" * 4096)
                    sent += 4096
            except (BrokenPipeError, ConnectionResetError):
                pass
            outcome["sent"] = sent
            outcome["answer"] = read_answer(sock)

    attacker = threading.Thread(target=stream_a_huge_header)
    attacker.start()
    statuses = [api.get("/payment-links").status_code for _ in range(20)]
    attacker.join(timeout=30)
    assert statuses == [200] * 20
    # What was sent past the cap sat in the kernel's socket buffers: the server stopped reading
    # at the cap and closed (without a cap it reads on: 128 MB took 36 s with httptools).
    assert outcome["sent"] < 16 * 1024 * 1024, "the server kept reading a header past its cap"
    status, headers, body = outcome["answer"]
    assert_pik_error(status, headers, body, expected=431)
    assert f"{HEADER_CAP // 1024} KiB" in json.loads(body)["error"]["message"]


def test_a_head_over_the_cap_is_431_even_when_it_arrives_at_once(
    sandbox: SandboxProcess, api: httpx.Client
) -> None:
    before = api.get("/payment-links").json()["total"]
    with connect(sandbox) as sock:
        sock.sendall(
            b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\n"
            + f"Authorization: Bearer {API_KEY}\r\n".encode()
            + b"X-Junk: "
            + b"a" * (2 * HEADER_CAP)
            + b"\r\nContent-Type: application/json\r\nContent-Length: 38\r\n\r\n"
            + b'{"amount": "1.00", "currency": "USDT"}'
        )
        status, headers, body = read_answer(sock)
    assert_pik_error(status, headers, body, expected=431)
    assert api.get("/payment-links").json()["total"] == before


def test_a_slow_header_is_timed_out_with_408(sandbox: SandboxProcess, api: httpx.Client) -> None:
    with connect(sandbox) as sock:
        sock.sendall(b"GET /v1/payment-links HTTP/1.1\r\n")
        started = time.monotonic()
        answer = None
        # A header line every 0.1 s: each byte arrives in time, the whole head never does.
        while time.monotonic() - started < 5:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([sock], [], [], 0.1)[0]:
                answer = read_answer(sock)
                break
        assert answer is not None, "a slowloris client was never cut off"
        assert_pik_error(*answer, expected=408)
        assert closed_by_server(sock, 2)
    assert api.get("/payment-links").status_code == 200


def test_a_silent_connection_is_closed(sandbox: SandboxProcess) -> None:
    with connect(sandbox) as sock:
        assert closed_by_server(sock, REQUEST_TIMEOUT + 3)


def test_an_idle_keep_alive_connection_is_closed(sandbox: SandboxProcess) -> None:
    with connect(sandbox) as sock:
        key = f"Authorization: Bearer {API_KEY}\r\n".encode()
        sock.sendall(b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\n" + key + b"\r\n")
        status, _, _ = read_answer(sock)
        assert status == 200
        assert closed_by_server(sock, 3)


def test_connections_over_the_cap_get_503_and_are_closed_while_the_rest_are_served(
    sandbox: SandboxProcess,
) -> None:
    idle = [connect(sandbox) for _ in range(8)]
    try:
        time.sleep(0.1)
        with connect(sandbox) as surplus:
            surplus.sendall(b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\n\r\n")
            status, headers, body = read_answer(surplus)
        assert_pik_error(status, headers, body, expected=503)
        assert headers["retry-after"] == "1"
    finally:
        for sock in idle:
            sock.close()
    # Once the idle ones are gone, everyone is served again.
    deadline = time.monotonic() + 5
    while True:
        with sandbox.client() as api:
            response = api.get("/payment-links")
        if response.status_code == 200 or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    assert response.status_code == 200


# (HTTP/1.2 is not among them: RFC 9112 has a server answer any HTTP/1.x as HTTP/1.1, and it does.)
MALFORMED = {
    "content-length and chunked": (
        b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    ),
    "two content-lengths": (
        b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n"
        b"Content-Length: 3\r\n\r\n{}"
    ),
    "negative content-length": (
        b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\nContent-Length: -1\r\n\r\n"
    ),
    "NUL in a header": b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\n\r\n",
    "CR in a header": b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\n\r\n",
    "no Host": b"GET /v1/payment-links HTTP/1.1\r\n\r\n",
    "a 100 KB path": b"GET /v1/" + b"a" * 100_000 + b" HTTP/1.1\r\nHost: x\r\n\r\n",
    "lower-case method": b"get /v1/payment-links HTTP/1.1\r\nHost: x\r\n\r\n",
    "garbage": b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
    "a space in the path": b"GET /v1/payment links HTTP/1.1\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("raw", MALFORMED.values(), ids=MALFORMED.keys())
def test_malformed_http_is_answered_in_pik_shape_and_stores_nothing(
    sandbox: SandboxProcess, api: httpx.Client, raw: bytes
) -> None:
    before = api.get("/payment-links").json()["total"]
    key = f"Authorization: Bearer {API_KEY}\r\n".encode()
    request = raw.replace(b"Host: x\r\n", b"Host: x\r\n" + key)
    with connect(sandbox) as sock:
        sock.sendall(request)
        status, headers, body = read_answer(sock)
    assert 400 <= status < 500, body
    assert_pik_error(status, headers, body, expected=status)
    assert api.get("/payment-links").json()["total"] == before


@pytest.mark.skipif(shutil.which("prlimit") is None, reason="needs util-linux's prlimit")
def test_idle_sockets_beyond_the_descriptor_limit_never_lock_out_a_legitimate_client(
    start_sandbox: StartSandbox,
) -> None:
    # 300 idle sockets against a process allowed 200 descriptors (it was 1,100 against 1,024).
    command = ["prlimit", "--nofile=200:200", "--", *testing.SandboxProcess.default_command()]
    sandbox = start_sandbox("--request-timeout", "1", "--rate-limit", "off", command=command)
    assert "at most 136 connections" in sandbox.log()
    idle = [connect(sandbox) for _ in range(300)]
    try:
        deadline = time.monotonic() + 10
        statuses = []
        with sandbox.client() as api:
            while time.monotonic() < deadline:
                response = api.get("/payment-links")
                statuses.append(response.status_code)
                if response.status_code == 200:
                    break
                assert response.status_code == 503 and response.headers["retry-after"] == "1"
                time.sleep(0.2)
        assert statuses[-1] == 200, statuses
    finally:
        for sock in idle:
            sock.close()
    assert "Too many open files" not in sandbox.log()
    assert "out of system resource" not in sandbox.log()


def test_a_body_that_stalls_is_cut_off_and_stores_nothing(
    sandbox: SandboxProcess, api: httpx.Client
) -> None:
    before = api.get("/payment-links").json()["total"]
    with connect(sandbox) as sock:
        key = f"Authorization: Bearer {API_KEY}\r\n".encode()
        sock.sendall(
            b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\n"
            + key
            + b"Content-Type: application/json\r\nContent-Length: 38\r\n\r\n"
            + b'{"amount": "1.00", '
        )
        assert closed_by_server(sock, REQUEST_TIMEOUT + 3)
    assert api.get("/payment-links").json()["total"] == before


def test_many_slow_clients_at_once_do_not_starve_the_others(start_sandbox: StartSandbox) -> None:
    roomy = start_sandbox("--request-timeout", "2", "--rate-limit", "off")
    slow = [connect(roomy) for _ in range(50)]
    try:
        for sock in slow:
            sock.sendall(b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\n")
        with roomy.client() as api:
            statuses = [api.get("/payment-links").status_code for _ in range(20)]
        assert statuses == [200] * 20
        for sock in slow:  # each is cut off with a 408 in the end
            status, headers, body = read_answer(sock)
            assert_pik_error(status, headers, body, expected=408)
    finally:
        for sock in slow:
            sock.close()


# The head's cap is kept on the bytes that arrive (llhttp has none of its own), so it is exact
# however the head comes, and whatever the parser would make of it.

KEY_LINE = f"Authorization: Bearer {API_KEY}\r\n".encode()
LINK_BODY = b'{"amount": "1.00", "currency": "USDT"}'


def head_of(size: int) -> bytes:
    """A GET of the list whose request line and headers take exactly `size` bytes."""
    start = b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\n" + KEY_LINE + b"X-Pad: "
    end = b"\r\n\r\n"
    return start + b"a" * (size - len(start) - len(end)) + end


def send(sock: socket.socket, data: bytes, *, streamed: bool = False) -> None:
    """`data` at once, or a piece at a time (each in a read of its own, most likely); a server
    that closes the connection before the end stops the sending."""
    piece = 1000 if streamed else len(data)
    try:
        for start in range(0, len(data), piece):
            sock.sendall(data[start : start + piece])
            if streamed:
                time.sleep(0.01)
    except (BrokenPipeError, ConnectionResetError):
        pass


def read_until_closed(sock: socket.socket, within: float = 5.0) -> bytes:
    """Everything the server sends until it closes the connection."""
    data = b""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            chunk = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not chunk:
            break
        data += chunk
    return data


def statuses_in(data: bytes) -> list[int]:
    """The statuses of the responses in `data`, in order."""
    return [int(part[:3]) for part in data.split(b"HTTP/1.1 ")[1:]]


@pytest.mark.parametrize("streamed", [False, True], ids=["at once", "streamed"])
def test_a_head_of_exactly_the_cap_is_served_and_one_byte_more_is_431(
    sandbox: SandboxProcess, streamed: bool
) -> None:
    for size, expected in ((HEADER_CAP, 200), (HEADER_CAP + 1, 431)):
        head = head_of(size)
        assert len(head) == size
        with connect(sandbox) as sock:
            send(sock, head, streamed=streamed)
            status, headers, body = read_answer(sock)
        assert status == expected, (size, body)
        if expected == 431:
            assert_pik_error(status, headers, body, expected=431)


def test_whitespace_in_a_head_counts_toward_the_cap(sandbox: SandboxProcess) -> None:
    # The parser drops the spaces before a value, but they arrived: the head is over the cap.
    with connect(sandbox) as sock:
        sock.sendall(
            b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\n"
            + KEY_LINE
            + b"X-Pad:"
            + b" " * HEADER_CAP
            + b"a\r\n\r\n"
        )
        status, headers, body = read_answer(sock)
    assert_pik_error(status, headers, body, expected=431)


@pytest.mark.parametrize("streamed", [False, True], ids=["at once", "streamed"])
def test_a_request_target_over_the_cap_is_431(sandbox: SandboxProcess, streamed: bool) -> None:
    request = (
        b"GET /v1/payment-links?q=" + b"a" * (2 * HEADER_CAP) + b" HTTP/1.1\r\nHost: x\r\n\r\n"
    )
    with connect(sandbox) as sock:
        send(sock, request, streamed=streamed)
        status, headers, body = read_answer(sock)
    assert_pik_error(status, headers, body, expected=431)


@pytest.mark.parametrize("streamed", [False, True], ids=["at once", "streamed"])
def test_a_pipelined_head_over_the_cap_is_431_after_the_answer_before_it(
    sandbox: SandboxProcess, streamed: bool
) -> None:
    first = b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\n" + KEY_LINE + b"\r\n"
    second = head_of(2 * HEADER_CAP)
    with connect(sandbox) as sock:
        if streamed:
            sock.sendall(first + second[:100])
            send(sock, second[100:], streamed=True)
        else:
            send(sock, first + second)
        answers = read_until_closed(sock)
    assert statuses_in(answers) == [200, 431]
    error = json.loads(answers[answers.rindex(b"\r\n\r\n") + 4 :])["error"]
    assert set(error) == {"code", "message"} and f"{HEADER_CAP // 1024} KiB" in error["message"]


def test_trailers_over_the_cap_are_431_and_store_nothing(
    sandbox: SandboxProcess, api: httpx.Client
) -> None:
    before = api.get("/payment-links").json()["total"]
    with connect(sandbox) as sock:
        sock.sendall(
            b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\n"
            + KEY_LINE
            + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            + f"{len(LINK_BODY):x}\r\n".encode()
            + LINK_BODY
            + b"\r\n0\r\nX-Trailer: "
        )
        send(sock, b"t" * (2 * HEADER_CAP) + b"\r\n\r\n", streamed=True)
        status, headers, body = read_answer(sock)
    assert_pik_error(status, headers, body, expected=431)
    assert api.get("/payment-links").json()["total"] == before


# What llhttp would take but HTTP/1.1 (or h11 before it) refuses, or reads two ways.
REFUSED_FRAMING = {
    "a coding before chunked": (
        b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n"
        b"Content-Type: application/json\r\n\r\n"
        + f"{len(LINK_BODY):x}\r\n".encode()
        + LINK_BODY
        + b"\r\n0\r\n\r\n"
    ),
    "the same content-length twice": (
        b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        + f"Content-Length: {len(LINK_BODY)}\r\nContent-Length: {len(LINK_BODY)}\r\n\r\n".encode()
        + LINK_BODY
    ),
    "two Host fields": (
        b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\nHost: y\r\n"
        b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(LINK_BODY)}\r\n\r\n".encode()
        + LINK_BODY
    ),
    "an upgrade declined, with a body": (
        b"POST /v1/payment-links HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n"
        b"Content-Type: application/json\r\n"
        + f"Content-Length: {len(LINK_BODY)}\r\n\r\n".encode()
        + LINK_BODY
    ),
    "CONNECT": b"CONNECT x:443 HTTP/1.1\r\nHost: x\r\n\r\n",
    "a folded header": b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\nX-A: a\r\n b\r\n\r\n",
    "lines ended by LF alone": b"GET /v1/payment-links HTTP/1.1\nHost: x\n\n",
    "HTTP/2.0 in an HTTP/1 request line": b"GET /v1/payment-links HTTP/2.0\r\nHost: x\r\n\r\n",
}


@pytest.mark.parametrize("raw", REFUSED_FRAMING.values(), ids=REFUSED_FRAMING.keys())
def test_ambiguous_or_unsupported_framing_is_400_and_stores_nothing(
    sandbox: SandboxProcess, api: httpx.Client, raw: bytes
) -> None:
    before = api.get("/payment-links").json()["total"]
    with connect(sandbox) as sock:
        sock.sendall(raw.replace(b"Host: x\r\n", b"Host: x\r\n" + KEY_LINE, 1))
        status, headers, body = read_answer(sock)
    assert_pik_error(status, headers, body, expected=400)
    assert api.get("/payment-links").json()["total"] == before


def test_http_1_2_is_answered_as_http_1_1(sandbox: SandboxProcess) -> None:
    with connect(sandbox) as sock:
        sock.sendall(
            b"GET /v1/payment-links HTTP/1.2\r\nHost: x\r\n"
            + KEY_LINE
            + b"Connection: close\r\n\r\n"
        )
        answer = read_until_closed(sock)
    assert answer.startswith(b"HTTP/1.1 200 "), answer[:200]


def test_each_request_has_its_own_deadline_on_a_busy_connection(sandbox: SandboxProcess) -> None:
    # Requests sent in time keep one connection served well past the request timeout; a slow
    # head after them is still cut off.
    request = b"GET /v1/payment-links HTTP/1.1\r\nHost: x\r\n" + KEY_LINE + b"\r\n"
    with connect(sandbox) as sock:
        started = time.monotonic()
        while time.monotonic() - started < 4 * REQUEST_TIMEOUT:
            sock.sendall(request)
            assert read_answer(sock)[0] == 200
            time.sleep(REQUEST_TIMEOUT / 5)
        sock.sendall(b"GET /v1/payment-links HTTP/1.1\r\n")
        answer = None
        while time.monotonic() - started < 10:
            try:
                sock.sendall(b"X-Slow: 1\r\n")
            except (BrokenPipeError, ConnectionResetError):
                break
            if select.select([sock], [], [], 0.1)[0]:
                answer = read_answer(sock)
                break
        assert answer is not None, "a slow head after served requests was never cut off"
        assert_pik_error(*answer, expected=408)
