"""The sandbox's own work without Connexion: the same key check, store and JSON behind plain
Starlette routes, with the store called in a worker thread as Connexion calls handlers.

The gap between this and the sandbox is what Connexion's request pipeline (routing, security,
parameter parsing and request validation against openapi.yaml) costs per request. Requests
here are not validated, so this is a measuring stick, not an alternative.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.processes import serve_on_loopback
from pik_sandbox.domain import account_for_key
from pik_sandbox.settings import SandboxSettings
from pik_sandbox.state import Sandbox
from pik_sandbox.store import PaymentLinkStore

JSON_MEDIA_TYPE = "application/json"
BEARER = "Bearer "


def build_app(db_path: Path, api_key: str, public_url: str) -> Starlette:
    """Get by id and the list, served from the store at `db_path` for the account of `api_key`."""
    settings = SandboxSettings(
        db_path=db_path, api_keys=(api_key,), public_url=public_url, rate_limit=False
    )
    sandbox = Sandbox(settings=settings, store=PaymentLinkStore(db_path))

    def account_of(request: Request) -> str | None:
        header = request.headers.get("authorization", "")
        if not header.startswith(BEARER):
            return None
        account = account_for_key(header[len(BEARER) :])
        return account if account in sandbox.accounts else None

    def answer(status: int, payload: object) -> Response:
        return Response(json.dumps(payload), status_code=status, media_type=JSON_MEDIA_TYPE)

    async def get_link(request: Request) -> Response:
        account = account_of(request)
        if account is None:
            return answer(401, {"error": {"code": "unauthorized", "message": "no key"}})
        link_id = request.path_params["id"]
        link = await run_in_threadpool(sandbox.store.get, link_id, account=account)
        if link is None:
            return answer(404, {"error": {"code": "not_found", "message": "no link"}})
        return answer(200, sandbox.link_json(link))

    async def list_links(request: Request) -> Response:
        account = account_of(request)
        if account is None:
            return answer(401, {"error": {"code": "unauthorized", "message": "no key"}})
        limit = int(request.query_params.get("limit", "20"))
        offset = int(request.query_params.get("offset", "0"))
        page = await run_in_threadpool(
            sandbox.store.list_links,
            account=account,
            status=request.query_params.get("status"),
            limit=limit,
            offset=offset,
        )
        return answer(
            200,
            {
                "data": [sandbox.link_json(link) for link in page.links],
                "total": page.total,
                "limit": limit,
                "offset": offset,
            },
        )

    return Starlette(
        routes=[
            Route("/v1/payment-links", list_links, methods=["GET"]),
            Route("/v1/payment-links/{id}", get_link, methods=["GET"]),
        ]
    )


def main() -> None:
    """Serve on 127.0.0.1:`--port` with uvicorn on uvloop and httptools."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--api-key", required=True)
    args = parser.parse_args()
    serve_on_loopback(build_app(args.db, args.api_key, f"http://127.0.0.1:{args.port}"), args.port)


if __name__ == "__main__":
    main()
