"""The whole job, top to bottom: fetch -> select -> render -> deliver -> record.

`run()` is the one place that orders the stages; each stage lives in its own module. The
order matters in two places, commented below: a digest is planned in the ledger (with its
exact bytes) before anything is sent, and papers are recorded as sent only in the
transaction that marks their delivery sent.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from digest.clock import Clock
from digest.config import Config
from digest.errors import EXIT_FAILURE, EXIT_OK, EXIT_PARTIAL
from digest.models import Delivery, Digest, Issue, Links, Match, Paper, Subscriber


@dataclass
class RunReport:
    started_at: datetime
    dry_run: bool = False
    finished_at: datetime | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    papers: int = 0
    new_papers: int = 0
    selected: dict[str, int] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)
    deliveries: list[Delivery] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    preview_dir: str | None = None
    delivery_aborted: str | None = None  # the outbox could not send at all (server down, ...)
    fingerprint: str = ""

    @property
    def sent(self) -> list[Delivery]:
        return [d for d in self.deliveries if d.state == "sent"]

    @property
    def failed_sources(self) -> list[dict[str, Any]]:
        return [s for s in self.sources if s["error"]]

    @property
    def exit_code(self) -> int:
        failed_deliveries = [d for d in self.deliveries if d.state != "sent"]
        if self.sources and len(self.failed_sources) == len(self.sources):
            return EXIT_FAILURE
        if (self.delivery_aborted or failed_deliveries) and not self.sent:
            return EXIT_FAILURE
        if self.failed_sources or failed_deliveries or self.errors:
            return EXIT_PARTIAL
        return EXIT_OK

    @property
    def status(self) -> str:
        return {EXIT_OK: "ok", EXIT_PARTIAL: "partial", EXIT_FAILURE: "failed"}[self.exit_code]

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "dry_run": self.dry_run,
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "sources": self.sources,
            "papers": self.papers,
            "new_papers": self.new_papers,
            "selected": self.selected,
            "skipped": self.skipped,
            "deliveries": [
                {
                    "subscriber": d.subscriber,
                    "issue": d.issue_id,
                    "state": d.state,
                    "detail": d.detail,
                    "files": list(d.files),
                }
                for d in self.deliveries
            ],
            "files": self.files,
            "errors": self.errors,
            "notes": self.notes,
            "preview_dir": self.preview_dir,
            "fingerprint": self.fingerprint,
        }


def run(
    config: Config,
    clock: Clock,
    *,
    dry_run: bool = False,
    progress: Callable[[Delivery], None] | None = None,
) -> RunReport:
    """One digest run. With dry_run, everything is rendered into <output>/preview/ and the
    state is left exactly as it was (the run works on an in-memory copy of it)."""
    from digest.store.lock import run_lock

    report = RunReport(started_at=clock.now(), dry_run=dry_run)
    out_dir = config.output_dir / "preview" if dry_run else config.output_dir
    if dry_run:
        report.preview_dir = str(out_dir)
    with run_lock(config.state_path, wait=config.schedule.lock_wait):
        conn = _open_state(config, dry_run)
        try:
            _run(config, clock, conn, out_dir, report, dry_run, progress)
        finally:
            conn.close()
    return report


def _run(config, clock, conn, out_dir: Path, report: RunReport, dry_run: bool, progress) -> None:
    from digest.store import deliveries, runs

    now = clock.now()
    run_id = runs.start(conn, now)
    report.fingerprint = fingerprint(config)
    try:
        # 1. fetch: every source, failures kept local to their source.
        pool, fresh_ids = fetch(config, clock, conn, report)
        due = due_subscribers(config, conn, subscribers(config, conn), now, report)

        # Nothing new, nobody due, nothing pending, same config as last time: the feeds and
        # the archive are already what this run would write. Stop here, cheaply.
        if (
            not report.new_papers
            and not due
            and not deliveries.pending(conn)
            and runs.last_fingerprint(conn) == report.fingerprint
        ):
            report.notes.append("nothing new to deliver")
        else:
            _select_render_deliver(
                config, clock, conn, out_dir, report, dry_run, progress, pool, fresh_ids, due
            )
    except BaseException as exc:
        report.errors.append(f"run failed: {type(exc).__name__}: {exc}")
        report.finished_at = clock.now()
        runs.finish(conn, run_id, report.finished_at, "failed", report.to_dict())
        raise
    # 5. record the run (deliveries and papers were recorded as each send completed).
    report.finished_at = clock.now()
    runs.finish(conn, run_id, report.finished_at, report.status, report.to_dict())


def _select_render_deliver(
    config, clock, conn, out_dir, report, dry_run, progress, pool, fresh_ids, due
) -> None:
    from digest import select
    from digest.deliver import deliver_pending, make_outbox
    from digest.render import Renderer

    now = clock.now()
    # 2. select: rank papers per topic once, then cut a digest per due subscriber.
    topic_matches = select.match_topics(pool, config.topics, now, **_matching_extras(config, conn))
    issue = make_issue(config, now)
    renderer = Renderer(config)
    digests = []
    for subscriber in due:
        digest = digest_for(config, conn, subscriber, issue, topic_matches, now, report, pool)
        if digest is not None:
            digests.append(digest)

    # 3. render: feeds and archive hold this issue's fresh papers; each digest becomes
    # its exact message bytes, planned in the ledger before any send (crash safety).
    fresh_matches = {
        name: [m for m in matches if m.paper.id in fresh_ids]
        for name, matches in topic_matches.items()
    }
    if config.output.archive:
        report.files += [
            str(p) for p in renderer.write_archive(conn, issue, fresh_matches, out_dir)
        ]
    report.files += [str(p) for p in renderer.write_feeds(conn, fresh_matches, issue, out_dir)]
    for digest in digests:
        render_and_plan(config, conn, renderer, digest, now, out_dir, report, dry_run)

    # 4. deliver every pending digest (this run's and any a crash or failure left).
    # A dry run writes the messages it would send into the preview folder instead.
    outbox = (
        make_outbox(config, clock, out_dir=out_dir) if not dry_run else _preview_outbox(out_dir)
    )
    retry = timedelta(hours=config.smtp.retry_hours) if config.smtp else timedelta(hours=72)
    batch = deliver_pending(conn, outbox, clock, retry_period=retry, progress=progress)
    report.deliveries = list(batch)
    if batch.aborted or batch.paused:
        report.errors.append(f"delivery: {batch.summary()}")
        report.delivery_aborted = batch.aborted
    for d in report.deliveries:
        report.files += list(d.files)
        if d.state != "sent":
            report.errors.append(
                f"delivery to {d.subscriber} ({d.issue_id}): {d.state}: {d.detail}"
            )
    if not report.deliveries and not (batch.aborted or batch.paused):
        report.notes.append("nothing new to deliver")


def fetch(config: Config, clock: Clock, conn: sqlite3.Connection, report: RunReport):
    """Fetch every source; returns the candidate pool and the ids first seen today."""
    from digest.normalize import merge_papers
    from digest.sources import FetchContext, fetch_all
    from digest.store import papers as paper_store

    now = clock.now()
    ctx = FetchContext(clock=clock, conn=conn, root=config.root, known_ids=lambda: _known_ids(conn))
    try:
        results = fetch_all(config.sources, ctx)
    finally:
        if ctx.http is not None:
            ctx.http.close()
    fetched: list[Paper] = []
    for result in results:
        report.sources.append(
            {
                "name": result.name,
                "type": result.type,
                "papers": len(result.papers),
                "error": result.error,
                "seconds": round(result.seconds, 3),
            }
        )
        if result.error:
            report.errors.append(f"source {result.name!r} failed: {result.error}")
        fetched.extend(result.papers)
    merged = merge_papers(fetched)
    first_seen = paper_store.upsert(conn, merged, now)
    # The pool: this run's papers plus recent ones, so nothing is skipped because a source
    # or a delivery failed on the day it first appeared.
    since = now - timedelta(days=config.selection.lookback_days)
    pool: dict[str, Paper] = {}
    for paper, _seen in paper_store.recent(conn, since):
        pool[paper.id] = paper
    for paper in merged:
        pool[paper.id] = paper
    today = now.astimezone(config.zone).date()
    fresh_ids = {
        pid for pid, at in first_seen.items() if at.astimezone(config.zone).date() == today
    }
    report.papers = len(pool)
    report.new_papers = sum(1 for at in first_seen.values() if at == now)
    return list(pool.values()), fresh_ids


def _known_ids(conn: sqlite3.Connection) -> set[str]:
    return {r[0] for r in conn.execute("SELECT id FROM papers")}


def make_issue(config: Config, now: datetime) -> Issue:
    local = now.astimezone(config.zone)
    return Issue(
        id=local.date().isoformat(),
        date=local.date(),
        generated_at=now,
        title=f"{config.title} — {local:%B} {local.day}, {local.year}",
    )


def subscribers(config: Config, conn: sqlite3.Connection) -> list[Subscriber]:
    """Config subscribers and confirmed web subscribers, minus everyone who unsubscribed."""
    from digest.store import optouts
    from digest.store import subscribers as web_subscribers

    found: dict[str, Subscriber] = {}
    for s in config.subscribers:
        sub = Subscriber(
            email=s.email,
            name=s.name,
            topics=tuple(s.topics),
            cadence=s.cadence,
            weekday=s.weekday,
            max_papers=s.max_papers,
            timezone=s.timezone,
            send_empty=s.send_empty,
            authors=tuple(s.authors),
            origin="config",
        )
        found[sub.key] = sub
    for sub in web_subscribers.active(conn):
        found.setdefault(sub.key, sub)
    gone = optouts.unsubscribed(conn)
    return [s for key, s in found.items() if key not in gone]


def due_subscribers(
    config: Config,
    conn: sqlite3.Connection,
    candidates: list[Subscriber],
    now: datetime,
    report: RunReport,
) -> list[Subscriber]:
    """The subscribers whose period has come (their cadence, in their timezone) and who have
    no digest for this period in the ledger yet."""
    from digest import cadence
    from digest.store import deliveries

    due = []
    for subscriber in candidates:
        key = subscriber.key
        last = deliveries.last_sent(conn, key)
        if not cadence.is_due(subscriber, last.updated_at if last else None, now, config.timezone):
            report.skipped[key] = "not due (already sent this period)" if last else "not due yet"
            continue
        period = cadence.period_key(subscriber, now, config.timezone)
        if deliveries.get(conn, key, period) is not None:
            report.skipped[key] = f"a digest for {period} is already in the ledger"
            continue
        due.append(subscriber)
    return due


def digest_for(
    config: Config,
    conn: sqlite3.Connection,
    subscriber: Subscriber,
    issue: Issue,
    topic_matches: dict[str, list[Match]],
    now: datetime,
    report: RunReport,
    pool: Sequence[Paper] = (),
) -> Digest | None:
    """The subscriber's new papers: never one already sent or promised to a pending digest."""
    from digest import cadence, select
    from digest.store import deliveries, ledger

    key = subscriber.key
    period = cadence.period_key(subscriber, now, config.timezone)
    exclude = ledger.sent_ids(conn, key) | deliveries.pending_paper_ids(conn, key)
    personal = Issue(id=period, date=issue.date, generated_at=issue.generated_at, title=issue.title)
    topic_order = [t.name for t in config.topics]
    digest = select.build_digest(
        personal, subscriber, topic_matches, exclude, topic_order, papers=pool
    )
    report.selected[key] = len(digest.matches)
    if digest.is_empty and not subscriber.send_empty:
        report.skipped[key] = "no new matching papers"
        return None
    return digest


def _matching_extras(config: Config, conn: sqlite3.Connection) -> dict[str, Any]:
    """Older papers for "more like these" examples, and the embedding cache, only when a
    topic needs them (loading the whole history is not free)."""
    from digest.store import papers as paper_store

    extras: dict[str, Any] = {}
    if any(t.similar_to for t in config.topics):
        epoch = datetime(1970, 1, 1, tzinfo=config.zone)
        extras["history"] = [p for p, _ in paper_store.recent(conn, epoch)]
    if any(t.similarity == "semantic" for t in config.topics):
        from digest.store.vectors import VectorCache

        extras["vector_cache"] = VectorCache(conn, "all-MiniLM-L6-v2")
    return extras


def fingerprint(config: Config) -> str:
    """Changes when anything that shapes the output changes (config or version)."""
    import hashlib

    from digest import __version__

    data = config.model_dump_json(exclude={"root"}) + __version__
    return hashlib.sha256(data.encode()).hexdigest()[:16]


def links_for(config: Config, renderer, subscriber: Subscriber, issue: Issue) -> Links:
    from digest.unsubscribe import make_token

    secret = os.environ.get(config.web.secret_env)
    unsubscribe = manage = None
    if config.base_url and secret:
        token = make_token(subscriber.key, secret)
        unsubscribe = f"{config.base_url}/unsubscribe/{token}"
        manage = f"{config.base_url}/manage/{token}"
    mailto = config.list_.unsubscribe_mailto or _address(config.sender)
    feeds = []
    if config.base_url:
        feeds.append(("RSS", f"{config.base_url}/feeds/all.rss.xml"))
        feeds.append(("Atom", f"{config.base_url}/feeds/all.atom.xml"))
    return Links(
        web_version=renderer.archive_url(issue),
        manage=manage,
        unsubscribe=unsubscribe,
        unsubscribe_mailto=mailto,
        archive=f"{config.base_url}/archive/" if config.base_url else None,
        feeds=tuple(feeds),
    )


def render_and_plan(
    config, conn, renderer, digest: Digest, now, out_dir: Path, report, dry_run
) -> None:
    from digest.deliver.disk import file_stem, mail_dir
    from digest.fsutil import atomic_write
    from digest.message import Envelope, build_message, fits_gmail, make_message_id
    from digest.store import deliveries

    sub = digest.subscriber
    links = links_for(config, renderer, sub, digest.issue)
    subject, html, text = renderer.render_digest(digest, links)
    # Past Gmail's clipping size the digest is cut, with "and N more" to the web version.
    while not fits_gmail(html) and len(digest.matches) > 1:
        digest = _shorter(digest)
        subject, html, text = renderer.render_digest(digest, links)
    sender = config.sender
    envelope = Envelope(
        subject=subject,
        sender=sender,
        to_addr=sub.email,
        to_name=sub.name,
        message_id=make_message_id(sub.key, digest.issue.id, _domain(sender)),
        date=now,
        list_id=config.list_.id or _list_id(config),
        unsubscribe_url=links.unsubscribe,
        unsubscribe_mailto=links.unsubscribe_mailto,
        reply_to=config.delivery.reply_to,
    )
    message = build_message(envelope, text, html)
    if config.delivery.method == "disk" or dry_run:
        folder = mail_dir(out_dir, digest.issue.id)
        stem = file_stem(sub.key)
        report.files.append(str(atomic_write(folder / f"{stem}.html", html)))
        report.files.append(str(atomic_write(folder / f"{stem}.txt", text)))
    deliveries.plan(
        conn,
        subscriber=sub.key,
        issue_id=digest.issue.id,
        method="disk" if dry_run else config.delivery.method,
        message_id=envelope.message_id,
        paper_ids=digest.paper_ids,
        message=message,
        at=now,
    )


def _shorter(digest: Digest) -> Digest:
    """Drop the lowest-scored paper; the dropped ones are not marked sent."""
    from digest.models import TopicSection

    worst = min(digest.matches, key=lambda m: m.score)
    sections = tuple(
        TopicSection(s.topic, tuple(m for m in s.matches if m is not worst))
        for s in digest.sections
    )
    return Digest(
        digest.issue, digest.subscriber, tuple(s for s in sections if s.matches), digest.omitted + 1
    )


def _preview_outbox(out_dir: Path):
    from digest.deliver.disk import DiskOutbox

    return DiskOutbox(out_dir)


def _open_state(config: Config, dry_run: bool) -> sqlite3.Connection:
    """The state connection. A dry run works on an in-memory copy of the state: the same
    logic runs, and nothing is recorded."""
    import importlib

    from digest.store.db import SCHEMA_MODULES, open_db

    if not dry_run or not config.state_path.exists():
        return open_db(":memory:" if dry_run else config.state_path)
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    source = sqlite3.connect(f"file:{config.state_path}?mode=ro", uri=True)
    try:
        source.backup(memory)
    finally:
        source.close()
    memory.row_factory = sqlite3.Row
    for name in SCHEMA_MODULES:  # tables a newer version added, on the copy only
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError:
            continue
        memory.executescript(module.SCHEMA)
    return memory


def _address(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1] or sender


def _domain(sender: str) -> str:
    address = _address(sender)
    return address.rsplit("@", 1)[-1] if "@" in address else "localhost"


def _list_id(config: Config) -> str:
    import re

    slug = re.sub(r"[^a-z0-9]+", "-", config.title.lower()).strip("-") or "digest"
    return f"{config.title} <{slug}.{_domain(config.sender)}>"
