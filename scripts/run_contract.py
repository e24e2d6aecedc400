"""Run the schemathesis CLI, every check and phase, against a sandbox on a free loopback port.

The sandbox starts with a temporary database and two keys, validates its own responses, and is
stopped afterwards; schemathesis's exit code is this script's.
"""

from __future__ import annotations

import argparse
import os
import secrets
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_until_up(url: str, timeout: float = 30.0) -> None:
    """Poll `url` until the server answers, or fail after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"the sandbox did not answer at {url}") from None
            time.sleep(0.1)


def main() -> int:
    """Start the sandbox, run schemathesis against it, stop the sandbox."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: fresh)")
    parser.add_argument("--report-dir", default=str(ROOT / "reports"))
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    key = "sk_contract_" + secrets.token_hex(8)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    with tempfile.TemporaryDirectory(prefix="pik-contract-") as data:
        sandbox = subprocess.Popen(
            [
                str(BIN / "python"),
                "-m",
                "pik_sandbox",
                "--port",
                str(port),
                "--db",
                str(Path(data) / "sandbox.sqlite3"),
                "--api-key",
                key,
                "--rate-limit",
                "off",
                "--validate-responses",
                "--log-level",
                "warning",
            ],
            cwd=ROOT,
        )
        try:
            wait_until_up(f"{base}/openapi.yaml")
            print(f"schemathesis seed: {seed} (replay with --seed {seed})", flush=True)
            command = [
                str(BIN / "schemathesis"),
                "run",
                str(ROOT / "openapi.yaml"),
                "--url",
                f"{base}/v1",
                "--header",
                f"Authorization: Bearer {key}",
                "--checks",
                "all",
                "--phases",
                "examples,coverage,fuzzing,stateful",
                "--max-examples",
                str(args.max_examples),
                "--seed",
                str(seed),
                "--report",
                "junit",
                "--report-dir",
                args.report_dir,
            ]
            return subprocess.call(command, cwd=ROOT, env={**os.environ, "NO_COLOR": "1"})
        finally:
            sandbox.terminate()
            sandbox.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
