"""`make check-breaking` stops a change that would break clients generated from the last released
document, unless the major part of `info.version` was raised (spec/VERSIONING.md)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.portability.tooling import REPO_ROOT, SPEC_PATH, describe, run, system_tool

BASELINE_DIR = REPO_ROOT / "spec" / "baseline"

Change = Callable[[dict[str, Any]], None]


def released_spec() -> Path:
    """The highest released version under spec/baseline/, as `make check-breaking` picks it."""

    def version(path: Path) -> tuple[int, ...]:
        return tuple(int(part) for part in path.stem.removeprefix("openapi-").split("."))

    baselines = sorted(BASELINE_DIR.glob("openapi-*.yaml"), key=version)
    assert baselines, f"no released document under {BASELINE_DIR}"
    return baselines[-1]


def check_breaking(spec: Path) -> tuple[int, str]:
    make = system_tool("make", "install GNU make")
    result = run(
        [make, "--no-print-directory", "check-breaking", f"CHECK_SPEC={spec}"], cwd=REPO_ROOT
    )
    return result.returncode, describe(result)


def changed_copy(tmp_path: Path, *changes: Change) -> Path:
    """The released document with `changes` applied, written to `tmp_path`."""
    document = yaml.safe_load(released_spec().read_text(encoding="utf-8"))
    for change in changes:
        change(document)
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")
    return path


def remove_list_operation(document: dict[str, Any]) -> None:
    del document["paths"]["/payment-links"]["get"]


def require_new_request_field(document: dict[str, Any]) -> None:
    request = document["components"]["schemas"]["CreatePaymentLinkRequest"]
    request["properties"]["reference"] = {"type": "string", "description": "Your order id."}
    request["required"].append("reference")


def narrow_page_size(document: dict[str, Any]) -> None:
    document["components"]["parameters"]["Limit"]["schema"]["maximum"] = 50


def drop_a_status(document: dict[str, Any]) -> None:
    document["components"]["schemas"]["PaymentLinkStatus"]["enum"].remove("deactivated")


def add_optional_response_field(document: dict[str, Any]) -> None:
    document["components"]["schemas"]["PaymentLink"]["properties"]["expires_at"] = {
        "type": "string",
        "format": "date-time",
        "description": "When the link expires.",
    }


def add_optional_request_field(document: dict[str, Any]) -> None:
    document["components"]["schemas"]["CreatePaymentLinkRequest"]["properties"]["reference"] = {
        "type": "string",
        "description": "Your order id.",
    }


def reword_a_description(document: dict[str, Any]) -> None:
    document["paths"]["/payment-links"]["get"]["description"] = "Lists payment links."


def set_version(version: str) -> Change:
    def change(document: dict[str, Any]) -> None:
        document["info"]["version"] = version

    return change


BREAKING: list[Change] = [
    remove_list_operation,
    require_new_request_field,
    narrow_page_size,
    drop_a_status,
]
COMPATIBLE: list[Change] = [
    add_optional_response_field,
    add_optional_request_field,
    reword_a_description,
]


@pytest.mark.parametrize("change", BREAKING, ids=lambda change: change.__name__)
def test_a_breaking_change_fails_without_a_new_major_version(
    tmp_path: Path, change: Change
) -> None:
    returncode, output = check_breaking(changed_copy(tmp_path, change, set_version("1.1.0")))

    assert returncode != 0, output
    assert "breaking change" in output, output


@pytest.mark.parametrize("change", BREAKING, ids=lambda change: change.__name__)
def test_a_breaking_change_passes_with_a_new_major_version(tmp_path: Path, change: Change) -> None:
    returncode, output = check_breaking(changed_copy(tmp_path, change, set_version("2.0.0")))

    assert returncode == 0, output
    assert "allowed by the new major version" in output, output


@pytest.mark.parametrize("change", COMPATIBLE, ids=lambda change: change.__name__)
def test_a_compatible_change_passes(tmp_path: Path, change: Change) -> None:
    returncode, output = check_breaking(changed_copy(tmp_path, change, set_version("1.1.0")))

    assert returncode == 0, output
    assert "No breaking change" in output, output


def test_a_version_lower_than_the_released_one_fails(tmp_path: Path) -> None:
    returncode, output = check_breaking(changed_copy(tmp_path, set_version("0.9.0")))

    assert returncode != 0, output
    assert "lower than the released" in output, output


def test_the_current_spec_keeps_the_released_contract() -> None:
    returncode, output = check_breaking(SPEC_PATH)

    assert returncode == 0, output
