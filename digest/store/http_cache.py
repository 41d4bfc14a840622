"""Validators (ETag / Last-Modified) and the last body of each URL fetched with a cache, so
an unchanged feed costs a 304 and still yields the papers it held last time.

Not thread-safe by itself: sources fetch in parallel threads over one sqlite connection, so
digest.http.Http calls these under its `db_lock` (the FetchContext's)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS http_cache (
    url           TEXT PRIMARY KEY,
    etag          TEXT,
    last_modified TEXT,
    content_type  TEXT,
    body          BLOB NOT NULL,
    fetched_at    TEXT NOT NULL
);
"""


@dataclass(frozen=True, slots=True)
class CachedResponse:
    url: str
    etag: str | None
    last_modified: str | None
    content_type: str | None
    body: bytes
    fetched_at: str


def get(conn: sqlite3.Connection, url: str) -> CachedResponse | None:
    row = conn.execute(
        "SELECT url, etag, last_modified, content_type, body, fetched_at FROM http_cache "
        "WHERE url = ?",
        (url,),
    ).fetchone()
    if row is None:
        return None
    return CachedResponse(row[0], row[1], row[2], row[3], bytes(row[4]), row[5])


def put(
    conn: sqlite3.Connection,
    url: str,
    *,
    etag: str | None,
    last_modified: str | None,
    content_type: str | None,
    body: bytes,
    at: datetime,
) -> None:
    with immediate(conn):
        conn.execute(
            "INSERT INTO http_cache (url, etag, last_modified, content_type, body, fetched_at) "
            "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(url) DO UPDATE SET etag = excluded.etag, "
            "last_modified = excluded.last_modified, content_type = excluded.content_type, "
            "body = excluded.body, fetched_at = excluded.fetched_at",
            (url, etag, last_modified, content_type, body, at.isoformat()),
        )


def forget(conn: sqlite3.Connection, url: str) -> None:
    with immediate(conn):
        conn.execute("DELETE FROM http_cache WHERE url = ?", (url,))
