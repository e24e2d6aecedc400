"""Load from `wrk`: requests per second and latency percentiles, best of interleaved rounds.

Each load is a wrk script: it sets the method, headers and body, may cycle through many paths,
and ends by printing one JSON line with wrk's own counts and percentiles, so nothing depends on
the layout of wrk's human-readable report.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Final

WRK: Final = "/usr/bin/wrk"
RESULT_MARK: Final = "WRK_RESULT "
# wrk's timeout per request; a request slower than this counts as an error, not as a latency.
REQUEST_TIMEOUT: Final = "5s"

_DONE = """
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    '%s{"requests": %d, "duration_us": %d, "p50_us": %d, "p99_us": %d, "non_2xx": %d,'
    .. ' "socket_errors": %d}\\n',
    "WRK_RESULT ", summary.requests, summary.duration,
    latency:percentile(50), latency:percentile(99), e.status,
    e.connect + e.read + e.write + e.timeout))
end
"""


@dataclass(frozen=True)
class LoadSettings:
    """How hard, how long and how often every load pushes; the same for every server compared."""

    duration_s: int = 3
    warmup_s: int = 1
    rounds: int = 2
    threads: int = 1
    connections: int = 16

    def describe(self) -> str:
        """The settings as a sentence for a table's notes."""
        return (
            f"wrk -t{self.threads} -c{self.connections}, {self.duration_s} s timed after a "
            f"{self.warmup_s} s warm-up, best of {self.rounds} interleaved rounds"
        )


@dataclass(frozen=True)
class LoadResult:
    """What wrk measured in one timed run (the warm-up is discarded)."""

    requests: int
    requests_per_s: float
    p50_ms: float
    p99_ms: float
    failed: int  # No answer, or an answer outside 2xx/3xx.
    # Of the rounds this result is the best of: the slowest one's requests/s (the spread).
    slowest_round_per_s: float = 0.0


@dataclass(frozen=True)
class Load:
    """One wrk script against one server, named by what it measures."""

    server: str
    request: str
    base_url: str
    script: Path


def _lua_string(text: str) -> str:
    # For ASCII text a JSON string literal is also a valid Lua one; JSON's \uXXXX is not.
    if not text.isascii():
        raise ValueError(f"wrk scripts here carry ASCII text only: {text!r}")
    return json.dumps(text)


def write_script(
    path: Path,
    *,
    paths: Sequence[str],
    headers: dict[str, str],
    method: str = "GET",
    body: str | None = None,
) -> Path:
    """A wrk script sending `method` to `paths` in turn (round robin) with `headers` and `body`."""
    lines = [f"wrk.method = {_lua_string(method)}"]
    lines += [f"wrk.headers[{_lua_string(k)}] = {_lua_string(v)}" for k, v in headers.items()]
    if body is not None:
        lines.append(f"wrk.body = {_lua_string(body)}")
    if len(paths) == 1:
        lines.append(f"wrk.path = {_lua_string(paths[0])}")
    else:
        # Built per request from a table: wrk's precompiled single request cannot vary.
        lines.append("local paths = {" + ", ".join(_lua_string(p) for p in paths) + "}")
        lines.append("local n, i = #paths, 0")
        lines.append("request = function() i = i % n + 1; return wrk.format(nil, paths[i]) end")
    path.write_text("\n".join(lines) + "\n" + _DONE)
    return path


def ensure_wrk() -> None:
    """Fail with a clear message when wrk is missing (`make bench` and `make test` install it)."""
    if shutil.which(WRK) is None:
        raise SystemExit(f"{WRK} is missing: `apt-get install -y wrk` (make bench does this)")


def run_wrk(base_url: str, script: Path, settings: LoadSettings, duration_s: int) -> LoadResult:
    """One wrk run of `duration_s` seconds."""
    command = [WRK, f"-t{settings.threads}", f"-c{settings.connections}", f"-d{duration_s}s"]
    command += [f"--timeout={REQUEST_TIMEOUT}", "--latency", "-s", str(script), base_url]
    completed = subprocess.run(
        command, capture_output=True, text=True, timeout=duration_s + 30, check=True
    )
    for line in completed.stdout.splitlines():
        if line.startswith(RESULT_MARK):
            raw = json.loads(line[len(RESULT_MARK) :])
            seconds = raw["duration_us"] / 1e6
            return LoadResult(
                requests=raw["requests"],
                requests_per_s=raw["requests"] / seconds if seconds else 0.0,
                p50_ms=raw["p50_us"] / 1000,
                p99_ms=raw["p99_us"] / 1000,
                failed=raw["non_2xx"] + raw["socket_errors"],
            )
    raise RuntimeError(f"wrk printed no result:\n{completed.stdout}\n{completed.stderr}")


def best_of_rounds(
    loads: Sequence[Load], settings: LoadSettings
) -> dict[tuple[str, str], LoadResult]:
    """Every load in turn, `settings.rounds` times, each server warmed up in the first round
    only; the best round of each, keyed by (server, request): the one least disturbed by
    whatever else the machine did. A load that got no successful answer at all measured
    nothing, and raises."""
    ensure_wrk()
    best: dict[tuple[str, str], LoadResult] = {}
    slowest: dict[tuple[str, str], float] = {}
    for round_index in range(settings.rounds):
        for load in loads:
            if round_index == 0 and settings.warmup_s > 0:
                run_wrk(load.base_url, load.script, settings, settings.warmup_s)
            result = run_wrk(load.base_url, load.script, settings, settings.duration_s)
            if result.failed >= result.requests:
                raise RuntimeError(f"{load.server} answered no {load.request} request with 2xx")
            key = (load.server, load.request)
            slowest[key] = min(slowest.get(key, result.requests_per_s), result.requests_per_s)
            if key not in best or result.requests_per_s > best[key].requests_per_s:
                best[key] = result
    return {key: replace(result, slowest_round_per_s=slowest[key]) for key, result in best.items()}
