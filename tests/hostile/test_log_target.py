"""The access log's short way for a plain path and query gives what its long way gives."""

from __future__ import annotations

import random

from pik_sandbox.middleware import _PLAIN_QUERY, _PLAIN_TARGET, SandboxMiddleware
from pik_sandbox.settings import SandboxSettings
from pik_sandbox.state import Sandbox
from pik_sandbox.store import PaymentLinkStore

KEYS = ("sk_test_logged_key", "k")
PIECES = [
    "v1", "payment-links", "pl_abc123", "a=b", "x", "_", "~", "-", ".", "%41", "+", "é", "sk_x",
    "sk_test_logged_key", "k", "=", "&", "!$'()*,;:@", " ", "\n", "disk_usage",
]  # fmt: skip


def test_plain_targets_are_logged_as_the_full_encoding_logs_them(tmp_path: object) -> None:
    settings = SandboxSettings(db_path=tmp_path / "s.sqlite3", api_keys=KEYS)  # type: ignore[operator]
    store = PaymentLinkStore(settings.db_path)
    try:
        middleware = SandboxMiddleware(lambda *_: None, Sandbox(settings=settings, store=store))  # type: ignore[arg-type]
        rng = random.Random(3)
        plain = 0
        for _ in range(5000):
            path = "/" + "/".join(rng.choice(PIECES) for _ in range(rng.randint(0, 4)))
            query = "&".join(rng.choice(PIECES) for _ in range(rng.randint(0, 3)))
            scope = {"path": path, "query_string": query.encode("utf-8")}
            logged = middleware._logged_target(scope)
            expected = middleware.encoded_target(path, query.encode("utf-8").decode("latin-1"))
            assert logged == expected, (path, query)
            plain += bool(_PLAIN_TARGET.fullmatch(path) and _PLAIN_QUERY.fullmatch(query))
        assert plain > 100  # the short way was taken, not only the long one
    finally:
        store.close()
