"""A typical merchant script (merchant_script.py) runs against a real sandbox, reads like plain
raise-style code, and (through `make lint`) passes mypy --strict."""

from __future__ import annotations

import re
from decimal import Decimal
from pathlib import Path

from pik_generated_client import Pik
from pik_sandbox.testing import run_sandbox
from tests.client import merchant_script

SCRIPT = Path(merchant_script.__file__)


def test_the_script_needs_no_isinstance_and_no_none_checks() -> None:
    code = SCRIPT.read_text(encoding="utf-8").split('"""', 2)[2]  # after the module docstring
    assert not re.search(r"isinstance|is None|is not None|Unset", code)


def test_the_script_runs_against_a_sandbox() -> None:
    with run_sandbox() as sandbox:
        outcome = merchant_script.run(sandbox.api_key, sandbox.base_url)
        assert outcome["status"] == "paid"
        assert outcome["missing"] == "unknown"
        assert outcome["doge"] == (
            "refused: currency: 'DOGE' is not a supported asset; use one of BTC, ETH, USDC, USDT."
        )
        assert outcome["paid_total"] == Decimal("75.00")
        assert outcome["descriptions"] == ["Order #1234"]
        with Pik(api_key="sk_wrong", base_url=sandbox.base_url) as wrong:
            assert merchant_script.try_to_charge(wrong, "1", "USDT") == "check the API key"
    with Pik(api_key="sk_x", base_url=sandbox.base_url, max_retries=0) as gone:
        assert merchant_script.try_to_charge(gone, "1", "USDT") == "PIK is unreachable; try again"
