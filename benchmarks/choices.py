"""What each of the sandbox's serving choices buys, measured against the alternative it replaced,
in the same run.

- The HTTP protocol: uvicorn's httptools protocol under the sandbox's limits (`server.py`)
  against uvicorn's h11 protocol, the earlier basis, serving the same bare app (wrk).
- Schema checks: jsonschema-rs's compiled check against the `jsonschema` library's, on the
  create body and on a page of 100 links (what `--validate-responses` checks).
- JSON: orjson against the standard library, serialising a page of 100 links.
- The store: a get by id answered on the event loop's own connection against the same call
  handed to the store's threads (which the sandbox does only when the file is locked).
- A list page: from each link's stored tail against records turned into dictionaries.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Final, cast

import orjson
from jsonschema import Draft4Validator

from benchmarks import plan
from benchmarks.load import Load, LoadSettings, best_of_rounds, write_script
from benchmarks.processes import HOST, ROOT, free_port
from benchmarks.report import Table, per_second, ratio
from pik_sandbox.domain import account_for_key
from pik_sandbox.operations import resolve_refs
from pik_sandbox.settings import SandboxSettings
from pik_sandbox.spec import load_spec
from pik_sandbox.state import Sandbox
from pik_sandbox.store import PaymentLinkRecord, PaymentLinkStore
from pik_sandbox.validation import SchemaCheck

KEY: Final = "sk_bench_choices"
LINKS: Final = 300
CREATE_BODY: Final = {"amount": "75.00", "currency": "USDT", "description": "Order #1234"}

# A bare app behind either protocol, as the ceiling benchmark's, on the sandbox's own server.
_PROTOCOL_SERVER: Final = """
import sys, uvicorn
from benchmarks.ceiling_app import build_app
from pik_sandbox.server import ServerLimits, uvicorn_config
app = build_app({"link": '{"id": "pl_x"}', "page": "[]", "created": "{}"})
if sys.argv[2] == "h11":
    config = uvicorn.Config(app, http="h11", loop="uvloop", log_level="warning", access_log=False)
else:
    config = uvicorn_config(app, ServerLimits(), log_level="warning")
    config.loop = "uvloop"
config.host, config.port = "127.0.0.1", int(sys.argv[1])
uvicorn.Server(config).run()
"""


def _best_microseconds(run: Callable[[], object], repeat: int, number: int) -> float:
    """The best of `repeat` batches of `number` calls (at least one), per call, in
    microseconds."""
    number = max(1, number)
    batches = []
    for _ in range(repeat):
        started = time.perf_counter()
        for _ in range(number):
            run()
        batches.append((time.perf_counter() - started) / number)
    return min(batches) * 1e6


def _best_async_microseconds(
    run: Callable[[], Awaitable[object]], repeat: int, number: int
) -> float:
    number = max(1, number)

    async def measure() -> float:
        batches = []
        for _ in range(repeat):
            started = time.perf_counter()
            for _ in range(number):
                await run()
            batches.append((time.perf_counter() - started) / number)
        return min(batches) * 1e6

    return asyncio.run(measure())


def _protocols(load: LoadSettings, workdir: Path) -> dict[str, float]:
    """requests/s of the bare app behind each protocol."""
    servers: dict[str, tuple[subprocess.Popen[bytes], str]] = {}
    try:
        for name in ("httptools, the sandbox's limits", "h11"):
            port = free_port()
            process = subprocess.Popen(
                [sys.executable, "-c", _PROTOCOL_SERVER, str(port), name.split(",")[0]],
                cwd=ROOT,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            servers[name] = (process, f"http://{HOST}:{port}")
        script = write_script(
            workdir / "protocol.lua", paths=["/v1/payment-links/pl_x"], headers={}
        )
        for _process, url in servers.values():
            _wait_for(url + "/v1/payment-links/pl_x")
        loads = [Load(name, "get", url, script) for name, (_p, url) in servers.items()]
        figures = best_of_rounds(loads, load)
        return {name: figures[name, "get"].requests_per_s for name in servers}
    finally:
        for process, _url in servers.values():
            process.terminate()
            process.wait()


def _wait_for(url: str) -> None:
    import urllib.request

    deadline = time.monotonic() + 30
    while True:
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def _store_figures(
    workdir: Path, repeat: int, number: int
) -> tuple[dict[str, float], dict[str, Any]]:
    """Microseconds of the store's and the page's alternatives, in-process; and the page."""
    settings = SandboxSettings(db_path=workdir / "choices.sqlite3", api_keys=(KEY,))
    store = PaymentLinkStore(settings.db_path)
    sandbox = Sandbox(settings=settings, store=store)
    account = account_for_key(KEY)
    figures: dict[str, float] = {}
    try:

        async def seed() -> str:
            link = None
            for _ in range(LINKS):
                link = await store.create(
                    account=account, amount="75.00", currency="USDT", description="Order #1234"
                )
            assert link is not None
            return link.id

        link_id = asyncio.run(seed())
        figures["get, on the loop's connection"] = _best_async_microseconds(
            lambda: store.get(link_id, account=account), repeat, number
        )

        async def through_threads() -> PaymentLinkRecord | None:
            # The path a call takes when the file is locked: the store's reader threads.
            job = store._job(store._finder(link_id, account))
            store._readers.submit(job)
            return cast(PaymentLinkRecord | None, await asyncio.wrap_future(job.future))

        figures["get, handed to the store's threads"] = _best_async_microseconds(
            through_threads, repeat, number
        )

        async def served_page() -> bytes:
            page = await store.list_served(account=account, status=None, limit=100, offset=0)
            return orjson.dumps({"data": sandbox.served_links(page.links), "total": page.total})

        async def records_page() -> bytes:
            page = await store.list_links(account=account, status=None, limit=100, offset=0)
            data = [sandbox.link_json(link) for link in page.links]
            return orjson.dumps({"data": data, "total": page.total})

        figures["page of 100, from stored tails"] = _best_async_microseconds(
            served_page, repeat, number // 4
        )
        figures["page of 100, records to dictionaries"] = _best_async_microseconds(
            records_page, repeat, number // 4
        )
        page: dict[str, Any] = json.loads(asyncio.run(records_page()))
    finally:
        store.close()
    return figures, page


def _codec_figures(page: dict[str, Any], repeat: int, number: int) -> dict[str, float]:
    """Microseconds of the schema checks and serialisers, each against its alternative."""
    spec = load_spec()
    schemas = resolve_refs(spec["components"]["schemas"], spec)
    body_schema = schemas["CreatePaymentLinkRequest"]
    page_schema = schemas["PaymentLinkList"]
    page_check = {**page, "limit": 100, "offset": 0}
    fast_body = SchemaCheck(body_schema)
    fast_page = SchemaCheck(page_schema, own_formats=True)  # as the sandbox checks answers
    slow_body = Draft4Validator(body_schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    slow_page = Draft4Validator(page_schema, format_checker=Draft4Validator.FORMAT_CHECKER)
    assert fast_body.is_valid(CREATE_BODY) and fast_page.is_valid(page_check)
    assert slow_body.is_valid(CREATE_BODY) and slow_page.is_valid(page_check)
    return {
        "create body, jsonschema-rs": _best_microseconds(
            lambda: fast_body.is_valid(CREATE_BODY), repeat, number
        ),
        "create body, jsonschema": _best_microseconds(
            lambda: slow_body.is_valid(CREATE_BODY), repeat, number
        ),
        "page of 100, jsonschema-rs": _best_microseconds(
            lambda: fast_page.is_valid(page_check), repeat, number // 10
        ),
        "page of 100, jsonschema": _best_microseconds(
            lambda: slow_page.is_valid(page_check), repeat, number // 100
        ),
        "page of 100, orjson": _best_microseconds(lambda: orjson.dumps(page), repeat, number),
        "page of 100, json": _best_microseconds(
            lambda: json.dumps(page).encode(), repeat, number // 10
        ),
    }


def measure(load: LoadSettings, workdir: Path, *, smoke: bool) -> list[tuple[str, str, str, str]]:
    """(choice, what was chosen and its figure, the alternative and its figure, gain) rows."""
    repeat, number = (1, 20) if smoke else (5, 2000)
    protocols = _protocols(load, workdir)
    store, page = _store_figures(workdir, repeat, number)
    codecs = _codec_figures(page, repeat, number)

    def micro(figures: dict[str, float], chosen: str, other: str) -> tuple[str, str, str]:
        return (
            f"{chosen}: {figures[chosen]:,.1f} µs",
            f"{other}: {figures[other]:,.1f} µs",
            ratio(figures[other], figures[chosen]),
        )

    chosen_protocol, other_protocol = list(protocols)
    return [
        (
            "HTTP protocol (bare app, wrk, requests/s)",
            f"{chosen_protocol}: {per_second(protocols[chosen_protocol])}",
            f"{other_protocol}: {per_second(protocols[other_protocol])}",
            ratio(protocols[chosen_protocol], protocols[other_protocol]),
        ),
        (
            "request schema check",
            *micro(codecs, "create body, jsonschema-rs", "create body, jsonschema"),
        ),
        (
            "response schema check (--validate-responses)",
            *micro(codecs, "page of 100, jsonschema-rs", "page of 100, jsonschema"),
        ),
        ("JSON answer", *micro(codecs, "page of 100, orjson", "page of 100, json")),
        (
            "store call",
            *micro(store, "get, on the loop's connection", "get, handed to the store's threads"),
        ),
        (
            "list page",
            *micro(store, "page of 100, from stored tails", "page of 100, records to dictionaries"),
        ),
    ]


def table(rows: Sequence[tuple[str, str, str, str]]) -> Table:
    """The choices, each against its alternative."""
    result = Table(
        "What each serving choice buys (same run)",
        ["choice", "chosen", "alternative", "gain"],
        numeric_from=3,
    )
    for row in rows:
        result.add(*row)
    result.notes += [
        "In-process figures: best of 5 batches per call, one call at a time (so the store's "
        "threads show their hand-over latency, not their throughput under load), on this machine "
        "in this run; the "
        "protocol figures: wrk as in the serving table, each protocol serving the same bare app.",
        "Not measurable here any more: Connexion, which the sandbox no longer depends on. Its "
        "last figures on this machine were 1,401 (get), 561 (list page of 100) and 872 "
        "(create) requests/s for the whole sandbox, and 3,082 for a Connexion app with a "
        "static handler.",
    ]
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Run the choices benchmark alone and print its table."""
    run = plan.parse(__doc__, argv)
    with tempfile.TemporaryDirectory(prefix="pik-bench-choices-") as workdir:
        rows = measure(run.load, Path(workdir), smoke=run.smoke)
    print(table(rows).markdown())


if __name__ == "__main__":
    main()
