"""Per-key request limits over a rolling window, as PIK applies them."""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable


class RollingWindowLimiter:
    """At most `limit` events per key within any `window_seconds`."""

    def __init__(
        self,
        limit: int,
        window_seconds: float,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """A limiter allowing `limit` events per key in every window of `window_seconds`."""
        self.limit = limit
        self.window_seconds = window_seconds
        self._clock = clock
        self._events: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str) -> int | None:
        """Count one event for `key`: None when allowed, else whole seconds until one would be."""
        now = self._clock()
        with self._lock:
            events = self._events.setdefault(key, deque())
            horizon = now - self.window_seconds
            while events and events[0] <= horizon:
                events.popleft()
            if len(events) < self.limit:
                events.append(now)
                return None
            # Rounded up, and at least 1, so a client that waits exactly this long succeeds.
            return max(1, math.ceil(events[0] - horizon))
