"""Finding and running the other languages' tools from the portability tests.

A missing tool fails the test with what to install; nothing here skips.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SPEC_PATH = REPO_ROOT / "openapi.yaml"
SEED_DIR = REPO_ROOT / "tests" / "fixtures" / "seed"
NODE_BIN = REPO_ROOT / "node_modules" / ".bin"

# Every step here takes seconds; a minute means a tool hangs, and the test should say so.
STEP_TIMEOUT_SECONDS = 60


def system_tool(name: str, install_hint: str) -> str:
    """The path of `name` on PATH; fails the test with `install_hint` when it is not there."""
    found = shutil.which(name)
    if found is None:
        pytest.fail(f"`{name}` is not on PATH: {install_hint}", pytrace=False)
    return found


def node_tool(name: str) -> Path:
    """A tool pinned in package-lock.json, from node_modules/.bin."""
    system_tool("node", "install Node.js 20.19 or later")
    path = NODE_BIN / name
    if not path.exists():
        pytest.fail(f"{path} is missing: run `make node-modules` (npm ci)", pytrace=False)
    return path


def run(
    command: Sequence[str | Path],
    *,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """Runs `command` to completion and returns it; the caller judges the exit code."""
    return subprocess.run(
        [str(part) for part in command],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT_SECONDS,
        check=False,
    )


def run_ok(command: Sequence[str | Path], *, cwd: Path | None = None) -> str:
    """Runs `command`, fails the test with its output unless it exits 0, returns its stdout."""
    result = run(command, cwd=cwd)
    assert result.returncode == 0, describe(result)
    return result.stdout


def describe(result: subprocess.CompletedProcess[str]) -> str:
    """A command with its exit code and output, for an assertion message."""
    command = " ".join(str(part) for part in result.args)
    return f"$ {command}\nexit {result.returncode}\n{result.stdout}\n{result.stderr}"
