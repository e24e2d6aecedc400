"""Per-key request limits over a rolling window, as PIK applies them, held in memory that the
worker processes of one `pik-sandbox` command share, so that a key's limit is the same whichever
worker a request reaches."""

from __future__ import annotations

import logging
import math
import mmap
import time
from collections.abc import Callable, Iterable

from pik_sandbox.workers import process_lock

logger = logging.getLogger("pik_sandbox.ratelimit")

# Each key's cells, as doubles: where its oldest event is in its ring, how many events the
# ring holds, then the ring itself (`limit` event times, oldest first from `start`).
_START, _COUNT, _RING = 0, 1, 2
_CELL_BYTES = 8
# The lock is held for a few microseconds. Not getting it in this long means a worker process
# ended while holding it: requests are then let through uncounted rather than held up forever.
_LOCK_WAIT_SECONDS = 0.1


class RollingWindowLimiter:
    """At most `limit` events per key within any `window_seconds`, for the keys given.

    The events live in an anonymous shared mapping and a process-shared lock guards them, both
    made here: processes forked after this limiter is built count against the same limits.
    `clock` must tell all of them the same time (the default, a monotonic clock, does).
    """

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        keys: Iterable[str],
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A limiter allowing `limit` events per key in every window of `window_seconds`."""
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._slots = {key: slot for slot, key in enumerate(dict.fromkeys(keys))}
        self._stride = _RING + max(limit, 0)
        self._memory = mmap.mmap(-1, max(len(self._slots) * self._stride, 1) * _CELL_BYTES)
        self._cells = memoryview(self._memory).cast("d")
        self._lock = process_lock()
        self._lock_lost = False

    def acquire(self, key: str) -> int | None:
        """Count one event for `key`: None when allowed, else whole seconds until one would be."""
        try:
            base = self._slots[key] * self._stride
        except KeyError:
            raise KeyError(f"{key!r} is not one of this limiter's keys") from None
        limit = self.limit
        if limit <= 0:
            return max(1, math.ceil(self.window_seconds))
        cells = self._cells
        ring = base + _RING
        now = self._clock()
        horizon = now - self.window_seconds
        if not self._lock.acquire(timeout=_LOCK_WAIT_SECONDS):
            if not self._lock_lost:
                self._lock_lost = True
                logger.error("the rate limits' lock stays taken; requests are no longer counted")
            return None
        try:
            start = int(cells[base + _START])
            count = int(cells[base + _COUNT])
            while count and cells[ring + start] <= horizon:
                start = (start + 1) % limit
                count -= 1
            cells[base + _START] = start
            if count < limit:
                cells[ring + (start + count) % limit] = now
                cells[base + _COUNT] = count + 1
                return None
            cells[base + _COUNT] = count
            oldest = cells[ring + start]
        finally:
            self._lock.release()
        # Rounded up, and at least 1, so a client that waits exactly this long succeeds.
        return max(1, math.ceil(oldest - horizon))
