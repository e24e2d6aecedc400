"""Schemathesis cases per second against the sandbox: in-process over ASGI and over loopback.

Three runs with the same seed, phases and examples per operation: the engine in this process
calling the app through ASGI, the same engine calling a sandbox over loopback HTTP, and the
`schemathesis run` command against that sandbox (start-up included, as CI pays it). Cases are
what schemathesis itself counts as test cases; the sandbox validates its responses, as in the
contract tests. The figure bounds how much property testing fits in a CI run.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import schemathesis
from schemathesis.engine import events, from_schema

from benchmarks import plan
from benchmarks.processes import PYTHON, ROOT, start_sandbox
from benchmarks.report import Table
from pik_sandbox.app import create_app
from pik_sandbox.settings import SandboxSettings

SPEC: Final = ROOT / "openapi.yaml"
SCHEMATHESIS: Final = Path(PYTHON).parent / "schemathesis"
KEY: Final = "sk_bench_property"
SEED: Final = 20240115
PHASES: Final = ("examples", "coverage", "fuzzing", "stateful")
CLI_CASES: Final = re.compile(r"(\d+) generated")


@dataclass(frozen=True)
class PropertyRun:
    """One schemathesis run: how it reached the sandbox, cases counted, wall-clock seconds."""

    label: str
    cases: int
    seconds: float
    failed_scenarios: int

    @property
    def per_second(self) -> float:
        """Cases per second of wall-clock time."""
        return self.cases / self.seconds if self.seconds else 0.0


def _schema(examples: int) -> Any:
    schema = schemathesis.openapi.from_path(str(SPEC))
    schema.config.generation.update(max_examples=examples)
    schema.config.phases.update(phases=list(PHASES))
    schema.config.seed = SEED
    schema.config.update(headers={"Authorization": f"Bearer {KEY}"})
    return schema


def _run_engine(label: str, schema: Any) -> PropertyRun:
    cases = failed = 0
    started = time.perf_counter()
    for event in from_schema(schema).execute():
        if isinstance(event, events.ScenarioFinished):
            # The count behind the CLI's "N generated".
            cases += len(event.recorder.cases)
            failed += event.status != "success" and event.status != "skip"
        elif isinstance(event, events.FatalError):
            raise RuntimeError(f"schemathesis stopped: {event.exception}")
    return PropertyRun(label, cases, time.perf_counter() - started, failed)


def in_process(db: Path, examples: int) -> PropertyRun:
    """The engine calling the sandbox app through ASGI, no sockets."""
    settings = SandboxSettings(
        db_path=db,
        api_keys=(KEY,),
        public_url="http://127.0.0.1:8000",
        rate_limit=False,
        validate_responses=True,
    )
    sandbox = create_app(settings)

    async def app(scope: Any, receive: Any, send: Any) -> None:
        # Schemathesis opens a fresh ASGI client, lifespan included, for every call; the app's
        # own start-up and shut-down must happen once, not around each case.
        if scope["type"] != "lifespan":
            await sandbox(scope, receive, send)
            return
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})

    schema = _schema(examples)
    schema.app = app
    return _run_engine("in-process (engine → ASGI app)", schema)


def over_loopback(base_url: str, examples: int) -> PropertyRun:
    """The engine calling a running sandbox over loopback HTTP."""
    schema = _schema(examples)
    schema.config.update(base_url=base_url)
    return _run_engine("loopback (engine → running sandbox)", schema)


def cli(base_url: str, examples: int) -> PropertyRun:
    """`schemathesis run` against a running sandbox, start-up included."""
    command = [str(SCHEMATHESIS), "run", str(SPEC), "--url", base_url]
    command += ["--header", f"Authorization: Bearer {KEY}"]
    command += ["--phases", ",".join(PHASES), "--max-examples", str(examples)]
    command += ["--seed", str(SEED)]
    started = time.perf_counter()
    completed = subprocess.run(
        command,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "NO_COLOR": "1"},
    )
    seconds = time.perf_counter() - started
    found = CLI_CASES.search(completed.stdout)
    if found is None:
        raise RuntimeError(f"no case count in schemathesis's output:\n{completed.stdout[-2000:]}")
    return PropertyRun(
        "loopback (`schemathesis run`, start-up included)",
        int(found.group(1)),
        seconds,
        0 if completed.returncode == 0 else 1,
    )


def measure(workdir: Path, examples: int) -> list[PropertyRun]:
    """The three runs, each against a fresh database, `examples` per operation."""
    runs = [in_process(workdir / "property-asgi.sqlite3", examples)]
    db = workdir / "property-live.sqlite3"
    with start_sandbox(db, KEY, workdir, "--validate-responses") as sandbox:
        runs.append(over_loopback(sandbox.base_url, examples))
        runs.append(cli(sandbox.base_url, examples))
    return runs


def tables(runs: Sequence[PropertyRun], examples: int) -> list[Table]:
    """Cases per second for each way of reaching the sandbox."""
    table = Table(
        "Property-test throughput (schemathesis)",
        ["run", "cases", "seconds", "cases/s", "failing"],
    )
    for run in runs:
        table.add(
            run.label,
            f"{run.cases:,}",
            f"{run.seconds:.1f}",
            f"{run.per_second:,.0f}",
            str(run.failed_scenarios),
        )
    table.notes.append(
        f"Phases {', '.join(PHASES)}; --max-examples {examples}; seed {SEED}; the sandbox "
        "validates its responses; checks as in schemathesis.toml."
    )
    return [table]


def main(argv: Sequence[str] | None = None) -> None:
    """Run the property-test benchmark alone and print its table."""
    run = plan.parse(__doc__, argv)
    os.chdir(ROOT)  # schemathesis finds schemathesis.toml in the working directory.
    with tempfile.TemporaryDirectory(prefix="pik-bench-property-") as workdir:
        runs = measure(Path(workdir), run.property_examples)
    for table in tables(runs, run.property_examples):
        print(table.markdown())


if __name__ == "__main__":
    main()
