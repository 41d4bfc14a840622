"""Every paper the sources brought, with when it was first seen. Selection draws from the
papers of this run plus those first seen within the look-back window, so a paper whose
delivery failed, or that arrived while a subscriber was not due, is still sent later."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import asdict, fields
from datetime import datetime

from digest.models import Paper
from digest.store.db import immediate

SCHEMA = """
CREATE TABLE IF NOT EXISTS papers (
    id            TEXT PRIMARY KEY,
    data          TEXT NOT NULL,
    title_key     TEXT NOT NULL,
    doi           TEXT,
    first_seen_at TEXT NOT NULL,
    last_seen_at  TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS papers_first_seen ON papers (first_seen_at);
CREATE INDEX IF NOT EXISTS papers_title_key ON papers (title_key);
CREATE INDEX IF NOT EXISTS papers_doi ON papers (doi) WHERE doi IS NOT NULL;
CREATE TABLE IF NOT EXISTS source_papers (
    source   TEXT NOT NULL,
    paper_id TEXT NOT NULL,
    PRIMARY KEY (source, paper_id)
) WITHOUT ROWID;
"""

_TUPLES = {f.name for f in fields(Paper) if f.type.startswith("tuple")}
_DATES = ("published", "updated")


def to_json(paper: Paper) -> str:
    data = asdict(paper)
    for key in _DATES:
        if data[key] is not None:
            data[key] = data[key].isoformat()
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def from_json(text: str) -> Paper:
    data = json.loads(text)
    for key in _TUPLES:
        data[key] = tuple(data.get(key) or ())
    for key in _DATES:
        if data.get(key):
            data[key] = datetime.fromisoformat(data[key])
    known = {f.name for f in fields(Paper)}
    return Paper(**{k: v for k, v in data.items() if k in known})


def upsert(
    conn: sqlite3.Connection, papers: Iterable[Paper], at: datetime
) -> tuple[dict[str, datetime], set[str]]:
    """Store this run's papers (newer data wins); returns each id's first-seen time and the
    ids that were not stored before (new to the state, whatever the clock says)."""
    from digest.normalize import title_key

    papers = list(papers)
    known = set(first_seen(conn, [p.id for p in papers]))

    stamp = at.isoformat()
    rows = [
        (p.id, to_json(p), title_key(p.title), (p.doi or "").lower() or None, stamp, stamp)
        for p in papers
    ]
    with immediate(conn):
        conn.executemany(
            "INSERT INTO papers (id, data, title_key, doi, first_seen_at, last_seen_at)"
            " VALUES (?,?,?,?,?,?) ON CONFLICT(id) DO UPDATE SET data = excluded.data,"
            " title_key = excluded.title_key, doi = COALESCE(excluded.doi, papers.doi),"
            " last_seen_at = excluded.last_seen_at",
            rows,
        )
    return first_seen(conn, [r[0] for r in rows]), {p.id for p in papers} - known


def first_seen(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        marks = ",".join("?" * len(chunk))
        for r in conn.execute(f"SELECT id, first_seen_at FROM papers WHERE id IN ({marks})", chunk):
            out[r[0]] = datetime.fromisoformat(r[1])
    return out


def recent(conn: sqlite3.Connection, since: datetime) -> list[tuple[Paper, datetime]]:
    rows = conn.execute(
        "SELECT data, first_seen_at FROM papers WHERE first_seen_at >= ? ORDER BY first_seen_at",
        (since.isoformat(),),
    )
    return [(from_json(r[0]), datetime.fromisoformat(r[1])) for r in rows]


def resolve_ids(conn: sqlite3.Connection, papers: Sequence[Paper]) -> list[Paper]:
    """Give each incoming paper the id it was first stored under, when the same paper is
    already known under another id (a journal's DOI yesterday, arXiv's id today; a title-only
    record and the arXiv record of the same title). The ledgers are keyed by id, so this is
    what keeps a paper from being sent twice across runs. The fields are merged."""
    from dataclasses import replace

    from digest.normalize import merge_papers, title_key

    out = []
    for paper in papers:
        if conn.execute("SELECT 1 FROM papers WHERE id = ?", (paper.id,)).fetchone():
            out.append(paper)
            continue
        row = None
        if paper.doi:
            row = conn.execute(
                "SELECT data FROM papers WHERE doi = ? LIMIT 1", (paper.doi.lower(),)
            ).fetchone()
        if row is None and paper.url:
            # Known before by its link alone (a feed entry), now with a better id.
            row = conn.execute(
                "SELECT data FROM papers WHERE id = ?", (f"url:{paper.url}",)
            ).fetchone()
        if row is None:
            # Titles only identify a paper when one side has nothing better (a title id).
            row = conn.execute(
                "SELECT data FROM papers WHERE title_key = ? AND (? OR id LIKE 'title:%')"
                " ORDER BY first_seen_at LIMIT 1",
                (title_key(paper.title), paper.id.startswith("title:")),
            ).fetchone()
        if row is None:
            out.append(paper)
            continue
        stored = from_json(row[0])
        merged = merge_papers([stored, paper])
        out.append(replace(merged[0] if len(merged) == 1 else paper, id=stored.id))
    return out


def record_source(conn: sqlite3.Connection, source: str, ids: Iterable[str]) -> None:
    """Remember which papers a source brought (after it succeeded), so a paged source such
    as arXiv can stop at the first page of papers it already brought."""
    with immediate(conn):
        conn.executemany(
            "INSERT OR IGNORE INTO source_papers (source, paper_id) VALUES (?, ?)",
            [(source, pid) for pid in ids],
        )


def known_by_source(conn: sqlite3.Connection, source: str) -> set[str]:
    rows = conn.execute("SELECT paper_id FROM source_papers WHERE source = ?", (source,))
    return {r[0] for r in rows}


def find(conn: sqlite3.Connection, ref: str) -> Paper | None:
    """A stored paper named by a topic's `similar_to` entry: an id (`arxiv:2401.01234`, a
    bare arXiv id or link, a DOI) or a title. Indexed lookups: the cost does not grow with
    the history."""
    from digest.normalize import arxiv_id, title_key

    ref = ref.strip()
    ids = [ref]
    if found := arxiv_id(ref):
        ids.append(f"arxiv:{found}")
    if ref.lower().startswith("10."):
        ids.append(f"doi:{ref.lower()}")
    marks = ",".join("?" * len(ids))
    row = conn.execute(f"SELECT data FROM papers WHERE id IN ({marks}) LIMIT 1", ids).fetchone()
    if row is None:
        row = conn.execute(
            "SELECT data FROM papers WHERE title_key = ? ORDER BY last_seen_at DESC LIMIT 1",
            (title_key(ref),),
        ).fetchone()
    return from_json(row[0]) if row else None
