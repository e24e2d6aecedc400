"""Everything a sandbox instance can be configured with."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType

# PIK's rules as openapi.yaml states them for code (x-pik-assets, x-pik-rate-limits) and for people
# (its prose); tests/spec/test_rules.py fails when these constants, the document or the README
# disagree. Kept here as plain values so that the command line reads them without a YAML parser.

# Smallest units of the assets PIK documents: an amount may carry at most this many decimals.
ASSET_DECIMALS: Mapping[str, int] = MappingProxyType({"USDT": 6, "USDC": 6, "BTC": 8, "ETH": 18})

DEFAULT_DB_PATH = Path("data") / "sandbox.sqlite3"
DEMO_API_KEY = "sk_sandbox_demo"

# PIK's documented limits, per API key over a rolling minute.
CREATION_LIMIT_PER_MINUTE = 60
GENERAL_LIMIT_PER_MINUTE = 300
RATE_LIMIT_WINDOW_SECONDS = 60.0
# The operations counted against the creation limit; every other one counts as general.
CREATION_OPERATIONS = frozenset({"createPaymentLink"})

# Legitimate bodies are a few hundred bytes (a description is at most 500 characters); anything
# this large is a mistake or an attack, and is refused before it is read into memory.
MAX_BODY_BYTES = 64 * 1024

# How long a request waits for the database's lock (another process may hold it) before it is
# answered 503 with Retry-After; the store's own default.
DB_LOCK_TIMEOUT_SECONDS = 5.0

# What one client may take of a `pik-sandbox` server (see pik_sandbox.server): the request line
# and headers in bytes, the time for a request to arrive whole, an idle keep-alive connection's
# life, and the connections open at once.
MAX_HEADER_BYTES = 32 * 1024
REQUEST_TIMEOUT_SECONDS = 10.0
KEEP_ALIVE_TIMEOUT_SECONDS = 5.0
MAX_CONNECTIONS = 1000

# PIK's webhook rules: a 200 within this many seconds is a delivery; after each failure the next
# try waits 5 min, 30 min, 2 h, 8 h and 24 h, then the event is undelivered.
WEBHOOK_TIMEOUT_SECONDS = 10.0
WEBHOOK_RETRY_SCHEDULE: tuple[float, ...] = (300.0, 1800.0, 7200.0, 28800.0, 86400.0)


def parse_schedule(text: str) -> tuple[float, ...]:
    """`1s,2m,3h`: waits in seconds, minutes or hours (a bare number is seconds)."""
    units = {"s": 1.0, "m": 60.0, "h": 3600.0}
    waits = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = units.get(part[-1:], None)
        number = part[:-1] if scale is not None else part
        try:
            wait = float(number) * (scale or 1.0)
        except ValueError:
            raise ValueError(f"{part!r} is not a wait such as 30s, 5m or 2h") from None
        if not wait >= 0 or wait == float("inf"):
            raise ValueError(f"{part!r} is not a wait of 0 or more seconds")
        waits.append(wait)
    return tuple(waits)


@dataclass(frozen=True)
class SandboxSettings:
    """How one sandbox behaves: where it keeps data, who may call it, and which limits apply."""

    db_path: Path = DEFAULT_DB_PATH
    api_keys: tuple[str, ...] = (DEMO_API_KEY,)
    public_url: str = "http://127.0.0.1:8000"
    rate_limit: bool = True
    link_ttl_seconds: float | None = None
    supported_assets: Mapping[str, int] = field(default_factory=lambda: dict(ASSET_DECIMALS))
    validate_responses: bool = False
    creation_limit: int = CREATION_LIMIT_PER_MINUTE
    general_limit: int = GENERAL_LIMIT_PER_MINUTE
    rate_limit_window_seconds: float = RATE_LIMIT_WINDOW_SECONDS
    max_body_bytes: int = MAX_BODY_BYTES
    db_lock_timeout_seconds: float = DB_LOCK_TIMEOUT_SECONDS
    # Waits after each failed webhook delivery (PIK's: 5 min, 30 min, 2 h, 8 h, 24 h), and how
    # long a receiver has to answer.
    webhook_retry_schedule: tuple[float, ...] = WEBHOOK_RETRY_SCHEDULE
    webhook_timeout_seconds: float = WEBHOOK_TIMEOUT_SECONDS
    # What time it is, in seconds since the epoch, for link times, expiry and rate-limit
    # windows. None: the real clocks (the wall clock, and a monotonic one for the windows).
    clock: Callable[[], float] | None = None

    def __post_init__(self) -> None:
        if str(self.db_path) == ":memory:":
            raise ValueError(
                "the database must be a file: SQLite's :memory: gives every connection its own "
                "empty database"
            )
        if not self.api_keys:
            raise ValueError("at least one API key is needed")
        if any(not key or key != key.strip() for key in self.api_keys):
            raise ValueError("API keys must be non-empty and carry no surrounding spaces")
        if self.link_ttl_seconds is not None and not (
            math.isfinite(self.link_ttl_seconds) and self.link_ttl_seconds > 0
        ):
            raise ValueError(
                f"the link TTL must be a number of seconds above 0, not {self.link_ttl_seconds}"
            )
        if not (math.isfinite(self.db_lock_timeout_seconds) and self.db_lock_timeout_seconds > 0):
            raise ValueError(
                "the database lock timeout must be a number of seconds above 0, "
                f"not {self.db_lock_timeout_seconds}"
            )
        if not all(math.isfinite(wait) and wait >= 0 for wait in self.webhook_retry_schedule):
            raise ValueError("webhook retry waits must be numbers of seconds, 0 or more")
        if not (math.isfinite(self.webhook_timeout_seconds) and self.webhook_timeout_seconds > 0):
            raise ValueError("the webhook timeout must be a number of seconds above 0")
        if not self.supported_assets:
            raise ValueError("at least one supported asset is needed")
        # Imported here, so that the command line can read this module's defaults (for --help)
        # without the sandbox extra's dependencies, and say which extra to install.
        from pik_sandbox.spec import load_spec
        from pik_sandbox.validation import SchemaValidator

        currency = load_spec()["components"]["schemas"]["Currency"]
        for code, decimals in self.supported_assets.items():
            if not SchemaValidator(currency).is_valid(code):
                raise ValueError(
                    f"asset code {code!r} does not match openapi.yaml's currency pattern "
                    f"{currency['pattern']}"
                )
            if decimals < 0:
                raise ValueError(f"{code} cannot have a negative number of decimals")
        # A trailing slash would give checkout URLs with a double slash.
        object.__setattr__(self, "public_url", self.public_url.rstrip("/"))
