"""Feed history and the archive's list of issues.

Feeds accumulate entries across runs (each entry rendered once, when its paper first appears
in that feed) and keep the newest `max_entries`. `feed_state` remembers a hash of each feed's
content and when it last changed, so `updated` / `lastBuildDate` move only when the content
does. `archive_issues` lists the issues the web archive has pages for.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

SCHEMA = """
CREATE TABLE IF NOT EXISTS feed_entries (
    feed      TEXT NOT NULL,
    entry_id  TEXT NOT NULL,
    added_at  TEXT NOT NULL,
    issue_id  TEXT NOT NULL,
    rank      INTEGER NOT NULL,
    data      TEXT NOT NULL,
    PRIMARY KEY (feed, entry_id)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS feed_entries_order ON feed_entries (feed, added_at DESC, rank);
CREATE TABLE IF NOT EXISTS feed_state (
    feed         TEXT PRIMARY KEY,
    content_hash TEXT NOT NULL,
    updated      TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS archive_issues (
    issue_id     TEXT PRIMARY KEY,
    date         TEXT NOT NULL,
    generated_at TEXT NOT NULL,
    title        TEXT NOT NULL,
    papers       INTEGER NOT NULL,
    topics       TEXT NOT NULL
);
"""


def _ts(at: datetime) -> str:
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    # Fixed-width UTC text so that SQL string order is time order.
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f+00:00")


def _dt(value: str) -> datetime:
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class FeedEntry:
    entry_id: str
    added_at: datetime
    issue_id: str
    rank: int
    data: dict[str, Any]


def add_entries(
    conn: sqlite3.Connection,
    feed: str,
    entries: Iterable[tuple[str, dict[str, Any]]],
    issue_id: str,
    at: datetime,
) -> int:
    """Add (entry_id, data) pairs not already in the feed; returns how many were new."""
    before = conn.total_changes
    conn.executemany(
        "INSERT OR IGNORE INTO feed_entries (feed, entry_id, added_at, issue_id, rank, data) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [
            (feed, eid, _ts(at), issue_id, rank, json.dumps(data, sort_keys=True))
            for rank, (eid, data) in enumerate(entries)
        ],
    )
    return conn.total_changes - before


def known_ids(conn: sqlite3.Connection, feed: str) -> set[str]:
    return {r[0] for r in conn.execute("SELECT entry_id FROM feed_entries WHERE feed = ?", (feed,))}


def trim(conn: sqlite3.Connection, feed: str, keep: int) -> None:
    conn.execute(
        "DELETE FROM feed_entries WHERE feed = ? AND entry_id NOT IN ("
        " SELECT entry_id FROM feed_entries WHERE feed = ?"
        " ORDER BY added_at DESC, rank ASC LIMIT ?)",
        (feed, feed, keep),
    )


def entries(conn: sqlite3.Connection, feed: str, limit: int) -> list[FeedEntry]:
    """Newest first; within one run, in rank order."""
    rows = conn.execute(
        "SELECT entry_id, added_at, issue_id, rank, data FROM feed_entries WHERE feed = ?"
        " ORDER BY added_at DESC, rank ASC LIMIT ?",
        (feed, limit),
    )
    return [FeedEntry(r[0], _dt(r[1]), r[2], r[3], json.loads(r[4])) for r in rows]


def touch(conn: sqlite3.Connection, feed: str, content_hash: str, at: datetime) -> datetime:
    """The feed's `updated` time: unchanged while its content hash is, else `at`."""
    row = conn.execute(
        "SELECT content_hash, updated FROM feed_state WHERE feed = ?", (feed,)
    ).fetchone()
    if row is not None and row[0] == content_hash:
        return _dt(row[1])
    conn.execute(
        "INSERT INTO feed_state (feed, content_hash, updated) VALUES (?, ?, ?) "
        "ON CONFLICT(feed) DO UPDATE SET content_hash = excluded.content_hash, "
        "updated = excluded.updated",
        (feed, content_hash, _ts(at)),
    )
    return _dt(_ts(at))


@dataclass(frozen=True, slots=True)
class ArchivedIssue:
    issue_id: str
    date: str
    generated_at: datetime
    title: str
    papers: int
    topics: tuple[str, ...]


def record_issue(
    conn: sqlite3.Connection,
    issue_id: str,
    day: str,
    at: datetime,
    title: str,
    papers: int,
    topics: list[str],
) -> None:
    conn.execute(
        "INSERT INTO archive_issues (issue_id, date, generated_at, title, papers, topics) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(issue_id) DO UPDATE SET date = excluded.date, "
        "generated_at = excluded.generated_at, title = excluded.title, "
        "papers = excluded.papers, topics = excluded.topics",
        (issue_id, day, _ts(at), title, papers, json.dumps(topics)),
    )


def issues(conn: sqlite3.Connection) -> list[ArchivedIssue]:
    """Newest first."""
    rows = conn.execute(
        "SELECT issue_id, date, generated_at, title, papers, topics FROM archive_issues "
        "ORDER BY generated_at DESC, issue_id DESC"
    )
    return [ArchivedIssue(r[0], r[1], _dt(r[2]), r[3], r[4], tuple(json.loads(r[5]))) for r in rows]
