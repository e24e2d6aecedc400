"""The installed package carries the contract it was generated from: a built wheel holds
openapi.yaml as `pik_generated_client/openapi.yaml`, readable with importlib.resources."""

from __future__ import annotations

import sys
import zipfile
from pathlib import Path

from tests.portability.tooling import REPO_ROOT, SPEC_PATH, run, run_ok

PACKAGED_PATH = "pik_generated_client/openapi.yaml"

# Run in a fresh interpreter whose import path starts at the installed copy, so the repository's
# own pik_generated_client/ (which has no openapi.yaml) cannot answer instead.
READ_THROUGH_IMPORTLIB = """
import importlib.resources, sys
sys.path.insert(0, sys.argv[1])
import pik_generated_client
assert pik_generated_client.__file__.startswith(sys.argv[1]), pik_generated_client.__file__
sys.stdout.write((importlib.resources.files("pik_generated_client") / "openapi.yaml").read_text())
"""


def test_the_wheel_ships_the_spec_and_importlib_resources_reads_it(tmp_path: Path) -> None:
    wheel_dir = tmp_path / "wheel"
    result = run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", wheel_dir, REPO_ROOT]
    )
    assert result.returncode == 0, result.stderr
    (wheel,) = wheel_dir.glob("*.whl")
    spec = SPEC_PATH.read_bytes()

    with zipfile.ZipFile(wheel) as archive:
        assert archive.read(PACKAGED_PATH) == spec

    site = tmp_path / "site"
    pip_install = [sys.executable, "-m", "pip", "install", "--no-deps", "--no-index", "--quiet"]
    run_ok([*pip_install, "--target", site, wheel])
    packaged = run_ok([sys.executable, "-I", "-c", READ_THROUGH_IMPORTLIB, site])

    assert packaged.encode("utf-8") == spec
