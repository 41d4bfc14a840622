"""Which papers each issue's web version lists, accumulated over the runs of that issue, so
a second run on the same day adds to the archive page the first run's emails link to
instead of replacing it."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Mapping

from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS issue_papers (
    issue_id TEXT NOT NULL,
    topic    TEXT NOT NULL,
    paper_id TEXT NOT NULL,
    PRIMARY KEY (issue_id, topic, paper_id)
) WITHOUT ROWID;
"""


def add(conn: sqlite3.Connection, issue_id: str, papers: Mapping[str, Iterable[str]]) -> None:
    with immediate(conn):
        conn.executemany(
            "INSERT OR IGNORE INTO issue_papers (issue_id, topic, paper_id) VALUES (?, ?, ?)",
            [(issue_id, topic, pid) for topic, ids in papers.items() for pid in ids],
        )


def papers_of(conn: sqlite3.Connection, issue_id: str) -> dict[str, set[str]]:
    out: dict[str, set[str]] = {}
    rows = conn.execute("SELECT topic, paper_id FROM issue_papers WHERE issue_id = ?", (issue_id,))
    for topic, pid in rows:
        out.setdefault(topic, set()).add(pid)
    return out
