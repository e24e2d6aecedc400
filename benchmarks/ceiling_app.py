"""The ceiling: a bare Starlette app answering the sandbox's own response bytes from memory.

No validation, no authentication, no database: what a Python ASGI server on this machine can do
at best for the same routes and the same bytes on the wire. Run as a module, it serves the bodies
in a JSON file the serving benchmark writes (`link`, `page` and `created`), with uvicorn on
uvloop and httptools, in as many worker processes as the sandbox it is the ceiling of.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

BODIES_ENV = "PIK_BENCH_BODIES"


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


def app_from_environment() -> Starlette:
    """The app on the bodies file that $PIK_BENCH_BODIES names, for each of uvicorn's workers."""
    return build_app(json.loads(Path(os.environ[BODIES_ENV]).read_text()))


def main() -> None:
    """Serve the bodies in `--bodies` on 127.0.0.1:`--port` with `--workers` processes."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--bodies", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()
    os.environ[BODIES_ENV] = str(args.bodies.resolve())
    # As the sandbox serves: uvicorn on uvloop and httptools, no access log, no Server header.
    uvicorn.run(
        "benchmarks.ceiling_app:app_from_environment",
        factory=True,
        workers=args.workers,
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
