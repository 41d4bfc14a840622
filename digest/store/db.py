"""Open the state database and create every table the store modules declare.

Each store module has a `SCHEMA` string of `CREATE ... IF NOT EXISTS` statements; the list
below names them. Connections run in autocommit mode and every write goes through
`immediate()`, a `BEGIN IMMEDIATE` transaction, so two processes never interleave a change.
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCHEMA_MODULES = (
    "digest.store.ledger",
    "digest.store.papers",
    "digest.store.optouts",
    "digest.store.deliveries",
    "digest.store.runs",
    "digest.store.feeds",
    "digest.store.http_cache",
    "digest.store.subscribers",
    "digest.store.vectors",
    "digest.store.tokens",
    "digest.store.issues",
)


def open_db(path: str | Path) -> sqlite3.Connection:
    """Open (and create or migrate) the state. A file that is not a digest state gives a
    StateError that says so, not a traceback."""
    try:
        return _open(Path(path))
    except sqlite3.DatabaseError as exc:
        from digest.errors import StateError

        raise StateError(
            f"the state file {str(path)!r} cannot be used: {exc}",
            hint="is `state:` pointing at another file? Point it at a new path, or move "
            "that file away (a new state means every paper counts as new)",
        ) from None


def _open(path: Path) -> sqlite3.Connection:
    if str(path) != ":memory:":
        path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(str(path), isolation_level=None, timeout=30.0, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA journal_mode=WAL")
    # WAL + NORMAL: a commit survives a crash of the process (SIGKILL included); only a
    # power cut can lose the last commits, and the ledger is built so that this can only
    # resend a digest with the same Message-ID, never lose one. FULL would fsync on every
    # commit: a 100,000-reader send pays that twice per message.
    conn.execute("PRAGMA synchronous=NORMAL")
    conn.execute("PRAGMA foreign_keys=ON")
    conn.execute("PRAGMA busy_timeout=30000")
    with immediate(conn):
        for name in SCHEMA_MODULES:
            try:
                module = importlib.import_module(name)
            except ModuleNotFoundError as exc:
                if exc.name == name:
                    continue  # that part of the store is not built (yet)
                raise
            for statement in module.SCHEMA.split(";"):
                if statement.strip():
                    conn.execute(statement)
    return conn


@contextmanager
def immediate(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """A write transaction taken with BEGIN IMMEDIATE; committed on success."""
    if conn.in_transaction:  # nested use joins the outer transaction
        yield conn
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
