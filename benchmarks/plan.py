"""How long and how large the benchmarks run: the full figures, or a smoke run of seconds.

A smoke run goes through every benchmark's code with tiny loads and small seeds, so that a broken
benchmark fails `make test`; its figures mean nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, replace

from benchmarks.load import LoadSettings


@dataclass(frozen=True)
class Plan:
    """Every size and duration a benchmark picks."""

    load: LoadSettings
    scale_links: tuple[int, int]  # The small account and the large one.
    property_examples: int  # schemathesis's --max-examples.
    client_rounds: int
    client_repeat: int
    smoke: bool = False


FULL = Plan(
    LoadSettings(),
    scale_links=(1_000, 1_000_000),
    property_examples=25,
    client_rounds=2000,
    client_repeat=7,
)
SMOKE = Plan(
    LoadSettings(duration_s=1, warmup_s=0, rounds=1, connections=4),
    scale_links=(1_000, 10_000),
    property_examples=1,
    client_rounds=20,
    client_repeat=1,
    smoke=True,
)


def parser(description: str | None) -> argparse.ArgumentParser:
    """The options every benchmark takes: --smoke, and the load's duration and rounds."""
    options = argparse.ArgumentParser(description=description)
    options.add_argument("--smoke", action="store_true", help="every step in seconds, no figure")
    options.add_argument("--duration", type=int, help="seconds per timed load")
    options.add_argument("--rounds", type=int, help="interleaved rounds per load")
    return options


def from_arguments(args: argparse.Namespace) -> Plan:
    """The plan the parsed options ask for."""
    plan = SMOKE if args.smoke else FULL
    load = replace(
        plan.load,
        duration_s=args.duration or plan.load.duration_s,
        rounds=args.rounds or plan.load.rounds,
    )
    return replace(plan, load=load)


def parse(description: str | None, argv: Sequence[str] | None = None) -> Plan:
    """Parse the common options and return the plan."""
    return from_arguments(parser(description).parse_args(argv))
