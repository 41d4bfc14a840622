"""A FetchContext for source tests: a real Http client with injected time (no real waits),
short timeouts, and optionally a state database for the HTTP cache."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from digest.clock import FixedClock
from digest.http import Http
from digest.sources import FetchContext
from tests.support.replay_server import FakeTime

NOW = datetime(2026, 6, 15, 7, 0, tzinfo=UTC)


def make_ctx(
    *, conn=None, known: set[str] | None = None, root: Path | None = None, **http_options
) -> tuple[FetchContext, FakeTime]:
    fake = FakeTime()
    clock = FixedClock(NOW)
    options = {"connect_timeout": 2.0, "read_timeout": 2.0, "total_timeout": 5.0, **http_options}
    ctx = FetchContext(
        clock=clock, conn=conn, known_ids=lambda _source=None: set(known or ()), root=root
    )
    ctx.http = Http(
        conn=conn,
        clock=clock,
        sleep=fake.sleep,
        monotonic=fake.monotonic,
        jitter=lambda: 0.5,
        db_lock=ctx.db_lock,
        **options,
    )
    return ctx, fake
