"""Run the schemathesis CLI, every check and phase, against a sandbox on a free loopback port.

The sandbox starts with a temporary database and two keys, validates its own responses, and is
stopped afterwards; schemathesis's exit code is this script's.
"""

from __future__ import annotations

import argparse
import os
import secrets
import subprocess
import sys
from pathlib import Path

from pik_sandbox.testing import SandboxProcess, SandboxStartFailed

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


def main() -> int:
    """Start the sandbox, run schemathesis against it, stop the sandbox."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--max-examples", type=int, default=30)
    parser.add_argument("--seed", type=int, default=None, help="replay a run (default: fresh)")
    parser.add_argument("--report-dir", default=str(ROOT / "reports"))
    args = parser.parse_args()

    seed = args.seed if args.seed is not None else secrets.randbelow(2**31)
    key = "sk_contract_" + secrets.token_hex(8)
    options = ("--rate-limit", "off", "--validate-responses", "--log-level", "warning")
    try:
        sandbox = SandboxProcess.start(*options, api_keys=(key,))
    except SandboxStartFailed as failure:
        raise SystemExit(str(failure)) from None
    with sandbox:
        print(f"schemathesis seed: {seed} (replay with --seed {seed})", flush=True)
        command = [
            str(BIN / "schemathesis"),
            "run",
            str(ROOT / "openapi.yaml"),
            "--url",
            sandbox.base_url,
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


if __name__ == "__main__":
    sys.exit(main())
