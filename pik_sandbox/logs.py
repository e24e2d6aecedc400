"""A log that cannot leak a key or be forged.

Every line `pik-sandbox` writes, from any library's logger and at any level, goes through
RedactingFormatter: the configured API keys (also percent-encoded) and anything shaped like a PIK
secret key (`sk_...`) become `[redacted]` wherever they appear, and control characters are
escaped, so a client cannot end a line early and start a fake one. A traceback keeps its lines,
each continuation indented, so none of them can pass for an entry of its own.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from typing import Final
from urllib.parse import quote

REDACTED: Final = "[redacted]"
# A PIK secret key, or anything shaped like one: `sk_` then letters, digits, `_` or `-`, not as
# the tail of a longer word (`disk_usage` stays) unless a percent-escape ends just before it.
_KEY_SHAPED: Final = re.compile(r"(?:(?<![A-Za-z])|(?<=%[0-9A-Fa-f]{2}))sk_[A-Za-z0-9_\-]+")
# A key at least this long is taken out wherever it appears; a shorter one (a test's "k") only as
# a whole word, so that it does not eat every "k" of a line.
MIN_ANYWHERE_KEY_LENGTH: Final = 8
_CONTROL: Final = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_CONTINUATION: Final = "\n    "


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    return {"\n": "\\n", "\r": "\\r", "\t": "\\t"}.get(char, f"\\x{ord(char):02x}")


def escape_controls(text: str) -> str:
    """`text` on one line: control characters written as escapes (`\\n`, `\\x1b`)."""
    return _CONTROL.sub(_escaped, text)


class Redactor:
    """Takes keys out of text: the given ones, however encoded, and any that looks like one."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        forms: set[str] = set()
        for secret in secrets:
            if secret:
                forms |= {
                    secret,
                    quote(secret, safe=""),
                    "".join(f"%{byte:02X}" for byte in secret.encode()),
                    "".join(f"%{byte:02x}" for byte in secret.encode()),
                }
        # Longest first, so that a key containing another is taken out whole.
        alternatives = [
            re.escape(form)
            if len(form) >= MIN_ANYWHERE_KEY_LENGTH
            else rf"(?<![A-Za-z0-9]){re.escape(form)}(?![A-Za-z0-9])"
            for form in sorted(forms, key=len, reverse=True)
        ]
        self._pattern = re.compile("|".join([*alternatives, _KEY_SHAPED.pattern]))

    def __call__(self, text: str) -> str:
        """`text` with every key replaced by `[redacted]`."""
        return self._pattern.sub(REDACTED, text)

    def finds(self, text: str) -> bool:
        """Whether `text` holds anything `self` would take out."""
        return self._pattern.search(text) is not None

    def pieces(self, text: str) -> list[str]:
        """`text` cut where keys were, without them: joined by `[redacted]`, it is `self(text)`,
        and each piece can be encoded on its own."""
        return self._pattern.split(text)


class RedactingFormatter(logging.Formatter):
    """A formatter whose every line is free of keys and control characters."""

    def __init__(self, fmt: str, secrets: Iterable[str] = ()) -> None:
        super().__init__(fmt)
        self.redact = Redactor(secrets)

    def format(self, record: logging.LogRecord) -> str:
        """The record as one safe line (plus indented traceback lines)."""
        # A copy, so that other handlers still see the record as it was logged (cheaper than
        # logging.makeLogRecord, which builds a whole record first).
        copy = logging.LogRecord.__new__(logging.LogRecord)
        copy.__dict__.update(record.__dict__)
        copy.msg = escape_controls(record.getMessage())
        copy.args = None
        text = super().format(copy)
        lines = [escape_controls(line) for line in text.split("\n")]
        return self.redact(_CONTINUATION.join(lines))


def configure(level: str, secrets: Iterable[str], process: str | None = None) -> None:
    """Send every logger's records to stderr through RedactingFormatter, at `level` (replacing
    a handler an earlier call added); `process` names the writing process in every line (one
    of several workers)."""
    where = f"[{process}] " if process else ""
    handler = logging.StreamHandler()
    handler.setFormatter(
        RedactingFormatter(f"%(asctime)s %(levelname)s {where}%(name)s: %(message)s", secrets)
    )
    root = logging.getLogger()
    for existing in list(root.handlers):
        if isinstance(existing.formatter, RedactingFormatter):
            root.removeHandler(existing)
    root.addHandler(handler)
    root.setLevel(level.upper())
