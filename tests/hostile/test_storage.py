"""A database another process locks, or that cannot be written: no one else waits, a refused write
is a documented 503 and stores nothing, and an unwritable database stops the command at start.

Real SQLite files, a real `pik-sandbox` process, and (where the machine allows mounting) real
read-only and full file systems.
"""

from __future__ import annotations

import contextlib
import sqlite3
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from pik_sandbox.app import close_app
from pik_sandbox.cli import main
from pik_sandbox.spec import load_spec
from tests.conftest import OTHER_API_KEY
from tests.sandbox.support import ORDER, assert_error, create

if TYPE_CHECKING:
    from tests.conftest import SandboxProcess

StartSandbox = Callable[..., "SandboxProcess"]
LOCK_TIMEOUT = 1.0


@contextlib.contextmanager
def write_lock_held(db_path: Path) -> Iterator[sqlite3.Connection]:
    """SQLite's write lock on `db_path`, held by this (test) process until the block ends."""
    holder = sqlite3.connect(db_path, isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield holder
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def total(api: httpx.Client) -> int:
    """How many links the account has."""
    count: int = api.get("/payment-links", params={"limit": 1}).json()["total"]
    return count


def test_a_locked_database_delays_no_one_and_refuses_writes_with_a_documented_503(
    start_sandbox: StartSandbox,
) -> None:
    sandbox = start_sandbox("--db-lock-timeout", str(LOCK_TIMEOUT), "--rate-limit", "off")
    with sandbox.client() as api, sandbox.client(OTHER_API_KEY) as other:
        theirs = create(other)
        before = total(api)
        creates: list[tuple[httpx.Response, float]] = []

        def create_while_locked() -> None:
            started = time.monotonic()
            with sandbox.client() as own:
                response = own.post("/payment-links", json=ORDER)
            creates.append((response, time.monotonic() - started))

        with write_lock_held(sandbox.db_path):
            writers = [threading.Thread(target=create_while_locked) for _ in range(4)]
            for writer in writers:
                writer.start()
            time.sleep(0.1)  # the creates are waiting for the lock now
            # Another account's read is answered at once: nobody waits for the blocked writes.
            assert other.get(f"/payment-links/{theirs['id']}").json() == theirs
            assert any(writer.is_alive() for writer in writers), "reads went before the writes"
            for writer in writers:
                writer.join(timeout=10)
        # Each write was refused within its own bound, however many queued behind it (the
        # bound is the behaviour here: before, writes waited 10 s each, one after another).
        assert len(creates) == 4
        for response, waited in creates:
            assert_error(response, 503, "service_unavailable", "locked", "nothing was changed")
            assert response.headers["retry-after"] == "1"
            assert waited < LOCK_TIMEOUT + 3
        assert total(api) == before, "a refused create stored nothing"
        assert api.post("/payment-links", json=ORDER).status_code == 201


def test_the_503_is_the_documents_example_word_for_word(start_sandbox: StartSandbox) -> None:
    example = load_spec()["components"]["responses"]["ServiceUnavailable"]["content"][
        "application/json"
    ]["examples"]["databaseLocked"]["value"]
    sandbox = start_sandbox("--db-lock-timeout", "0.2")
    with sandbox.client() as api, write_lock_held(sandbox.db_path):
        answer = api.post("/payment-links", json=ORDER)
    assert answer.status_code == 503
    assert answer.json() == example


def test_paying_on_a_locked_database_shows_a_page_not_json(start_sandbox: StartSandbox) -> None:
    sandbox = start_sandbox("--db-lock-timeout", "0.2")
    with sandbox.client() as api, sandbox.client(None, base_path="") as browser:
        link = create(api)
        page = httpx.URL(link["url"]).path
        with write_lock_held(sandbox.db_path):
            refused = browser.post(page)
            shown = browser.get(page)
        assert refused.status_code == 503
        assert refused.headers["content-type"].startswith("text/html")
        assert "Payment not taken" in refused.text and "Nothing was paid" in refused.text
        assert refused.headers["retry-after"] == "1"
        assert shown.status_code == 200, "reading the page needs no write lock"
        assert api.get(f"/payment-links/{link['id']}").json()["status"] == "active"


# --- Storage that cannot be written ------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Callable[[int], Path]]:
    """Mount real tmpfs file systems of a given size (in KiB); unmounted afterwards. Needs the
    right to mount (root in a container that allows it)."""
    mounted: list[Path] = []

    def mount(size_kib: int) -> Path:
        point = tmp_path / f"disk{len(mounted)}"
        point.mkdir()
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(point)],
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            pytest.skip(f"cannot mount a small file system here: {result.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True, check=False)


def fill(folder: Path) -> Path:
    """Write a file until the disk holding `folder` is full."""
    filler = folder / "filler"
    chunk = b"\0" * 65536
    # The suppress is outermost: closing the file flushes what is left, which fails too.
    with contextlib.suppress(OSError), filler.open("wb") as out:
        while True:
            out.write(chunk)
            out.flush()
    with contextlib.suppress(OSError), filler.open("ab") as out:  # the last few bytes
        while True:
            out.write(b"\0")
            out.flush()
    return filler


def refusal(capsys: pytest.CaptureFixture[str], db: Path) -> str:
    assert main(["--host", "127.0.0.1", "--port", "0", "--db", str(db)]) == 2
    return capsys.readouterr().err


def test_a_read_only_database_stops_the_command_with_exit_2(
    small_disk: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    disk = small_disk(4096)
    db = disk / "links.sqlite3"
    with sqlite3.connect(db) as made:  # a real database, then the disk turns read-only
        made.execute("PRAGMA journal_mode = WAL")
        made.execute("CREATE TABLE t (x)")
    made.close()
    subprocess.run(["mount", "-o", "remount,ro", str(disk)], check=True)
    message = refusal(capsys, db)
    assert str(db) in message and "read-only" in message
    assert "Traceback" not in message


def test_a_full_disk_stops_the_command_with_exit_2(
    small_disk: Callable[[int], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    disk = small_disk(2048)
    fill(disk)
    message = refusal(capsys, disk / "links.sqlite3")
    assert "full" in message and "Traceback" not in message


def test_a_disk_that_fills_while_serving_is_a_clear_503_and_stores_nothing(
    small_disk: Callable[[int], Path], start_sandbox: StartSandbox
) -> None:
    disk = small_disk(4096)
    sandbox = start_sandbox("--rate-limit", "off", db_path=disk / "links.sqlite3")
    with sandbox.client() as api, sandbox.client(None, base_path="") as browser:
        kept = [create(api) for _ in range(3)]
        filler = fill(disk)
        answers = [api.post("/payment-links", json=ORDER) for _ in range(20)]
        refused = [answer for answer in answers if answer.status_code != 201]
        stored = [answer.json() for answer in answers if answer.status_code == 201]
        assert refused, "a full disk refused nothing"
        for answer in refused:
            assert_error(answer, 503, "service_unavailable", "full", "nothing was changed")
        # Reads go on; every acknowledged link is there, and nothing else.
        assert api.get(f"/payment-links/{kept[0]['id']}").json() == kept[0]
        assert total(api) == len(kept) + len(stored)
        # The customer sees a page, not JSON.
        paying = browser.post(httpx.URL(kept[1]["url"]).path)
        if paying.status_code != 303:  # the payment may fit into space the WAL already has
            assert paying.status_code == 503
            assert paying.headers["content-type"].startswith("text/html")
            assert "Payment not taken" in paying.text
        # Space again: the sandbox writes again, without a restart.
        filler.unlink()
        assert api.post("/payment-links", json=ORDER).status_code == 201
    assert "Traceback" not in sandbox.log()


def test_a_database_that_disappears_is_a_clear_503_never_a_500(
    tmp_path: Path, make_sandbox_app: Callable[..., Any], client_for: Callable[..., httpx.Client]
) -> None:
    db = tmp_path / "gone.sqlite3"
    app = make_sandbox_app(db_path=db, db_lock_timeout_seconds=0.5)
    api = client_for(app)
    create(api)
    close_app(app)  # the store's connections close; its next call opens the file again
    for suffix in ("", "-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    db.mkdir()  # ...and finds a folder there
    for answer in (api.post("/payment-links", json=ORDER), api.get("/payment-links")):
        assert_error(answer, 503, "service_unavailable", "cannot use its database")
