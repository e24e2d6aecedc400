"""TypeScript callers get types that carry the spec's constraints: openapi-typescript turns
openapi.yaml into types, and `tsc --strict` compiles a usage file whose `@ts-expect-error` lines
must be rejected (a numeric amount, a missing currency, an unknown status filter)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.portability.tooling import SPEC_PATH, describe, node_tool, run, run_ok

USAGE_FILE = Path(__file__).parent / "typescript" / "usage.ts"
# tsc's code for an `@ts-expect-error` whose line compiles after all.
UNUSED_EXPECT_ERROR = "TS2578"


def compile_usage(spec: Path, workdir: Path) -> tuple[int, str]:
    """Generates `pik-api.d.ts` from `spec` beside a copy of usage.ts and type-checks both."""
    # Runs inside `workdir`: openapi-typescript reads a redocly.yaml from its working directory.
    run_ok([node_tool("openapi-typescript"), spec, "--output", "pik-api.d.ts"], cwd=workdir)
    shutil.copyfile(USAGE_FILE, workdir / "usage.ts")
    result = run(
        [
            node_tool("tsc"),
            "--strict",
            "--noEmit",
            "--target",
            "es2022",
            "--module",
            "esnext",
            "--moduleResolution",
            "bundler",
            "usage.ts",
        ],
        cwd=workdir,
    )
    return result.returncode, describe(result)


def test_generated_types_accept_valid_calls_and_reject_invalid_ones(tmp_path: Path) -> None:
    returncode, output = compile_usage(SPEC_PATH, tmp_path)

    assert returncode == 0, output


def _amount_becomes_a_number(document: dict[str, Any]) -> None:
    document["components"]["schemas"]["Amount"] = {"type": "number"}


def _currency_becomes_optional(document: dict[str, Any]) -> None:
    document["components"]["schemas"]["CreatePaymentLinkRequest"]["required"].remove("currency")


def _status_filter_becomes_any_string(document: dict[str, Any]) -> None:
    document["components"]["parameters"]["StatusFilter"]["schema"] = {"type": "string"}


@pytest.mark.parametrize(
    "loosen",
    [_amount_becomes_a_number, _currency_becomes_optional, _status_filter_becomes_any_string],
    ids=["numeric-amount", "optional-currency", "open-status-filter"],
)
def test_compile_fails_when_the_spec_loses_a_constraint(
    tmp_path: Path, loosen: Callable[[dict[str, Any]], None]
) -> None:
    document = yaml.safe_load(SPEC_PATH.read_text(encoding="utf-8"))
    loosen(document)
    loosened = tmp_path / "openapi.yaml"
    loosened.write_text(yaml.safe_dump(document, sort_keys=False), encoding="utf-8")

    returncode, output = compile_usage(loosened, tmp_path)

    assert returncode != 0, output
    assert UNUSED_EXPECT_ERROR in output, output
