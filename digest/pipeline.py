"""The whole job, top to bottom: fetch -> select -> render -> deliver -> record.

`run()` is the one place that orders the stages; each stage lives in its own module. The
order matters in two places, commented below: a digest is planned in the ledger (with its
exact bytes) before anything is sent, and papers are recorded as sent only in the
transaction that marks their delivery sent.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from digest.clock import Clock
from digest.config import Config
from digest.errors import StateError
from digest.models import Delivery, Digest, Issue, Match, Paper, Subscriber
from digest.report import RunReport


def run(
    config: Config,
    clock: Clock,
    *,
    dry_run: bool = False,
    progress: Callable[[Delivery], None] | None = None,
    cadences: Collection[str] | None = None,
) -> RunReport:
    """One digest run. With dry_run, everything is rendered into <output>/preview/ and the
    state is left exactly as it was (the run works on an in-memory copy of it). `cadences`
    limits the run to subscribers of those cadences (the scheduler's weekly job).

    The run reads the clock once: every decision (periods, issue date, fresh papers) is made
    at that instant, however long fetching or sending takes."""
    from digest.store.lock import run_lock

    report = RunReport(started_at=clock.now(), dry_run=dry_run)
    out_dir = config.output_dir / "preview" if dry_run else config.output_dir
    if dry_run:
        report.preview_dir = str(out_dir)
    _check_folders(config, out_dir)
    if not dry_run:
        _check_secrets(config)
    # One run at a time: a second one waits for the lock, then gives up with a message.
    with run_lock(config.state_path, wait=config.schedule.lock_wait):
        conn = _open_state(config, dry_run)
        try:
            _run(config, clock, conn, out_dir, report, dry_run, progress, cadences)
        finally:
            conn.close()
    return report


def _check_secrets(config: Config) -> None:
    """A missing SMTP password is a configuration problem: say so before fetching anything."""
    smtp = config.smtp
    if config.delivery.method == "smtp" and smtp and smtp.username and not smtp.password():
        from digest.errors import ConfigError

        where = f"${smtp.password_env}" if smtp.password_env else "smtp.password_env"
        raise ConfigError(
            f"smtp.username is set but {where} is empty: there is no password to log in with",
            hint=f"export {smtp.password_env or 'DIGEST_SMTP_PASSWORD'}=... (and name it in "
            "smtp.password_env); the password is never read from config.yaml",
        )


def _check_folders(config: Config, out_dir: Path) -> None:
    """Fail early, in words, when the output or state folder cannot be written."""
    for what, folder, key in (
        ("output folder", out_dir, "output.dir"),
        ("state folder", config.state_path.parent, "state"),
    ):
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StateError(
                f"cannot create the {what} {str(folder)!r}: {exc.strerror or exc}",
                hint=f"check `{key}` in the config and the folder's permissions",
            ) from None
        if not os.access(folder, os.W_OK):
            raise StateError(
                f"the {what} {str(folder)!r} is not writable",
                hint=f"check `{key}` in the config and the folder's permissions",
            )


def _run(
    config, clock, conn, out_dir: Path, report: RunReport, dry_run: bool, progress, cadences
) -> None:
    from digest.store import deliveries, runs

    now = report.started_at
    run_id = runs.start(conn, now)
    report.fingerprint = fingerprint(config)
    if config.delivery.method == "smtp" and not config.base_url and config.output.archive:
        report.warnings.append(
            "base_url is not set: emails go out without a web version link (set base_url to "
            "where the archive is published, e.g. by `digest serve`)"
        )
    if config.base_url and not os.environ.get(config.web.secret_env):
        report.warnings.append(
            f"base_url is set but ${config.web.secret_env} is not: digests go out without "
            "one-click unsubscribe and manage links; set the same secret as `digest serve`"
        )
    try:
        # 1. fetch: every source, each failure kept local to its source.
        pool, fresh_ids = fetch(config, clock, conn, report, now)
        readers = subscribers(config, conn)
        # Nobody is mailed after leaving: pending digests of former readers are cancelled.
        deliveries.cancel_others(conn, {r.key for r in readers}, now)
        due = due_subscribers(config, conn, readers, now, report, cadences)

        # Nothing new, nobody due, nothing to send now, same config as last time: the feeds
        # and the archive already hold what this run would write. Stop here, cheaply.
        quiet = (
            not dry_run  # a preview always renders what it can
            and not report.new_papers
            and not due
            and not deliveries.due_count(conn, now)
            and runs.last_fingerprint(conn) == report.fingerprint
        )
        if quiet:
            report.notes.append("nothing new to deliver")
        else:
            # 2. select, 3. render, 4. deliver.
            _select_render_deliver(
                config, clock, now, conn, out_dir, report, dry_run, progress, pool, fresh_ids, due
            )
    except BaseException as exc:
        report.errors.append(f"run failed: {type(exc).__name__}: {exc}")
        report.finished_at = clock.now()
        runs.finish(conn, run_id, report.finished_at, "failed", report.to_dict())
        raise
    # 5. record the run (papers were recorded as sent with each delivery, not here).
    report.finished_at = clock.now()
    runs.finish(conn, run_id, report.finished_at, report.status, report.to_dict())


def _select_render_deliver(
    config, clock, now, conn, out_dir, report, dry_run, progress, pool, fresh_ids, due
) -> None:
    from digest import select
    from digest.compose import compose_and_plan
    from digest.deliver import deliver_pending, make_outbox
    from digest.deliver.disk import DiskOutbox
    from digest.render import Renderer

    issue = make_issue(config, now)
    renderer = Renderer(config)

    # 2. select: rank the pool once per topic; every subscriber's digest is cut from that.
    extras = _matching_extras(config, conn)
    topic_matches = select.match_topics(pool, config.topics, now, **extras)
    matched_ids = {m.paper.id for matches in topic_matches.values() for m in matches}

    # 3. render the issue's feeds (this issue's fresh papers) ...
    fresh = {
        name: [m for m in matches if m.paper.id in fresh_ids]
        for name, matches in topic_matches.items()
    }
    report.files += map(str, renderer.write_feeds(conn, fresh, issue, out_dir))
    # ... and each due subscriber's digest, one at a time (memory stays flat however many
    # readers). Each is planned in the ledger with its exact bytes BEFORE anything is sent:
    # a crash from here on is resumed by the next run with the same message.
    listed: dict[tuple[str, str], Match] = {}  # papers shown or cut ("and N more")
    for subscriber in due:
        digest = digest_for(
            config, conn, subscriber, issue, topic_matches, now, report, pool, matched_ids
        )
        if digest is None:
            continue
        report.files += compose_and_plan(
            config, conn, renderer, digest, issue, now, out_dir, preview=dry_run
        )
        for m in (*digest.matches, *digest.left_out):
            listed.setdefault((m.topic, m.paper.id), m)
    # ... then the archive page, the emails' web version: the fresh papers and every paper a
    # digest of this issue showed or cut, including older ones a reader had not received
    # yet, accumulated over the issue's runs (an email of this morning keeps its page).
    # Followed-author sections are personal: not published.
    if config.output.archive:
        from digest.store import issues

        for matches in fresh.values():
            for m in matches:
                listed.setdefault((m.topic, m.paper.id), m)
        names = [t.name for t in config.topics]
        issues.add(conn, issue.id, (m for (topic, _), m in listed.items() if topic in names))
        page = issues.page(conn, issue.id, names)
        report.files += map(str, renderer.write_archive(conn, issue, page, out_dir))

    # 4. deliver every pending digest: this run's, and any a crash or failure left behind.
    # A dry run writes the messages it would send into the preview folder instead.
    outbox = DiskOutbox(out_dir) if dry_run else make_outbox(config, clock, out_dir=out_dir)
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


def fetch(config: Config, clock: Clock, conn: sqlite3.Connection, report: RunReport, now: datetime):
    """Fetch every source; returns the candidate pool and the ids first seen today."""
    from digest.normalize import merge_papers
    from digest.sources import FetchContext, fetch_all
    from digest.store import papers as paper_store

    ctx = FetchContext(
        clock=clock,
        conn=conn,
        root=config.root,
        known_ids=lambda source: paper_store.known_by_source(conn, source),
    )
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
        else:
            paper_store.record_source(conn, result.name, (p.id for p in result.papers))
        fetched.extend(result.papers)
    # One paper, one id: merged within this run, then mapped to the id it was first stored
    # under (the ledgers are keyed by id: that is what "never twice" rests on).
    merged = paper_store.resolve_ids(conn, merge_papers(fetched))
    first_seen, new_ids = paper_store.upsert(conn, merged, now)
    # The pool: this run's papers plus recent ones, so nothing is skipped because a source
    # or a delivery failed on the day it first appeared.
    since = now - timedelta(days=config.selection.lookback_days)
    pool: dict[str, Paper] = {}
    seen_at: dict[str, datetime] = {}
    for paper, at in paper_store.recent(conn, since):
        pool[paper.id] = paper
        seen_at[paper.id] = at
    for paper in merged:
        pool[paper.id] = paper
    seen_at.update(first_seen)
    # This issue's papers: every one first seen today (by this run or an earlier one), so a
    # second run the same day keeps the archive page and feeds whole even if a source fails.
    today = now.astimezone(config.zone).date()
    fresh_ids = {pid for pid, at in seen_at.items() if at.astimezone(config.zone).date() == today}
    report.papers = len(pool)
    report.new_papers = len(new_ids)
    return list(pool.values()), fresh_ids


def make_issue(config: Config, now: datetime, timezone: str | None = None) -> Issue:
    from zoneinfo import ZoneInfo

    local = now.astimezone(ZoneInfo(timezone) if timezone else config.zone)
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
        sub = s.to_subscriber()
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
    cadences: Collection[str] | None = None,
) -> list[Subscriber]:
    """The subscribers who have no digest in the ledger for their current period (their
    cadence, in their timezone). The ledger decides, not clock times: a digest planned
    just after midnight belongs to the period of the run's instant, and no other."""
    from digest import cadence
    from digest.store import deliveries

    due = []
    for subscriber in candidates:
        key = subscriber.key
        if cadences is not None and subscriber.cadence not in cadences:
            report.skipped[key] = f"{subscriber.cadence} digests are not part of this run"
            continue
        period = cadence.period_key(subscriber, now, config.timezone)
        state = deliveries.period_state(conn, key, period)
        if state == "sent":
            report.skipped[key] = f"not due: the digest for {period} was sent"
            continue
        if state is not None:
            report.skipped[key] = f"the digest for {period} is {state}: it is retried, not redone"
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
    pool: Sequence[Paper],
    matched_ids: Collection[str],
) -> Digest | None:
    """The subscriber's new papers: never one already sent or promised to a pending digest.
    Only the candidates are looked up in the ledger, not the reader's whole history."""
    from digest import cadence, select
    from digest.store import deliveries, ledger

    key = subscriber.key
    period = cadence.period_key(subscriber, now, config.timezone)
    candidates = [p.id for p in pool] if subscriber.authors else matched_ids
    exclude = ledger.sent_among(conn, key, candidates) | deliveries.pending_paper_ids(conn, key)
    # The reader's own date: a Tokyo reader's Tuesday digest says Tuesday, whatever the
    # config timezone's date is (their web version is still the run's archive page).
    local = make_issue(config, now, subscriber.timezone)
    personal = Issue(id=period, date=local.date, generated_at=now, title=local.title)
    topic_order = [t.name for t in config.topics]
    limits = {t.name: t.max_papers for t in config.topics}
    digest = select.build_digest(
        personal, subscriber, topic_matches, exclude, topic_order, papers=pool, topic_limits=limits
    )
    report.selected[key] = len(digest.matches)
    if digest.is_empty and not subscriber.send_empty:
        report.skipped[key] = "no new matching papers"
        return None
    return digest


def _matching_extras(config: Config, conn: sqlite3.Connection) -> dict[str, Any]:
    """The lookup of "more like these" examples among older papers, and the embedding
    cache, only when a topic needs them."""
    from digest.store import papers as paper_store

    extras: dict[str, Any] = {}
    if any(t.similar_to for t in config.topics):
        # Examples are looked up one by one (indexed): the cost does not grow with history.
        extras["history"] = lambda ref: paper_store.find(conn, ref)
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


def _open_state(config: Config, dry_run: bool) -> sqlite3.Connection:
    """The state connection. A dry run works on an in-memory copy of the state: the same
    logic runs, and nothing is recorded."""
    import importlib

    from digest.store.db import SCHEMA_MODULES, open_db

    if not dry_run or not config.state_path.exists():
        try:
            return open_db(":memory:" if dry_run else config.state_path)
        except sqlite3.DatabaseError as exc:
            raise StateError(
                f"the state file {str(config.state_path)!r} cannot be used: {exc}",
                hint="is `state:` pointing at another file? Point it at a new path, or move "
                "that file away (a new state means every paper counts as new)",
            ) from None
    memory = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
    source = sqlite3.connect(f"file:{config.state_path}?mode=ro", uri=True)
    try:
        source.backup(memory)
    except sqlite3.DatabaseError as exc:
        raise StateError(
            f"the state file {str(config.state_path)!r} cannot be used: {exc}",
            hint="is `state:` pointing at another file?",
        ) from None
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
