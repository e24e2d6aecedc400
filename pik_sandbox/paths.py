"""Where a sandbox serves what on its site."""

from __future__ import annotations

from typing import Final

API_BASE_PATH: Final = "/v1"
# The interactive docs (Swagger UI, under the API), and the short path that redirects there.
DOCS_PATH: Final = "/docs"
API_DOCS_PATH: Final = API_BASE_PATH + DOCS_PATH


def is_slash_variant(path: str) -> bool:
    """Whether `path` is one Starlette's routers would redirect to the same path with a trailing
    slash added or removed: any path ending in a slash but the root and the docs' own, and the
    API's base path. PIK answers these with a 404, as any other path it does not have."""
    if path == API_BASE_PATH:
        return True
    if path == "/" or not path.endswith("/"):
        return False
    return path != DOCS_PATH + "/" and not path.startswith(API_DOCS_PATH + "/")
