"""Startup: from launching a server to its first answer, the sandbox against Prism.

Each server is launched as a user launches it (`pik-sandbox` on a fresh database; `prism mock`
on openapi.yaml) and polled every few milliseconds until it answers an authenticated list; the
time from launch to that answer is the figure. Launches take turns, and each figure is the
median of its launches.
"""

from __future__ import annotations

import statistics
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Sequence
from pathlib import Path
from typing import Final

from benchmarks import plan
from benchmarks.processes import HOST, PRISM, ROOT, free_port
from benchmarks.report import Table, ratio
from pik_sandbox.testing import SandboxProcess

POLL_S: Final = 0.005
TIMEOUT_S: Final = 60.0
KEY: Final = "sk_bench_startup"
SANDBOX: Final = "sandbox (`pik-sandbox`)"
PRISM_NAME: Final = "Prism mock server"


def _answers(url: str) -> bool:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {KEY}"})
    try:
        with urllib.request.urlopen(request, timeout=1):
            return True
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False


def time_to_first_answer(command: Sequence[str], url: str, log: Path) -> float:
    """Seconds from launching `command` until `url` answers; the process is then stopped."""
    with log.open("wb") as output:
        started = time.perf_counter()
        process = subprocess.Popen(
            command, cwd=ROOT, stdout=output, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
        )
        try:
            while not _answers(url):
                if process.poll() is not None or time.perf_counter() - started > TIMEOUT_S:
                    raise RuntimeError(f"{command[0]} did not start: see {log}")
                time.sleep(POLL_S)
            return time.perf_counter() - started
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _sandbox_launch(workdir: Path, index: int) -> tuple[list[str], str]:
    port = free_port()
    command = [
        *SandboxProcess.default_command(),
        *("--host", HOST, "--port", str(port), "--api-key", KEY, "--log-level", "warning"),
        *("--db", str(workdir / f"startup-{index}.sqlite3")),
    ]
    return command, f"http://{HOST}:{port}/v1/payment-links"


def _prism_launch() -> tuple[list[str], str]:
    port = free_port()
    command = [str(PRISM), "mock", str(ROOT / "openapi.yaml"), "-h", HOST, "-p", str(port)]
    return [*command, "--verboseLevel", "warn"], f"http://{HOST}:{port}/payment-links"


def measure(launches: int, workdir: Path) -> dict[str, list[float]]:
    """Every launch's seconds to its first answer, per server, launches taking turns."""
    times: dict[str, list[float]] = {SANDBOX: [], PRISM_NAME: []}
    for index in range(launches):
        command, url = _sandbox_launch(workdir, index)
        times[SANDBOX].append(time_to_first_answer(command, url, workdir / "sandbox.log"))
        command, url = _prism_launch()
        times[PRISM_NAME].append(time_to_first_answer(command, url, workdir / "prism.log"))
    return times


def table(times: dict[str, list[float]]) -> Table:
    """Median and spread of each server's startup, against Prism's."""
    prism = statistics.median(times[PRISM_NAME])
    result = Table(
        "Startup: launch to first answer",
        ["server", "median s", "fastest s", "slowest s", "vs Prism (lower is faster)"],
    )
    for name, seconds in times.items():
        result.add(
            name,
            f"{statistics.median(seconds):.2f}",
            f"{min(seconds):.2f}",
            f"{max(seconds):.2f}",
            ratio(statistics.median(seconds), prism),
        )
    result.notes.append(
        f"{len(times[SANDBOX])} launches each, taking turns; polled every {POLL_S * 1000:.0f} ms "
        "with an authenticated list. Goal (issue 15): the sandbox's startup no slower than "
        "Prism's."
    )
    return result


def main(argv: Sequence[str] | None = None) -> None:
    """Run the startup benchmark alone and print its table."""
    run = plan.parse(__doc__, argv)
    with tempfile.TemporaryDirectory(prefix="pik-bench-startup-") as workdir:
        times = measure(1 if run.smoke else 5, Path(workdir))
    print(table(times).markdown())


if __name__ == "__main__":
    main()
