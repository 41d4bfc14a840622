"""Cached paper embeddings (similarity: semantic), so each paper is embedded once.

Embedding is the slow step (~15 abstracts/s on two CPU cores); with the cache a daily run
embeds only the papers it has not seen. Vectors are float32, stored as raw bytes, keyed by
paper id and model name (a different model never reuses another's vectors).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # numpy is imported only where vectors are used: start-up stays fast
    import numpy as np

from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS vectors (
    paper_id   TEXT NOT NULL,
    model      TEXT NOT NULL,
    dim        INTEGER NOT NULL,
    vector     BLOB NOT NULL,
    created_at TEXT NOT NULL,
    PRIMARY KEY (paper_id, model)
);
"""


def get(conn: sqlite3.Connection, model: str, ids: Sequence[str]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    ids = list(dict.fromkeys(ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"SELECT paper_id, dim, vector FROM vectors WHERE model = ? AND paper_id IN ({marks})",
            [model, *chunk],
        )
        for paper_id, dim, blob in rows:
            import numpy as np

            vec = np.frombuffer(blob, dtype=np.float32)
            if len(vec) == dim:  # a torn or foreign row is re-embedded, not trusted
                out[paper_id] = vec
    return out


def put(
    conn: sqlite3.Connection,
    model: str,
    vectors: Mapping[str, np.ndarray],
    at: datetime | None = None,
) -> None:
    stamp = (at or datetime.fromtimestamp(0, UTC)).isoformat()
    rows = []
    for paper_id, vec in vectors.items():
        import numpy as np

        arr = np.ascontiguousarray(vec, dtype=np.float32)
        rows.append((paper_id, model, int(arr.shape[0]), arr.tobytes(), stamp))
    with immediate(conn):
        conn.executemany(
            "INSERT INTO vectors (paper_id, model, dim, vector, created_at) VALUES (?,?,?,?,?)"
            " ON CONFLICT(paper_id, model) DO UPDATE SET dim = excluded.dim,"
            " vector = excluded.vector, created_at = excluded.created_at",
            rows,
        )


class VectorCache:
    """The cache bound to one connection and model, as digest.similar expects it."""

    def __init__(self, conn: sqlite3.Connection, model: str, at: datetime | None = None):
        self.conn, self.model, self.at = conn, model, at

    def get(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        return get(self.conn, self.model, ids)

    def put(self, vectors: Mapping[str, np.ndarray]) -> None:
        put(self.conn, self.model, vectors, self.at)
