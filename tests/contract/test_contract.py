"""Schemathesis holds openapi.yaml and the sandbox to each other: examples, coverage and fuzzing
phases per operation, and the stateful phase following the document's links, with every
built-in check plus one of our own: another account never sees or changes a link.

By default the sandbox app runs in-process. With PIK_BASE_URL and PIK_API_KEY set (and
PIK_OTHER_API_KEY for the second account), the same tests run against that live server.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis import Case, CheckContext
from schemathesis.core.result import Ok

from pik_sandbox.testing import LocalSandbox, run_sandbox
from tests.contract.case_counts import CASES_BY_PHASE
from tests.support.openapi_doc import SPEC_PATH

LIVE_URL = os.environ.get("PIK_BASE_URL")
KEY = os.environ.get("PIK_API_KEY", "sk_contract_owner")
OTHER_KEY = os.environ.get("PIK_OTHER_API_KEY", "sk_contract_other")
MAX_EXAMPLES = int(os.environ.get("PIK_CONTRACT_EXAMPLES", "150"))
# Fixed by default so that CI replays the same cases; PIK_CONTRACT_RANDOM=1 explores afresh (on a
# failure Hypothesis prints the `@seed(...)` that replays it).
FRESH = os.environ.get("PIK_CONTRACT_RANDOM") == "1"
IN_PROCESS_URL = "http://127.0.0.1:8000"

schema = schemathesis.openapi.from_path(SPEC_PATH)


# The in-process sandbox (a temporary database, two accounts, no rate limits, responses checked),
# started at import because schemathesis takes the app when the tests are collected; stopped
# and removed after the module's tests.
_RUNNING = ExitStack()
SANDBOX: LocalSandbox | None = None
if LIVE_URL:
    schema.config.update(base_url=LIVE_URL)
else:
    SANDBOX = _RUNNING.enter_context(
        run_sandbox(in_process=True, api_keys=(KEY, OTHER_KEY), public_url=IN_PROCESS_URL)
    )
    schema.app = SANDBOX.app


@pytest.fixture(scope="module", autouse=True)
def _stop_the_in_process_sandbox() -> Iterator[None]:
    yield
    _RUNNING.close()


@schema.auth()
class ApiKey:
    """The owner's key, given the way schemathesis can take it away for the auth checks."""

    def get(self, case: Case[Any], ctx: Any) -> str:
        return KEY

    def set(self, case: Case[Any], data: str, ctx: Any) -> None:
        case.headers["Authorization"] = f"Bearer {data}"


def _call_as_other_account(method: str, path: str, body: Any = None) -> httpx.Response:
    """One request with the second account's key, to the live server or the in-process app."""
    headers = {"Authorization": f"Bearer {OTHER_KEY}"}
    if SANDBOX is None:
        assert LIVE_URL
        with httpx.Client(base_url=LIVE_URL, timeout=30) as client:
            return client.request(method, path, headers=headers, json=body)
    # Checks are synchronous; the in-process sandbox's client drives the app on its own loop.
    with SANDBOX.http_client(OTHER_KEY) as client:
        return client.request(method, path, json=body)


@schemathesis.check
def other_account_cannot_reach_the_link(
    ctx: CheckContext, response: Any, case: Case[Any]
) -> bool | None:
    """A link one key created or read is a 404 for another key: reading, and simulating."""
    if case.operation.definition.raw.get("operationId") not in (
        "createPaymentLink",
        "getPaymentLink",
    ) or response.status_code not in (200, 201):
        return None
    link_id = response.json()["id"]
    for method, path, body in (
        ("GET", f"/payment-links/{link_id}", None),
        ("POST", f"/sandbox/payment-links/{link_id}/simulate", {"status": "paid"}),
    ):
        answer = _call_as_other_account(method, path, body)
        if answer.status_code != 404:
            raise AssertionError(
                f"{method} {path} with another account's key answered {answer.status_code}, not 404"
            )
    return True


CONTRACT_SETTINGS = settings(
    max_examples=MAX_EXAMPLES,
    derandomize=not FRESH,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


@schema.parametrize()
@CONTRACT_SETTINGS
def test_every_operation_holds_to_the_document(case: Case[Any]) -> None:
    CASES_BY_PHASE[case.meta.phase.name.value if case.meta else "unknown"] += 1
    case.call_and_validate()


class StatefulCheck(schema.as_state_machine()):  # type: ignore[misc]
    """Sequences the links allow: create -> get, create -> simulate -> get, and list."""

    def validate_response(self, response: Any, case: Case[Any], **kwargs: Any) -> None:
        CASES_BY_PHASE["stateful"] += 1
        super().validate_response(response, case, **kwargs)


TestLinkedOperations = StatefulCheck.TestCase
TestLinkedOperations.settings = settings(
    max_examples=max(MAX_EXAMPLES // 2, 5),
    derandomize=not FRESH,
    stateful_step_count=6,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    print_blob=True,
)


def test_every_phase_ran_cases() -> None:
    """Guards against a silently empty run: every phase sent requests (runs after the rest)."""
    assert {"examples", "coverage", "fuzzing", "stateful"} <= set(CASES_BY_PHASE), CASES_BY_PHASE


def test_suite_targets_a_server() -> None:
    """The schema has every operation to test."""
    operations = {
        result.ok().definition.raw["operationId"]
        for result in schema.get_all_operations()
        if isinstance(result, Ok)
    }
    assert operations == {
        "createPaymentLink",
        "listPaymentLinks",
        "getPaymentLink",
        "simulatePaymentLink",
        "createWebhook",
        "listWebhooks",
    }
