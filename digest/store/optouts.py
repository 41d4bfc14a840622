"""Unsubscribed addresses. An address here is never mailed again, even while it is still
listed in config.yaml; subscribing again through the web removes it (the web issue's job)."""

from __future__ import annotations

import sqlite3
from datetime import datetime

from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS unsubscribed (
    email   TEXT PRIMARY KEY,  -- the subscriber key: the address, lower-cased
    at      TEXT NOT NULL,
    source  TEXT NOT NULL      -- cli | link | mailto | web
) WITHOUT ROWID;
"""


def ensure_schema(conn: sqlite3.Connection) -> None:
    """Create the table where db.open_db has not (until SCHEMA_MODULES lists this module)."""
    for statement in SCHEMA.split(";"):
        if statement.strip():
            conn.execute(statement)


def add(conn: sqlite3.Connection, email: str, at: datetime, source: str = "cli") -> bool:
    """Record the opt-out. False if the address was already unsubscribed."""
    ensure_schema(conn)
    with immediate(conn):
        cur = conn.execute(
            "INSERT OR IGNORE INTO unsubscribed (email, at, source) VALUES (?, ?, ?)",
            (email.lower(), at.isoformat(), source),
        )
        return cur.rowcount == 1


def remove(conn: sqlite3.Connection, email: str) -> bool:
    ensure_schema(conn)
    with immediate(conn):
        cur = conn.execute("DELETE FROM unsubscribed WHERE email = ?", (email.lower(),))
        return cur.rowcount == 1


def is_unsubscribed(conn: sqlite3.Connection, email: str) -> bool:
    ensure_schema(conn)
    row = conn.execute("SELECT 1 FROM unsubscribed WHERE email = ?", (email.lower(),)).fetchone()
    return row is not None


def unsubscribed(conn: sqlite3.Connection) -> set[str]:
    ensure_schema(conn)
    return {r[0] for r in conn.execute("SELECT email FROM unsubscribed")}
