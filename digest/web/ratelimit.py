"""An in-memory sliding-window rate limit: at most `limit` hits per key per window.

Kept in the process (a restart forgets it): it only has to stop one client from using the
subscribe form to flood inboxes. The clock is injected so tests move time instead of sleeping.
"""

from __future__ import annotations

import threading
from collections import deque
from datetime import datetime, timedelta

from digest.clock import Clock

MAX_KEYS = 100_000  # bounds memory if many clients pass by


class RateLimiter:
    def __init__(self, limit: int, window: timedelta, clock: Clock) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[datetime]] = {}
        self._lock = threading.Lock()

    def hit(self, key: str) -> float | None:
        """Count one hit. None when allowed; else the seconds until the next one is."""
        now = self.clock.now()
        with self._lock:
            if len(self._hits) >= MAX_KEYS:
                self._sweep(now)
            hits = self._hits.setdefault(key, deque())
            while hits and now - hits[0] >= self.window:
                hits.popleft()
            if len(hits) >= self.limit:
                return max(1.0, (hits[0] + self.window - now).total_seconds())
            hits.append(now)
            return None

    def _sweep(self, now: datetime) -> None:
        for key in [k for k, h in self._hits.items() if not h or now - h[-1] >= self.window]:
            del self._hits[key]
        if len(self._hits) >= MAX_KEYS:  # still full: forget the oldest half
            for key in list(self._hits)[: MAX_KEYS // 2]:
                del self._hits[key]
