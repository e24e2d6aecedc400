"""Listing: newest first, filtered by status, paged with limit and offset, total counted."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any

import httpx
import pytest

from pik_sandbox.testing import SandboxClock
from tests.sandbox.support import assert_error, create, simulate


def test_newest_first_with_a_stable_order_within_one_second(api: httpx.Client) -> None:
    # Created faster than the one-second precision of created_at: only the tie-break orders them.
    created = [create(api, description=f"link {i}")["id"] for i in range(30)]
    listed = api.get("/payment-links", params={"limit": 100}).json()["data"]
    assert [link["id"] for link in listed] == created[::-1]
    again = api.get("/payment-links", params={"limit": 100}).json()["data"]
    assert listed == again


def test_defaults_are_limit_20_offset_0(api: httpx.Client) -> None:
    for _ in range(25):
        create(api)
    page = api.get("/payment-links").json()
    assert (page["limit"], page["offset"], page["total"], len(page["data"])) == (20, 0, 25, 20)


def test_pages_cover_every_link_once(api: httpx.Client) -> None:
    created = [create(api)["id"] for _ in range(23)]
    seen: list[str] = []
    offset = 0
    while True:
        page = api.get("/payment-links", params={"limit": 7, "offset": offset}).json()
        assert page["total"] == 23
        assert page["limit"] == 7 and page["offset"] == offset
        seen += [link["id"] for link in page["data"]]
        offset += page["limit"]
        if offset >= page["total"]:
            break
    assert seen == created[::-1]


def test_an_offset_past_the_end_gives_an_empty_page_and_the_total(api: httpx.Client) -> None:
    for _ in range(3):
        create(api)
    page = api.get("/payment-links", params={"offset": 10, "limit": 5}).json()
    assert page == {"data": [], "total": 3, "limit": 5, "offset": 10}
    largest = api.get("/payment-links", params={"offset": 2**31 - 1}).json()
    assert largest["data"] == [] and largest["total"] == 3


def test_the_status_filter_and_its_total(api: httpx.Client) -> None:
    ids = [create(api)["id"] for _ in range(10)]
    for link_id in ids[:3]:
        simulate(api, link_id, "paid")
    simulate(api, ids[3], "expired")
    for link_id in ids[4:6]:
        simulate(api, link_id, "deactivated")
    expected = {"paid": ids[:3], "expired": [ids[3]], "deactivated": ids[4:6], "active": ids[6:]}
    for status, members in expected.items():
        page = api.get("/payment-links", params={"status": status, "limit": 2}).json()
        assert page["total"] == len(members)
        assert [link["id"] for link in page["data"]] == members[::-1][:2]
        assert all(link["status"] == status for link in page["data"])
    assert api.get("/payment-links").json()["total"] == 10


def test_an_empty_account_lists_nothing(api: httpx.Client) -> None:
    assert api.get("/payment-links").json() == {"data": [], "total": 0, "limit": 20, "offset": 0}


TTL = 3600.0


@pytest.fixture
def clock() -> SandboxClock:
    """The sandbox's time, moved by the test."""
    return SandboxClock(frozen=True)


@pytest.fixture
def ttl_api(
    make_sandbox_app: Callable[..., Any], client_for: Any, clock: SandboxClock
) -> httpx.Client:
    """A sandbox whose links expire TTL seconds after creation."""
    client: httpx.Client = client_for(make_sandbox_app(link_ttl_seconds=TTL, clock=clock))
    return client


def test_links_expire_after_the_ttl_in_get_list_and_filter(
    ttl_api: httpx.Client, clock: SandboxClock
) -> None:
    old = create(ttl_api)
    paid = create(ttl_api)
    simulate(ttl_api, paid["id"], "paid")
    clock.advance(TTL - 1)
    assert ttl_api.get(f"/payment-links/{old['id']}").json()["status"] == "active"
    assert ttl_api.get("/payment-links", params={"status": "expired"}).json()["total"] == 0
    clock.advance(1)
    fresh = create(ttl_api)

    assert ttl_api.get(f"/payment-links/{old['id']}").json()["status"] == "expired"
    assert ttl_api.get(f"/payment-links/{paid['id']}").json()["status"] == "paid"
    assert ttl_api.get(f"/payment-links/{fresh['id']}").json()["status"] == "active"
    statuses = {link["id"]: link["status"] for link in ttl_api.get("/payment-links").json()["data"]}
    assert statuses == {old["id"]: "expired", paid["id"]: "paid", fresh["id"]: "active"}
    expired = ttl_api.get("/payment-links", params={"status": "expired"}).json()
    assert [link["id"] for link in expired["data"]] == [old["id"]] and expired["total"] == 1
    active = ttl_api.get("/payment-links", params={"status": "active"}).json()
    assert [link["id"] for link in active["data"]] == [fresh["id"]] and active["total"] == 1


def test_an_expired_link_cannot_be_simulated(ttl_api: httpx.Client, clock: SandboxClock) -> None:
    link = create(ttl_api)
    clock.advance(TTL)
    assert_error(simulate(ttl_api, link["id"], "paid"), 422, "unprocessable_entity", "expired")
    assert ttl_api.get(f"/payment-links/{link['id']}").json()["status"] == "expired"


def test_without_a_ttl_links_stay_active(
    make_sandbox_app: Callable[..., Any], client_for: Any, clock: SandboxClock
) -> None:
    api: httpx.Client = client_for(make_sandbox_app(clock=clock))
    link = create(api)
    clock.advance(10 * 365 * 24 * 3600)
    assert api.get(f"/payment-links/{link['id']}").json()["status"] == "active"


def test_totals_are_right_on_a_database_from_before_counts_were_kept(
    make_sandbox_app: Callable[..., Any], client_for: Any, tmp_path: Path
) -> None:
    db_path = tmp_path / "older.sqlite3"
    api = client_for(make_sandbox_app(db_path=db_path))
    ids = [create(api)["id"] for _ in range(3)]
    simulate(api, ids[0], "paid")
    # What a file written by an earlier version of the sandbox looks like.
    with closing(sqlite3.connect(db_path)) as older:
        older.executescript("DROP TABLE link_counts; PRAGMA user_version = 0;")
    reopened = client_for(make_sandbox_app(db_path=db_path))
    assert reopened.get("/payment-links").json()["total"] == 3
    assert reopened.get("/payment-links", params={"status": "active"}).json()["total"] == 2
    simulate(reopened, ids[1], "deactivated")
    assert reopened.get("/payment-links", params={"status": "active"}).json()["total"] == 1
