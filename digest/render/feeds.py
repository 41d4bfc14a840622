"""RSS 2.0 and Atom feeds: one for everything, one per topic, built with feedgen.

Entries accumulate across runs in the state database (digest.store.feeds) and each feed keeps
the newest `feeds.max_entries`. An entry is rendered once, when its paper first enters that
feed, so a second run with nothing new writes byte-identical files: `updated` and
`lastBuildDate` come from the stored time the feed's content last changed, never from the
clock. Entry ids come from the canonical paper id (stable across runs and feeds); an RSS
guid is `isPermaLink="true"` only when it is a URL.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from markupsafe import escape

from digest.fsutil import atomic_write
from digest.models import Issue, Match
from digest.store import feeds as store
from digest.store.db import immediate

ENTRY_HTML = "feeds/entry.html"
ENTRY_TEXT = "feeds/entry.txt"
MAX_ENTRY_AUTHORS = 10


@dataclass(frozen=True, slots=True)
class FeedSpec:
    key: str  # "all" or the topic slug: the history key and the file stem
    title: str
    subtitle: str
    matches: tuple[Match, ...]


def entry_data(
    renderer: Any, match: Match, topics: list[str], issue: Issue, archive_base: str | None
) -> dict[str, Any]:
    """Everything a feed entry shows, rendered now and stored as-is in the history."""
    from digest.render import view

    mv = renderer.email.match(match)
    p = mv.paper
    eid, permalink = view.entry_id(match.paper.id)
    link = p.url
    if link is None and archive_base:
        link = f"{archive_base}/{issue.id}.html#{p.anchor}"
    ctx = {"m": mv, "topics": topics, "link": link}
    return {
        "id": eid,
        "permalink": permalink,
        "title": p.title,
        "link": link,
        "summary": renderer.render_text(ENTRY_TEXT, ctx).strip(),
        "content": renderer.render_html(ENTRY_HTML, ctx).strip(),
        "authors": [a for a in match.paper.authors[:MAX_ENTRY_AUTHORS] if a.strip()],
        "more_authors": max(0, len(match.paper.authors) - MAX_ENTRY_AUTHORS),
        "categories": list(dict.fromkeys([*topics, *match.paper.categories])),
        "published": match.paper.published.isoformat() if match.paper.published else None,
    }


def feed_specs(
    title: str,
    topic_matches: dict[str, list[Match]],
    slugs: dict[str, str],
    include_all: bool,
    per_topic: bool,
) -> list[FeedSpec]:
    specs = []
    if include_all:
        seen: dict[str, Match] = {}
        for matches in topic_matches.values():
            for m in matches:
                seen.setdefault(m.paper.id, m)  # a paper once, under its first topic
        specs.append(
            FeedSpec("all", title, f"New papers in every topic of {title}", tuple(seen.values()))
        )
    if per_topic:
        for topic, matches in topic_matches.items():
            specs.append(
                FeedSpec(
                    slugs[topic],
                    f"{title}: {topic}",
                    f"New papers on {topic}, from {title}",
                    tuple(matches),
                )
            )
    return specs


def write_feeds(
    renderer: Any,
    conn: sqlite3.Connection,
    topic_matches: dict[str, list[Match]],
    issue: Issue,
    out_dir: Path,
) -> list[Path]:
    from digest.render import view

    config = renderer.config
    cfg = config.feeds
    feeds_dir = Path(out_dir) / "feeds"
    title = view.one_line(config.title)
    specs = feed_specs(title, topic_matches, renderer.slugs, cfg.all, cfg.per_topic)
    archive_base = renderer.archive_base(out_dir)
    topics_of: dict[str, list[str]] = {}
    for topic, matches in topic_matches.items():
        for m in matches:
            topics_of.setdefault(m.paper.id, []).append(view.one_line(topic))
    paths: list[Path] = []
    for spec in specs:
        with immediate(conn):
            known = store.known_ids(conn, spec.key)
            new = [
                (
                    m.paper.id,
                    entry_data(
                        renderer, m, topics_of.get(m.paper.id, [m.topic]), issue, archive_base
                    ),
                )
                for m in spec.matches
                if m.paper.id not in known
            ]
            store.add_entries(conn, spec.key, new, issue.id, issue.generated_at)
            store.trim(conn, spec.key, cfg.max_entries)
            rows = store.entries(conn, spec.key, cfg.max_entries)
            alternate = renderer.feed_alternate(out_dir)
            meta = {"title": spec.title, "subtitle": spec.subtitle, "alternate": alternate}
            content_hash = hashlib.sha256(
                json.dumps(
                    [meta, [(r.entry_id, r.added_at.isoformat(), r.data) for r in rows]],
                    sort_keys=True,
                ).encode()
            ).hexdigest()
            updated = store.touch(conn, spec.key, content_hash, issue.generated_at)
        for fmt in cfg.formats:
            name = f"{spec.key}.{fmt}.xml"
            self_url = renderer.feed_url(name, out_dir)
            data = build(fmt, spec, rows, updated, self_url, alternate)
            path = feeds_dir / name
            if not (path.exists() and path.read_bytes() == data):
                atomic_write(path, data)
            paths.append(path)
    return paths


def build(
    fmt: str,
    spec: FeedSpec,
    rows: list[store.FeedEntry],
    updated: Any,
    self_url: str,
    alternate: str,
) -> bytes:
    from feedgen.feed import FeedGenerator

    fg = FeedGenerator()
    fg.id(f"urn:digest:feed:{spec.key}")
    fg.title(spec.title)
    fg.subtitle(spec.subtitle)  # also the RSS <description>
    fg.author({"name": spec.title.split(":")[0]})
    fg.link(href=self_url, rel="self")
    fg.link(href=alternate, rel="alternate")  # last: feedgen uses it as the RSS <link>
    fg.language("en")
    fg.generator("digest")
    fg.updated(updated)  # also lastBuildDate; feedgen would otherwise use the clock
    # feedgen prepends entries; add oldest first so the file lists newest first.
    for row in reversed(rows):
        d = row.data
        fe = fg.add_entry()
        fe.id(d["id"])
        fe.guid(d["id"], permalink=bool(d["permalink"]))
        fe.title(d["title"])
        if d.get("link"):
            fe.link(href=d["link"], rel="alternate")
        fe.summary(d["summary"], type="text")
        # RSS readers treat <description> as HTML: give them the text, HTML-escaped.
        fe.description(str(escape(d["summary"])))
        fe.content(d["content"], type="html")
        for name in d.get("authors", []):
            fe.author({"name": name})
        for term in d.get("categories", []):
            fe.category(term=term)
        # When the paper entered this feed (feedgen's published is also RSS pubDate): the
        # order readers sort by, and stable across runs.
        fe.updated(row.added_at)
        fe.published(row.added_at)
    if fmt == "rss":
        return fg.rss_str(pretty=True)
    return fg.atom_str(pretty=True)
