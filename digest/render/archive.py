"""The static web archive: out/archive/<issue>.html per issue (the email's web version) and
out/archive/index.html listing every issue, newest first. Pages use relative links and
inline CSS, so they open from disk with no server. A paper that matched several topics is
shown once, under the first (config order), as in a digest."""

from __future__ import annotations

import re
import sqlite3
from pathlib import Path
from typing import Any

from digest.fsutil import atomic_write
from digest.models import Issue, Match
from digest.render import view
from digest.store import feeds as store
from digest.store.db import immediate

ISSUE_TEMPLATE = "archive/issue.html"
INDEX_TEMPLATE = "archive/index.html"
_SAFE_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


def issue_file(issue_id: str) -> str:
    if not _SAFE_ID.fullmatch(issue_id) or ".." in issue_id:
        raise ValueError(f"issue id {issue_id!r} cannot be used as a file name")
    return f"{issue_id}.html"


def sections(renderer: Any, topic_matches: dict[str, list[Match]]) -> list[dict[str, Any]]:
    seen: set[str] = set()
    out = []
    for topic, matches in topic_matches.items():
        fresh = [m for m in matches if m.paper.id not in seen]
        seen.update(m.paper.id for m in fresh)
        if fresh:
            out.append(
                {
                    "topic": view.one_line(topic),
                    "slug": renderer.slug(topic),
                    "count": len(fresh),
                    "cards": [renderer.email.card(m) for m in fresh],
                    "matches": [renderer.email.match(m) for m in fresh],
                }
            )
    return out


def write_archive(
    renderer: Any,
    conn: sqlite3.Connection,
    issue: Issue,
    topic_matches: dict[str, list[Match]],
    out_dir: Path,
) -> list[Path]:
    archive_dir = Path(out_dir) / "archive"
    name = issue_file(issue.id)
    secs = sections(renderer, topic_matches)
    n_papers = sum(s["count"] for s in secs)
    site_title = view.one_line(renderer.config.title)
    common = {"site_title": site_title, "feeds": renderer.feed_links(prefix="../feeds/")}
    page = renderer.render_html(
        ISSUE_TEMPLATE,
        {
            **common,
            "issue": issue,
            "date_label": view.long_date(issue.date),
            "summary": view.summary_line(n_papers, len(secs)),
            "sections": secs,
            "index_url": "index.html",
        },
    )
    with immediate(conn):
        store.record_issue(
            conn,
            issue.id,
            issue.date.isoformat(),
            issue.generated_at,
            view.one_line(issue.title),
            n_papers,
            [s["topic"] for s in secs],
        )
        issues = store.issues(conn)
    listing = []
    for i in issues:
        base, _, suffix = i.issue_id.partition(".")
        try:
            from datetime import date

            label = view.long_date(date.fromisoformat(i.date))
        except ValueError:
            label = i.date
        listing.append(
            {
                "id": i.issue_id,
                "url": issue_file(i.issue_id),
                "date_label": label,
                "suffix": f"edition {suffix}" if suffix else "",
                "papers": i.papers,
                "topics": list(i.topics),
            }
        )
    index = renderer.render_html(INDEX_TEMPLATE, {**common, "issues": listing})
    paths = [
        atomic_write(archive_dir / name, page),
        atomic_write(archive_dir / "index.html", index),
    ]
    return paths
