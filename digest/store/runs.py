"""A row per `digest run`: when, how it ended, and its report (for `digest status`)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any

from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    started_at  TEXT NOT NULL,
    finished_at TEXT,
    status      TEXT NOT NULL,
    report      TEXT
);
"""


def start(conn: sqlite3.Connection, at: datetime) -> int:
    """Record a new run. Called under the run lock, so a run still marked `running` was
    killed: it is marked `interrupted`."""
    with immediate(conn):
        conn.execute("UPDATE runs SET status = 'interrupted' WHERE status = 'running'")
        cur = conn.execute(
            "INSERT INTO runs (started_at, status) VALUES (?, 'running')", (at.isoformat(),)
        )
        return int(cur.lastrowid or 0)


def finish(
    conn: sqlite3.Connection, run_id: int, at: datetime, status: str, report: dict[str, Any]
) -> None:
    with immediate(conn):
        conn.execute(
            "UPDATE runs SET finished_at = ?, status = ?, report = ? WHERE id = ?",
            (at.isoformat(), status, json.dumps(report, default=str), run_id),
        )


def last(conn: sqlite3.Connection, limit: int = 10) -> list[dict[str, Any]]:
    rows = conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
    return [
        {
            "id": r["id"],
            "started_at": r["started_at"],
            "finished_at": r["finished_at"],
            "status": r["status"],
            "report": json.loads(r["report"]) if r["report"] else None,
        }
        for r in rows
    ]


def last_fingerprint(conn: sqlite3.Connection) -> str | None:
    """The config fingerprint of the last run that finished without failing."""
    row = conn.execute(
        "SELECT report FROM runs WHERE status IN ('ok', 'partial') AND report IS NOT NULL"
        " ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return (json.loads(row[0]) or {}).get("fingerprint")
