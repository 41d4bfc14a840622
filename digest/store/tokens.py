"""The link tokens this state has issued: token -> subscriber key.

A manage/unsubscribe token is an HMAC of the address (digest.unsubscribe.make_token), so it
says nothing about whom it names; this table is how a token is read back. A row is written
when a digest's links are composed or when `digest serve` mails a link, and kept: an old
digest's unsubscribe link must keep working.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime

from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS link_tokens (
    token      TEXT PRIMARY KEY,
    email      TEXT NOT NULL,  -- the subscriber key: the address, lower-cased
    created_at TEXT NOT NULL
) WITHOUT ROWID;
"""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the table where db.open_db has not (a state opened before this module)."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def record(conn: sqlite3.Connection, token: str, email: str, at: datetime) -> None:
    """Remember that `token` names `email`. Reads first: a digest run re-issues the same
    token to every reader each time, and a read costs no write transaction."""
    if lookup(conn, token) == email:
        return
    ensure_schema(conn)
    with immediate(conn):
        conn.execute(
            "INSERT INTO link_tokens (token, email, created_at) VALUES (?, ?, ?)"
            " ON CONFLICT (token) DO UPDATE SET email = excluded.email",
            (token, email, at.astimezone(UTC).isoformat()),
        )


def lookup(conn: sqlite3.Connection, token: str) -> str | None:
    """The subscriber key a token was issued for, or None if this state never issued it."""
    try:
        row = conn.execute("SELECT email FROM link_tokens WHERE token = ?", (token,)).fetchone()
    except sqlite3.OperationalError:  # a state from before the table (opened read-only)
        return None
    return row[0] if row else None
