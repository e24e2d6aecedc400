"""pytest fixtures for testing an integration with PIK against a real local sandbox.

Installed with the package (the `pytest11` entry point `pik_sandbox`); the fixtures need the
`sandbox` extra (`pip install "pik-payment-links[sandbox]"`):

- `pik_sandbox`: a sandbox of its own for each test, on a free loopback port, with a fresh
  database and two accounts (`api_key`, `other_api_key`); see `pik_sandbox.testing.LocalSandbox`.
  `@pytest.mark.pik_sandbox(rate_limit=True, link_ttl_seconds=60)` changes its settings.
- `pik_sandbox_session`: one sandbox shared by the whole session (faster; state accumulates).
- `pik_client`: a `pik_generated_client.Pik` bound to `pik_sandbox` with the first account's key.

This module imports only pytest at load time, so that installing the client alone never breaks
pytest; a fixture used without the extra fails its test with the command that installs it.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pik_generated_client import Pik
    from pik_sandbox.testing import LocalSandbox

MARKER = "pik_sandbox"
INSTALL_HINT = (
    'the pik_sandbox fixtures need the sandbox extra: pip install "pik-payment-links[sandbox]"'
)


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so that --strict-markers accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(**settings): run this test's pik_sandbox with other settings, such as "
        "rate_limit=True or link_ttl_seconds=60 (the arguments of pik_sandbox.testing.run_sandbox)",
    )


def _run_sandbox(settings: dict[str, Any]) -> Any:
    try:
        from pik_sandbox.testing import run_sandbox
    except ModuleNotFoundError as missing:
        pytest.fail(f"{INSTALL_HINT} ({missing.name} is not installed)", pytrace=False)
    return run_sandbox(**settings)


@pytest.fixture
def pik_sandbox(request: pytest.FixtureRequest) -> Iterator[LocalSandbox]:
    """A fresh sandbox for this test, on a free loopback port, stopped and removed afterwards:
    `.base_url` (ending in /v1), `.api_key`, `.other_api_key`, `.clock.advance(seconds)`,
    `.simulate_payment(link_id)`."""
    marker = request.node.get_closest_marker(MARKER)
    settings = dict(marker.kwargs) if marker else {}
    with _run_sandbox(settings) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def pik_sandbox_session() -> Iterator[LocalSandbox]:
    """One sandbox for the whole session: starts once, but links (and clock moves) made by one
    test are there for the next."""
    with _run_sandbox({}) as sandbox:
        yield sandbox


@pytest.fixture
def pik_client(pik_sandbox: LocalSandbox) -> Iterator[Pik]:
    """A `Pik` client of this test's sandbox, with the first account's key; closed afterwards."""
    from pik_generated_client import Pik

    with Pik(api_key=pik_sandbox.api_key, base_url=pik_sandbox.base_url) as client:
        yield client
