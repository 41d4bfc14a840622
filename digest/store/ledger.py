"""The per-subscriber paper ledger: a paper id is recorded for a subscriber only when a
digest containing it was delivered. Selection excludes these ids (never twice) and nothing
else (never skipped)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime

SCHEMA = """
CREATE TABLE IF NOT EXISTS sent_papers (
    subscriber TEXT NOT NULL,
    paper_id   TEXT NOT NULL,
    issue_id   TEXT NOT NULL,
    sent_at    TEXT NOT NULL,
    PRIMARY KEY (subscriber, paper_id)
) WITHOUT ROWID;
"""


def sent_ids(conn: sqlite3.Connection, subscriber: str) -> set[str]:
    rows = conn.execute("SELECT paper_id FROM sent_papers WHERE subscriber = ?", (subscriber,))
    return {r[0] for r in rows}


def sent_among(conn: sqlite3.Connection, subscriber: str, ids: Iterable[str]) -> set[str]:
    """Which of `ids` were already sent to the subscriber: indexed lookups of the candidates
    only, so the cost does not grow with the reader's history."""
    ids = list(ids)
    found: set[str] = set()
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT paper_id FROM sent_papers WHERE subscriber = ? AND paper_id IN ({marks})",
            (subscriber, *chunk),
        )
        found.update(r[0] for r in rows)
    return found


def record_sent(
    conn: sqlite3.Connection,
    subscriber: str,
    paper_ids: Iterable[str],
    issue_id: str,
    at: datetime,
) -> None:
    """Call inside the transaction that marks the delivery sent."""
    conn.executemany(
        "INSERT OR IGNORE INTO sent_papers (subscriber, paper_id, issue_id, sent_at) "
        "VALUES (?, ?, ?, ?)",
        [(subscriber, pid, issue_id, at.isoformat()) for pid in paper_ids],
    )
