"""What a user installs: the wheel, built from this tree, in fresh virtual environments.

- Without extras: the client imports, carries `py.typed` and `openapi.yaml`, and `pik-sandbox`
  says in one line which extra to install (exit 2); pytest still runs, the plugin loaded.
- With the `sandbox` extra: `pik-sandbox` starts and answers, and the README's example test
  passes under the environment's own `pytest`, offline (in a network namespace holding only
  loopback, where `unshare` allows one).

Dependencies are installed with uv at the versions requirements.lock pins, from uv's cache once
it holds them (the first run downloads them from the package index).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from pik_sandbox.testing import SandboxProcess

REPO_ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).parent / "uv"
LOCK = REPO_ROOT / "requirements.lock"
INSTALL_HINT = 'pip install "pik-payment-links[sandbox]"'
EXAMPLE_HEADING = "### Testing your integration with pytest"

pytestmark = pytest.mark.timeout(600)


def run(
    *command: str | Path, cwd: Path | None = None, check: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run a command with a clean environment, by default in a folder outside this checkout
    (Python puts the current folder first on sys.path): nothing of the checkout leaks in."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    result = subprocess.run(
        [str(part) for part in command],
        cwd=cwd or Path(command[0]).parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        pytest.fail(f"{command} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel `make dist` would build, from this tree."""
    if not UV.exists():
        pytest.fail(f"{UV} is missing: run `make install` (uv is pinned in requirements.lock)")
    out = tmp_path_factory.mktemp("dist")
    run(UV, "build", "--quiet", "--wheel", "--python", sys.executable, "--out-dir", out, REPO_ROOT)
    (built,) = out.glob("pik_payment_links-*.whl")
    return built


def fresh_venv(root: Path, wheel: Path, requirement: str, *extra: str) -> Path:
    """A new virtual environment holding `requirement` (the wheel, maybe with extras) and
    `extra` packages, at the lock's versions. Returns its bin folder."""
    venv = root / "venv"
    run(UV, "venv", "--quiet", "--python", sys.executable, venv)
    run(
        UV, "pip", "install", "--quiet", "--python", venv / "bin" / "python",
        "--constraint", LOCK, requirement.replace("WHEEL", str(wheel)), *extra,
    )  # fmt: skip
    return venv / "bin"


@pytest.fixture(scope="module")
def client_only(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel without extras, and pytest (which brings none of the sandbox's dependencies)."""
    return fresh_venv(tmp_path_factory.mktemp("client-only"), wheel, "WHEEL", "pytest")


@pytest.fixture(scope="module")
def with_sandbox(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel with the `sandbox` extra, and pytest."""
    return fresh_venv(tmp_path_factory.mktemp("with-sandbox"), wheel, "WHEEL[sandbox]", "pytest")


def offline(*command: str | Path) -> list[str | Path]:
    """`command` run in a network namespace of its own, with loopback up and nothing else, when
    this machine lets an unprivileged user make one; else `command` as it is."""
    prefix: list[str | Path] = ["unshare", "--map-root-user", "--net", "sh", "-c"]
    prefix += ['ip link set lo up && exec "$@"', "sh"]
    usable = shutil.which("unshare") and shutil.which("ip")
    if usable and subprocess.run([*map(str, prefix), "true"], capture_output=True).returncode == 0:
        return [*prefix, *command]
    return list(command)


def readme_example() -> str:
    """The complete example test under the README's pytest heading."""
    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    section = readme[readme.index(EXAMPLE_HEADING) :]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's pytest section has no example"
    return match.group(1)


def test_without_extras_the_client_imports_with_its_types_and_document(client_only: Path) -> None:
    script = (
        "import importlib.resources, pik_generated_client as p\n"
        "from pik_generated_client import Pik\n"
        "files = importlib.resources.files('pik_generated_client')\n"
        "assert (files / 'py.typed').is_file()\n"
        "assert (files / 'openapi.yaml').read_text().startswith('openapi: 3.0.3')\n"
        "print(p.__version__)\n"
    )
    result = run(client_only / "python", "-c", script)
    version = result.stdout.strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+\S*", version)
    for absent in ("uvicorn", "connexion", "starlette", "yaml"):
        found = run(client_only / "python", "-c", f"import {absent}", check=False)
        assert found.returncode != 0, f"{absent} was installed without the sandbox extra"
    assert run(client_only / "pik-sandbox", "--version").stdout.strip() == f"pik-sandbox {version}"


def test_without_extras_pik_sandbox_says_which_extra_to_install(client_only: Path) -> None:
    for args in ((), ("--port", "0")):
        result = run(client_only / "pik-sandbox", *args, check=False)
        assert result.returncode == 2
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert INSTALL_HINT in result.stderr
        assert "Traceback" not in result.stderr


def test_without_extras_pytest_runs_and_the_fixtures_name_the_extra(
    client_only: Path, tmp_path: Path
) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert True\n")
    (tmp_path / "test_sandbox.py").write_text("def test_needs(pik_sandbox):\n    pass\n")
    pytest_command = (client_only / "pytest", "-p", "no:cacheprovider")
    plain = run(*pytest_command, "test_plain.py", cwd=tmp_path)
    assert "1 passed" in plain.stdout
    needs = run(*pytest_command, cwd=tmp_path, check=False)
    assert needs.returncode == 1
    assert INSTALL_HINT in needs.stdout and "1 passed, 1 error" in needs.stdout


def test_with_the_sandbox_extra_pik_sandbox_starts_and_answers(with_sandbox: Path) -> None:
    command = [str(with_sandbox / "pik-sandbox")]
    with SandboxProcess.start(command=command) as sandbox, sandbox.http_client() as api:
        created = api.post("/payment-links", json={"amount": "75.00", "currency": "USDT"})
        assert created.status_code == 201, created.text
        assert httpx.get(sandbox.site_url + "/openapi.yaml").status_code == 200
    assert sandbox.process.returncode == 0


def test_with_the_sandbox_extra_the_readme_example_passes(
    with_sandbox: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "test_checkout.py").write_text(readme_example(), encoding="utf-8")
    started = time.perf_counter()
    command = offline(with_sandbox / "pytest", "-p", "no:cacheprovider")
    result = run(*command, cwd=tmp_path, check=False)
    elapsed = time.perf_counter() - started
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 passed" in result.stdout and "warning" not in result.stdout
    with capsys.disabled():
        where = "offline" if command[0] == "unshare" else "with the network"
        print(f"\nthe README's example test in a fresh environment, {where}: {elapsed:.2f} s")
