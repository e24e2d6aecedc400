"""The ceiling: a bare Starlette app answering the sandbox's own response bytes from memory.

No validation, no authentication, no database: what a Python ASGI server on this machine can do
at best for the same routes and the same bytes on the wire. Run as a module, it serves the bodies
in a JSON file the serving benchmark writes (`link`, `page` and `created`), with uvicorn on
uvloop and httptools.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


def build_app(bodies: dict[str, str]) -> Starlette:
    """The three routes the benchmark loads: get by id, a list page, create."""
    link, page, created = (bodies[name].encode() for name in ("link", "page", "created"))

    async def get_link(_request: Request) -> Response:
        return Response(link, media_type="application/json")

    async def links(request: Request) -> Response:
        if request.method == "POST":
            await request.body()  # Read it, as any server must, and ignore it.
            return Response(created, status_code=201, media_type="application/json")
        return Response(page, media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/payment-links", links, methods=["GET", "POST"]),
            Route("/v1/payment-links/{id}", get_link, methods=["GET"]),
        ]
    )


def main() -> None:
    """Serve the bodies in `--bodies` on 127.0.0.1:`--port`."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    args = parser.parse_args()
    # As the sandbox serves: uvicorn on uvloop and httptools, no access log, no Server header.
    uvicorn.run(
        build_app(json.loads(args.bodies.read_text())),
        host="127.0.0.1",
        port=args.port,
        loop="uvloop",
        http="httptools",
        access_log=False,
        log_level="warning",
        server_header=False,
    )


if __name__ == "__main__":
    main()
