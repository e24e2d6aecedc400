"""`make docs` writes a self-contained HTML reference of the API: every operation is on the page,
nothing is loaded from elsewhere and nothing is reported anywhere, so it reads offline."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.portability.tooling import REPO_ROOT, SPEC_PATH, run_ok, system_tool

EXTERNAL_LOAD = re.compile(r"<script[^>]*\ssrc=|<link[^>]*\shref=", re.IGNORECASE)


def test_docs_are_self_contained_and_cover_every_operation(tmp_path: Path) -> None:
    make = system_tool("make", "install GNU make")
    page = tmp_path / "index.html"

    run_ok([make, "--no-print-directory", "docs", f"DOCS={page}"], cwd=REPO_ROOT)

    html = page.read_text(encoding="utf-8")
    assert EXTERNAL_LOAD.search(html) is None
    # Redoc's page reports usage to Redocly unless built with telemetry off (REDOCLY_TELEMETRY).
    assert '"disableTelemetry":true' in html
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    summaries = [
        operation["summary"]
        for item in document["paths"].values()
        for operation in item.values()
        if isinstance(operation, dict) and "summary" in operation
    ]
    assert summaries
    for summary in summaries:
        assert summary in html, f"{summary!r} is not on the page"
