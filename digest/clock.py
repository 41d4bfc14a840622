"""The one place that reads the time. Everything else receives a Clock."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, datetime


class Clock:
    """Wall clock, overridable for reproducible builds with DIGEST_NOW (ISO 8601, aware)
    or SOURCE_DATE_EPOCH, the way MkDocs does for its build time."""

    def __init__(self, now: Callable[[], datetime] | None = None) -> None:
        self._now = now or _system_now

    def now(self) -> datetime:
        value = self._now()
        if value.tzinfo is None:
            raise ValueError("Clock returned a naive datetime; every datetime must be aware")
        # Always UTC: the state stores ISO strings and SQLite compares them as text.
        return value.astimezone(UTC)


class FixedClock(Clock):
    """A clock that stands still until moved: for tests and the scheduler's catch-up logic."""

    def __init__(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at
        super().__init__(lambda: self.at)

    def set(self, at: datetime) -> None:
        if at.tzinfo is None:
            raise ValueError("FixedClock needs an aware datetime")
        self.at = at


def _system_now() -> datetime:
    forced = os.environ.get("DIGEST_NOW")
    if forced:
        value = datetime.fromisoformat(forced)
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch:
        return datetime.fromtimestamp(int(epoch), tz=UTC)
    return datetime.now(UTC)


def system_clock() -> Clock:
    return Clock()
