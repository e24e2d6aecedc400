"""Every benchmark still runs: `python -m benchmarks.run_all --smoke` goes through each one's code
with tiny loads and small seeds. Its figures are printed, never judged."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
# What the smoke run loads and compares with; `make test` installs both.
NEEDED = {
    Path("/usr/bin/wrk"): "apt-get install -y wrk",
    ROOT / "node_modules" / ".bin" / "prism": "make node-modules",
}
SMOKE_TIMEOUT_SECONDS = 150


@pytest.mark.timeout(SMOKE_TIMEOUT_SECONDS + 30)
def test_every_benchmark_runs_in_smoke_mode() -> None:
    for tool, install in NEEDED.items():
        if not tool.exists():
            pytest.fail(f"the benchmarks need {tool}: `{install}` installs it", pytrace=False)
    completed = subprocess.run(
        [sys.executable, "-m", "benchmarks.run_all", "--smoke"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=SMOKE_TIMEOUT_SECONDS,
    )
    assert completed.returncode == 0, completed.stdout[-2000:] + completed.stderr[-4000:]
    for section in (
        "Client overhead",
        "Sandbox throughput",
        "What each serving choice",
        "Startup",
        "Scale",
        "Property-test",
    ):
        assert f"### {section}" in completed.stdout
