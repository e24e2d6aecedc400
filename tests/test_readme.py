"""Every Python block in the README passes mypy --strict, so the documentation cannot rot."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mypy import api as mypy_api

REPO_ROOT = Path(__file__).resolve().parents[1]
README = (REPO_ROOT / "README.md").read_text("utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```$", README, re.M | re.S)


def test_the_readme_has_python_blocks() -> None:
    assert len(BLOCKS) >= 5


def test_every_python_block_passes_mypy_strict(tmp_path: Path) -> None:
    files = []
    for number, block in enumerate(BLOCKS):
        path = tmp_path / f"readme_block_{number}.py"
        path.write_text(block, encoding="utf-8")
        files.append(str(path))
    stdout, stderr, status = mypy_api.run(
        ["--strict", "--no-incremental", "--config-file", str(REPO_ROOT / "pyproject.toml"), *files]
    )
    if status != 0:
        shown = "\n\n".join(f"# block {n}\n{block}" for n, block in enumerate(BLOCKS))
        pytest.fail(f"{stdout}{stderr}\n{shown}")
