"""How many cases each schemathesis phase ran, for the summary printed after the contract tests."""

from __future__ import annotations

from collections import Counter

CASES_BY_PHASE: Counter[str] = Counter()
