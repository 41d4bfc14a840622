"""The delivery ledger: one row per (subscriber, issue), its state, and the exact message
bytes, so a delivery resumed after a crash sends the same message (same Message-ID).

States: planned -> sending -> sent | temp-failed | perm-failed; cancelled (unsubscribed).
Every change is its own BEGIN IMMEDIATE transaction; `mark_sent` also records the papers in
the paper ledger in the same transaction.

A row is `sending` from just before its message is handed to the outbox until the outcome is
committed. A row found in `sending` by a later run was interrupted (a crash): it is pending and
resent with the same bytes, so a reader who did get it sees a duplicate with the same
Message-ID, which most mail clients fold into one.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, replace
from datetime import datetime

from digest.faults import fault
from digest.store.db import immediate
from digest.store.ledger import record_sent

SCHEMA = """
CREATE TABLE IF NOT EXISTS deliveries (
    subscriber      TEXT NOT NULL,
    issue_id        TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN
                    ('planned','sending','sent','temp-failed','perm-failed','cancelled')),
    method          TEXT NOT NULL,
    message_id      TEXT NOT NULL,
    paper_ids       TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    next_attempt_at TEXT,
    PRIMARY KEY (subscriber, issue_id)
);
CREATE INDEX IF NOT EXISTS deliveries_state ON deliveries (state);
CREATE INDEX IF NOT EXISTS deliveries_subscriber ON deliveries (subscriber, state, updated_at);
CREATE TABLE IF NOT EXISTS delivery_messages (
    subscriber TEXT NOT NULL,
    issue_id   TEXT NOT NULL,
    message    BLOB NOT NULL,
    UNIQUE (subscriber, issue_id)
);
"""
# The message bytes live in their own table: SQLite rewrites a whole row on UPDATE, so with
# the ~50 KB message inside it every state change would rewrite 50 KB. They are dropped in
# bulk (purge_messages) once their delivery is finished.

PENDING = ("planned", "sending", "temp-failed")


@dataclass(frozen=True, slots=True)
class LedgerRow:
    subscriber: str
    issue_id: str
    state: str
    method: str
    message_id: str
    paper_ids: tuple[str, ...]
    message: bytes | None
    attempts: int
    last_error: str | None
    created_at: datetime
    updated_at: datetime
    next_attempt_at: datetime | None


def _row(r: sqlite3.Row) -> LedgerRow:
    return LedgerRow(
        subscriber=r["subscriber"],
        issue_id=r["issue_id"],
        state=r["state"],
        method=r["method"],
        message_id=r["message_id"],
        paper_ids=tuple(json.loads(r["paper_ids"])),
        message=r["message"] if "message" in r.keys() else None,  # noqa: SIM118
        attempts=r["attempts"],
        last_error=r["last_error"],
        created_at=datetime.fromisoformat(r["created_at"]),
        updated_at=datetime.fromisoformat(r["updated_at"]),
        next_attempt_at=(
            datetime.fromisoformat(r["next_attempt_at"]) if r["next_attempt_at"] else None
        ),
    )


def plan(
    conn: sqlite3.Connection,
    *,
    subscriber: str,
    issue_id: str,
    method: str,
    message_id: str,
    paper_ids: tuple[str, ...],
    message: bytes | None,
    at: datetime,
) -> bool:
    """Insert a planned delivery. False if one already exists for (subscriber, issue), or
    if the address unsubscribed (checked in the same transaction: an opt-out that lands
    while a large fan-out is being composed still wins)."""
    with immediate(conn):
        if conn.execute("SELECT 1 FROM unsubscribed WHERE email = ?", (subscriber,)).fetchone():
            return False
        cur = conn.execute(
            "INSERT OR IGNORE INTO deliveries (subscriber, issue_id, state, method, message_id,"
            " paper_ids, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?)",
            (
                subscriber,
                issue_id,
                "planned",
                method,
                message_id,
                json.dumps(list(paper_ids)),
                at.isoformat(),
                at.isoformat(),
            ),
        )
        inserted = cur.rowcount == 1
        if inserted and message is not None:
            conn.execute(
                "INSERT OR REPLACE INTO delivery_messages (subscriber, issue_id, message)"
                " VALUES (?, ?, ?)",
                (subscriber, issue_id, message),
            )
    fault("after_plan")
    return inserted


def set_state(
    conn: sqlite3.Connection,
    subscriber: str,
    issue_id: str,
    state: str,
    at: datetime,
    *,
    error: str | None = None,
    next_attempt_at: datetime | None = None,
    count_attempt: bool | int = False,
) -> None:
    """Record a state change. `count_attempt`: True adds one attempt, an int adds that many."""
    with immediate(conn):
        conn.execute(
            "UPDATE deliveries SET state = ?, updated_at = ?, last_error = COALESCE(?, last_error),"
            " next_attempt_at = ?, attempts = attempts + ? WHERE subscriber = ? AND issue_id = ?"
            " AND state <> 'cancelled'",  # an unsubscribe wins over a late outcome
            (
                state,
                at.isoformat(),
                error,
                next_attempt_at.isoformat() if next_attempt_at else None,
                int(count_attempt),
                subscriber,
                issue_id,
            ),
        )


def restore(
    conn: sqlite3.Connection, row: LedgerRow, at: datetime, note: str, *, attempts: int = 0
) -> None:
    """Put a row marked `sending` back to the state it had (the batch was aborted before its
    message left: server down, login refused). The note becomes last_error."""
    state = row.state if row.state != "sending" else "planned"
    set_state(
        conn,
        row.subscriber,
        row.issue_id,
        state,
        at,
        error=note,
        next_attempt_at=row.next_attempt_at,
        count_attempt=attempts,
    )


def mark_sent(
    conn: sqlite3.Connection, subscriber: str, issue_id: str, at: datetime, *, attempts: int = 0
) -> None:
    """The delivery went out: mark it sent and record its papers, in one transaction.
    `attempts`: how many tries this run took (added to the row's count)."""
    with immediate(conn):
        row = conn.execute(
            "SELECT paper_ids FROM deliveries WHERE subscriber = ? AND issue_id = ?",
            (subscriber, issue_id),
        ).fetchone()
        # Only a row being sent becomes sent: one cancelled meanwhile (the reader left while
        # the message was on its way) stays cancelled. The papers did reach the reader, so
        # they are recorded either way.
        conn.execute(
            "UPDATE deliveries SET state = 'sent', updated_at = ?, last_error = NULL,"
            " next_attempt_at = NULL, attempts = attempts + ?"
            " WHERE subscriber = ? AND issue_id = ? AND state = 'sending'",
            (at.isoformat(), attempts, subscriber, issue_id),
        )
        if row is not None:
            record_sent(conn, subscriber, json.loads(row["paper_ids"]), issue_id, at)


def counts(conn: sqlite3.Connection, issue_id: str | None = None) -> dict[str, int]:
    """How many deliveries are in each state (of one issue, or all)."""
    sql = "SELECT state, COUNT(*) FROM deliveries"
    args: tuple[str, ...] = ()
    if issue_id is not None:
        sql += " WHERE issue_id = ?"
        args = (issue_id,)
    return {state: n for state, n in conn.execute(sql + " GROUP BY state", args)}


_COLUMNS = (
    "subscriber, issue_id, state, method, message_id, paper_ids, attempts, last_error,"
    " created_at, updated_at, next_attempt_at"
)


def pending(
    conn: sqlite3.Connection, subscriber: str | None = None, *, with_message: bool = True
) -> list[LedgerRow]:
    """Unfinished deliveries, oldest first. Without `with_message` the message bytes are
    left in the database (load them one at a time with `with_message_of`): a fan-out to
    100,000 readers must not hold every message in memory."""
    marks = ",".join("?" * len(PENDING))
    sql = f"SELECT {_COLUMNS} FROM deliveries AS d WHERE state IN ({marks})"
    args: list[object] = list(PENDING)
    if subscriber is not None:
        sql += " AND subscriber = ?"
        args.append(subscriber)
    rows = [_row(r) for r in conn.execute(sql + " ORDER BY created_at, subscriber", args)]
    return [with_message_of(conn, r) for r in rows] if with_message else rows


def with_message_of(conn: sqlite3.Connection, row: LedgerRow) -> LedgerRow:
    """The row with its stored message bytes."""
    found = conn.execute(
        "SELECT message FROM delivery_messages WHERE subscriber = ? AND issue_id = ?",
        (row.subscriber, row.issue_id),
    ).fetchone()
    return replace(row, message=found[0] if found else None)


def pending_paper_ids(conn: sqlite3.Connection, subscriber: str) -> set[str]:
    """Papers already promised to a subscriber by an unfinished delivery."""
    ids: set[str] = set()
    for row in pending(conn, subscriber, with_message=False):
        ids.update(row.paper_ids)
    return ids


def last_sent(conn: sqlite3.Connection, subscriber: str) -> LedgerRow | None:
    r = conn.execute(
        "SELECT * FROM deliveries WHERE subscriber = ? AND state = 'sent'"
        " ORDER BY updated_at DESC LIMIT 1",
        (subscriber,),
    ).fetchone()
    return _row(r) if r else None


def get(conn: sqlite3.Connection, subscriber: str, issue_id: str) -> LedgerRow | None:
    r = conn.execute(
        "SELECT * FROM deliveries WHERE subscriber = ? AND issue_id = ?", (subscriber, issue_id)
    ).fetchone()
    return with_message_of(conn, _row(r)) if r else None


def cancel_pending(conn: sqlite3.Connection, subscriber: str, at: datetime) -> int:
    """Cancel every unfinished delivery to a subscriber (they unsubscribed). A row being
    sent by a concurrent run right now may still go out; it is never retried after this."""
    marks = ",".join("?" * len(PENDING))
    with immediate(conn):
        cur = conn.execute(
            f"UPDATE deliveries SET state = 'cancelled', updated_at = ?"
            f" WHERE subscriber = ? AND state IN ({marks})",
            (at.isoformat(), subscriber, *PENDING),
        )
        return cur.rowcount


def purge_messages(conn: sqlite3.Connection) -> int:
    """Drop the stored bytes of every finished delivery (sent, failed for good, cancelled),
    in one transaction: cheaper than one delete per message while sending."""
    marks = ",".join("?" * len(PENDING))
    with immediate(conn):
        if not conn.execute(
            f"SELECT 1 FROM deliveries WHERE state IN ({marks}) LIMIT 1", PENDING
        ).fetchone():
            # Nothing pending: a DELETE without WHERE lets SQLite drop the table's pages
            # wholesale instead of row by row.
            return conn.execute("DELETE FROM delivery_messages").rowcount
        cur = conn.execute(
            "DELETE FROM delivery_messages WHERE NOT EXISTS (SELECT 1 FROM deliveries AS d"
            " WHERE d.subscriber = delivery_messages.subscriber"
            f" AND d.issue_id = delivery_messages.issue_id AND d.state IN ({marks}))",
            PENDING,
        )
        return cur.rowcount


def claim(conn: sqlite3.Connection, row: LedgerRow, at: datetime) -> bool:
    """Mark a row `sending` just before its message is handed over. False when it may no
    longer be sent: cancelled, already finished, or its reader unsubscribed since the batch
    began (the check and the change are one transaction)."""
    marks = ",".join("?" * len(PENDING))
    with immediate(conn):
        cur = conn.execute(
            "UPDATE deliveries SET state = 'sending', updated_at = ?"
            f" WHERE subscriber = ? AND issue_id = ? AND state IN ({marks})"
            " AND NOT EXISTS (SELECT 1 FROM unsubscribed WHERE email = deliveries.subscriber)",
            (at.isoformat(), row.subscriber, row.issue_id, *PENDING),
        )
        if cur.rowcount == 1:
            return True
        # An opt-out that arrived after the batch started: cancel the row for good.
        conn.execute(
            f"UPDATE deliveries SET state = 'cancelled', updated_at = ?"
            f" WHERE subscriber = ? AND issue_id = ? AND state IN ({marks})",
            (at.isoformat(), row.subscriber, row.issue_id, *PENDING),
        )
        return False


def period_state(conn: sqlite3.Connection, subscriber: str, issue_id: str) -> str | None:
    """The state of the subscriber's digest for this period (None: none, or cancelled): the
    one-digest-per-period rule, decided by the ledger, not by clock times."""
    row = conn.execute(
        "SELECT state FROM deliveries"
        " WHERE subscriber = ? AND issue_id = ? AND state <> 'cancelled'",
        (subscriber, issue_id),
    ).fetchone()
    return row[0] if row else None


def due_count(conn: sqlite3.Connection, now: datetime) -> int:
    """Pending rows that may be tried now (not waiting for a later retry)."""
    marks = ",".join("?" * len(PENDING))
    return conn.execute(
        f"SELECT COUNT(*) FROM deliveries WHERE state IN ({marks})"
        " AND (next_attempt_at IS NULL OR next_attempt_at <= ?)",
        (*PENDING, now.isoformat()),
    ).fetchone()[0]


def cancel_others(conn: sqlite3.Connection, keep: set[str], at: datetime) -> int:
    """Cancel the pending rows of readers who are no longer subscribers (removed from
    config.yaml, or a web subscription that ended): nobody is mailed after leaving."""
    marks = ",".join("?" * len(PENDING))
    rows = conn.execute(
        f"SELECT DISTINCT subscriber FROM deliveries WHERE state IN ({marks})", PENDING
    ).fetchall()
    gone = [r[0] for r in rows if r[0] not in keep]
    return sum(cancel_pending(conn, who, at) for who in gone)
