"""Prints how many cases each schemathesis phase ran, and how to replay the run."""

from __future__ import annotations

import pytest

from tests.contract.case_counts import CASES_BY_PHASE


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """One line per phase after the contract tests ran."""
    if not CASES_BY_PHASE:
        return
    terminalreporter.section("schemathesis cases by phase")
    for phase, count in sorted(CASES_BY_PHASE.items()):
        terminalreporter.write_line(f"{phase}: {count}")
