"""The ceiling: a bare Starlette app answering the sandbox's own response bytes from memory.

No validation, no authentication, no database: what a Python ASGI server on this machine can do
at best for the same routes and the same bytes on the wire. Run as a module, it serves the bytes
in a JSON file written by the serving benchmark, with uvicorn on uvloop and httptools.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from benchmarks.processes import serve_on_loopback

JSON_MEDIA_TYPE = "application/json"


@dataclass(frozen=True)
class CannedBodies:
    """Response bodies, byte for byte as the sandbox sent them."""

    link: bytes
    page: bytes
    created: bytes

    def save(self, path: Path) -> None:
        """Write the bodies to `path` (JSON text: the bodies are UTF-8 JSON themselves)."""
        path.write_text(
            json.dumps({name: getattr(self, name).decode() for name in ("link", "page", "created")})
        )

    @classmethod
    def load(cls, path: Path) -> CannedBodies:
        """Read bodies written by `save`."""
        raw = json.loads(path.read_text())
        return cls(
            link=raw["link"].encode(), page=raw["page"].encode(), created=raw["created"].encode()
        )


def build_app(bodies: CannedBodies) -> Starlette:
    """The three routes the benchmark loads: get by id, a list page, create."""

    async def get_link(_request: Request) -> Response:
        return Response(bodies.link, media_type=JSON_MEDIA_TYPE)

    async def links(request: Request) -> Response:
        if request.method == "POST":
            await request.body()  # Read it, as any server must, and ignore it.
            return Response(bodies.created, status_code=201, media_type=JSON_MEDIA_TYPE)
        return Response(bodies.page, media_type=JSON_MEDIA_TYPE)

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
    serve_on_loopback(build_app(CannedBodies.load(args.bodies)), args.port)


if __name__ == "__main__":
    main()
