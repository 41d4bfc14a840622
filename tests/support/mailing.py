"""Helpers for delivery tests: a config pointing at a local server, planned ledger rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from digest.clock import FixedClock
from digest.config import parse
from digest.message import Envelope, build_message, make_message_id
from digest.store import deliveries
from digest.store.db import open_db

T0 = datetime(2026, 12, 1, 7, 0, tzinfo=UTC)
SENDER = "Paper Digest <digest@example.org>"


def smtp_config(port: int, root: Path, **smtp):
    raw = {
        "delivery": {"method": "smtp", "from": SENDER},
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5, **smtp},
    }
    return parse(raw, root=root)


def message_for(address: str, issue_id: str = "2026-12-01", title: str = "Papers") -> bytes:
    env = Envelope(
        subject=f"Trending Papers: {title}",
        sender=SENDER,
        to_addr=address,
        to_name="",
        message_id=make_message_id(address, issue_id, "example.org"),
        date=T0,
        list_id="Trending Papers <trending.example.org>",
        unsubscribe_mailto="unsubscribe@example.org",
    )
    return build_message(env, f"Hello {address}\n", f"<p>Hello {address}</p>")


def plan_rows(conn, addresses, issue_id: str = "2026-12-01", at: datetime = T0) -> None:
    for i, address in enumerate(addresses):
        deliveries.plan(
            conn,
            subscriber=address,
            issue_id=issue_id,
            method="smtp",
            message_id=make_message_id(address, issue_id, "example.org"),
            paper_ids=(f"arxiv:2612.{i:05d}",),
            message=message_for(address, issue_id),
            at=at,
        )


def state_db(path: Path):
    return open_db(path)


def clock(at: datetime = T0) -> FixedClock:
    return FixedClock(at)
