"""Subscribers who came through the web (`digest serve`), beside those of config.yaml.

A row goes pending -> confirmed (double opt-in) -> unsubscribed; a pending row older than
`confirm_hours` has expired and is never served. `nonce` (random, 96 bits) is the request's
opaque id, the only thing a confirmation link carries; it changes each time a new
confirmation is sent, so an old confirmation link cannot bring back an address that has
since unsubscribed. Only `active()` feeds the pipeline: confirmed rows, nothing else.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

from digest.models import Cadence, Subscriber
from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS web_subscribers (
    email           TEXT PRIMARY KEY,
    address         TEXT NOT NULL,
    topics          TEXT NOT NULL DEFAULT '[]',
    cadence         TEXT NOT NULL DEFAULT 'daily' CHECK (cadence IN ('daily','weekly')),
    state           TEXT NOT NULL CHECK (state IN ('pending','confirmed','unsubscribed')),
    nonce           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    requested_at    TEXT NOT NULL,
    confirmed_at    TEXT,
    updated_at      TEXT NOT NULL,
    unsubscribed_at TEXT
);
CREATE INDEX IF NOT EXISTS web_subscribers_state ON web_subscribers (state);
CREATE INDEX IF NOT EXISTS web_subscribers_nonce ON web_subscribers (nonce);
"""

State = Literal["pending", "confirmed", "unsubscribed"]


@dataclass(frozen=True, slots=True)
class WebSubscriber:
    """One row. `email` is the key (lower-cased); `address` is the normalised address as typed."""

    email: str
    address: str
    topics: tuple[str, ...]
    cadence: Cadence
    state: State
    nonce: str
    created_at: datetime
    requested_at: datetime  # when the last confirmation was asked for
    confirmed_at: datetime | None
    updated_at: datetime
    unsubscribed_at: datetime | None

    def expired(self, now: datetime, confirm_hours: float) -> bool:
        return self.state == "pending" and now - self.requested_at > timedelta(hours=confirm_hours)

    @property
    def since(self) -> datetime:
        """When the row entered its current state."""
        if self.state == "confirmed" and self.confirmed_at:
            return self.confirmed_at
        if self.state == "unsubscribed" and self.unsubscribed_at:
            return self.unsubscribed_at
        return self.requested_at

    def to_subscriber(self) -> Subscriber:
        return Subscriber(
            email=self.address, topics=self.topics, cadence=self.cadence, origin="web"
        )


def _iso(at: datetime) -> str:
    # Stored in UTC so that text comparison in SQL orders the times correctly.
    if at.tzinfo is None:
        raise ValueError(f"naive datetime {at!r}")
    return at.astimezone(UTC).isoformat()


def _dt(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def _row(r: sqlite3.Row) -> WebSubscriber:
    return WebSubscriber(
        email=r["email"],
        address=r["address"],
        topics=tuple(json.loads(r["topics"])),
        cadence=r["cadence"],
        state=r["state"],
        nonce=r["nonce"],
        created_at=datetime.fromisoformat(r["created_at"]),
        requested_at=datetime.fromisoformat(r["requested_at"]),
        confirmed_at=_dt(r["confirmed_at"]),
        updated_at=datetime.fromisoformat(r["updated_at"]),
        unsubscribed_at=_dt(r["unsubscribed_at"]),
    )


def get(conn: sqlite3.Connection, email: str) -> WebSubscriber | None:
    r = conn.execute("SELECT * FROM web_subscribers WHERE email = ?", (email.lower(),)).fetchone()
    return _row(r) if r else None


def by_nonce(conn: sqlite3.Connection, nonce: str) -> WebSubscriber | None:
    """The row whose current request `nonce` is: how a confirmation link, which carries
    only the nonce, finds its address. None once a newer request or an unsubscribe has
    replaced the nonce."""
    r = conn.execute("SELECT * FROM web_subscribers WHERE nonce = ?", (nonce,)).fetchone()
    return _row(r) if r else None


def all_rows(conn: sqlite3.Connection) -> list[WebSubscriber]:
    return [_row(r) for r in conn.execute("SELECT * FROM web_subscribers ORDER BY email")]


def active(conn: sqlite3.Connection) -> list[Subscriber]:
    """Confirmed, still-subscribed web subscribers: the only ones a digest goes to."""
    rows = conn.execute("SELECT * FROM web_subscribers WHERE state = 'confirmed' ORDER BY email")
    return [_row(r).to_subscriber() for r in rows]


def request(
    conn: sqlite3.Connection,
    address: str,
    topics: tuple[str, ...],
    cadence: Cadence,
    at: datetime,
) -> WebSubscriber:
    """Record a (new) subscribe request as pending with a fresh nonce. A confirmed row is
    left untouched: only its owner may change it, from the manage page."""
    key = address.lower()
    nonce = secrets.token_urlsafe(12)
    stamp = _iso(at)
    with immediate(conn):
        current = get(conn, key)
        if current is not None and current.state == "confirmed":
            return current
        conn.execute(
            """INSERT INTO web_subscribers
               (email, address, topics, cadence, state, nonce, created_at, requested_at,
                updated_at)
               VALUES (?, ?, ?, ?, 'pending', ?, ?, ?, ?)
               ON CONFLICT (email) DO UPDATE SET
                 address = excluded.address, topics = excluded.topics,
                 cadence = excluded.cadence, state = 'pending', nonce = excluded.nonce,
                 requested_at = excluded.requested_at, updated_at = excluded.updated_at,
                 confirmed_at = NULL, unsubscribed_at = NULL""",
            (key, address, json.dumps(list(topics)), cadence, nonce, stamp, stamp, stamp),
        )
    found = get(conn, key)
    assert found is not None
    return found


ConfirmResult = Literal["confirmed", "already", "stale"]


def confirm(conn: sqlite3.Connection, email: str, nonce: str, at: datetime) -> ConfirmResult:
    """Confirm the pending request that `nonce` belongs to. Clicking the same link again
    is harmless ("already"); a link of an older request, or one for an address that has
    unsubscribed since, is "stale" and changes nothing."""
    with immediate(conn):
        row = get(conn, email)
        if row is None or row.nonce != nonce:
            return "stale"
        if row.state == "confirmed":
            return "already"
        if row.state != "pending":
            return "stale"
        conn.execute(
            "UPDATE web_subscribers SET state = 'confirmed', confirmed_at = ?, updated_at = ? "
            "WHERE email = ?",
            (_iso(at), _iso(at), row.email),
        )
    return "confirmed"


def update(
    conn: sqlite3.Connection, email: str, topics: tuple[str, ...], cadence: Cadence, at: datetime
) -> bool:
    """Change a confirmed subscriber's topics and cadence. False if there is none."""
    with immediate(conn):
        cur = conn.execute(
            "UPDATE web_subscribers SET topics = ?, cadence = ?, updated_at = ? "
            "WHERE email = ? AND state = 'confirmed'",
            (json.dumps(list(topics)), cadence, _iso(at), email.lower()),
        )
    return cur.rowcount > 0


def unsubscribe(conn: sqlite3.Connection, email: str, at: datetime) -> bool:
    """Mark the row unsubscribed (a new nonce retires every confirmation link).
    False if the address has no web row."""
    with immediate(conn):
        cur = conn.execute(
            "UPDATE web_subscribers SET state = 'unsubscribed', unsubscribed_at = ?, "
            "updated_at = ?, nonce = ? WHERE email = ? AND state != 'unsubscribed'",
            (_iso(at), _iso(at), secrets.token_urlsafe(12), email.lower()),
        )
    return cur.rowcount > 0


def purge_expired(conn: sqlite3.Connection, now: datetime, confirm_hours: float) -> int:
    """Forget pending requests nobody confirmed in time (they were never subscribers)."""
    cutoff = _iso(now - timedelta(hours=confirm_hours))
    with immediate(conn):
        cur = conn.execute(
            "DELETE FROM web_subscribers WHERE state = 'pending' AND requested_at < ?", (cutoff,)
        )
    return cur.rowcount
