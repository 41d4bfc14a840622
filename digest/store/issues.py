"""Which papers each issue's web version lists, with the score and reasons they were listed
with, accumulated over the runs of that issue: a second run on the same day adds to the
archive page the first run's emails link to, and never drops what those emails showed."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence

from digest.models import Match, Reason
from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS issue_papers (
    issue_id TEXT NOT NULL,
    topic    TEXT NOT NULL,
    paper_id TEXT NOT NULL,
    score    REAL NOT NULL,
    reasons  TEXT NOT NULL,
    PRIMARY KEY (issue_id, topic, paper_id)
) WITHOUT ROWID;
"""


def add(conn: sqlite3.Connection, issue_id: str, matches: Iterable[Match]) -> None:
    rows = [
        (
            issue_id,
            m.topic,
            m.paper.id,
            m.score,
            json.dumps([[r.kind, r.text, r.field] for r in m.reasons], ensure_ascii=False),
        )
        for m in matches
    ]
    with immediate(conn):
        conn.executemany(
            "INSERT OR IGNORE INTO issue_papers (issue_id, topic, paper_id, score, reasons)"
            " VALUES (?, ?, ?, ?, ?)",
            rows,
        )


def page(conn: sqlite3.Connection, issue_id: str, topics: Sequence[str]) -> dict[str, list[Match]]:
    """Every listed paper of the issue, by topic (in `topics` order), best first."""
    from digest.store.papers import from_json

    rows = conn.execute(
        "SELECT i.topic, i.score, i.reasons, p.data FROM issue_papers AS i"
        " JOIN papers AS p ON p.id = i.paper_id WHERE i.issue_id = ?",
        (issue_id,),
    )
    out: dict[str, list[Match]] = {name: [] for name in topics}
    for topic, score, reasons, data in rows:
        if topic in out:
            why = tuple(Reason(*r) for r in json.loads(reasons))
            out[topic].append(Match(from_json(data), topic, score, why))
    for matches in out.values():
        matches.sort(key=lambda m: (-m.score, m.paper.title))
    return out
