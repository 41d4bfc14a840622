"""The operator's look before sending: the next digest of one subscriber rendered by a dry
run (nothing recorded), a sample digest for `digest check`, and a tiny local web server.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from datetime import datetime
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

from digest.clock import Clock, FixedClock
from digest.config import Config
from digest.errors import ConfigError
from digest.models import Digest, Issue, Match, Reason, Subscriber, TopicSection


@dataclass(frozen=True)
class Preview:
    subscriber: Subscriber
    html: Path | None  # None: nothing to send to them (see `reason`)
    at: datetime  # the time the digest was rendered for
    reason: str = ""
    report: Any = None


def config_subscriber(s: Any) -> Subscriber:
    return s.to_subscriber()


def find_subscriber(config: Config, email: str | None) -> Subscriber:
    """The subscriber to preview: by address (config or web), else the first configured."""
    known = [config_subscriber(s) for s in config.subscribers]
    known += _web_subscribers(config)
    if not known:
        raise ConfigError(
            "there is no subscriber to preview", hint="add one under subscribers: in config.yaml"
        )
    if email is None:  # the first reader who is still subscribed
        gone = _unsubscribed(config)
        active = [s for s in known if s.key not in gone]
        if not active:
            raise ConfigError(
                "every subscriber has unsubscribed: there is no digest to preview",
                hint="name one with --subscriber EMAIL to see what they would have received",
            )
        return active[0]
    for sub in known:
        if sub.key == email.strip().lower():
            return sub
    listed = ", ".join(s.email for s in known[:10])
    raise ConfigError(f"no subscriber {email!r}", hint=f"known subscribers: {listed}")


def _unsubscribed(config: Config) -> set[str]:
    conn = _read_only(config.state_path)
    if conn is None:
        return set()
    try:
        return {r[0] for r in conn.execute("SELECT email FROM unsubscribed")}
    except sqlite3.Error:
        return set()
    finally:
        conn.close()


def _web_subscribers(config: Config) -> list[Subscriber]:
    conn = _read_only(config.state_path)
    if conn is None:
        return []
    try:
        from digest.store import subscribers as web

        return list(web.active(conn))
    except (ImportError, sqlite3.Error):
        return []
    finally:
        conn.close()


def _read_only(state: Path) -> sqlite3.Connection | None:
    if not state.exists():
        return None
    conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def next_time_due(config: Config, subscriber: Subscriber, now: datetime) -> datetime | None:
    """The first scheduled time after `now` at which this subscriber is due."""
    from digest import cadence
    from digest.cron import next_fire
    from digest.schedule import plan_jobs

    last = None
    conn = _read_only(config.state_path)
    if conn is not None:
        try:
            from digest.store import deliveries

            row = deliveries.last_sent(conn, subscriber.key)
            last = row.updated_at if row else None
        except sqlite3.Error:
            last = None
        finally:
            conn.close()
    jobs = [j for j in plan_jobs(config) if subscriber.cadence in j.cadences]
    candidates = [f for j in jobs if (f := next_fire(j.trigger, now)) is not None]
    at = min(candidates) if candidates else None
    for _ in range(60):  # a weekly subscriber on a daily cron: at most a week of fires
        if at is None:
            return None
        if cadence.is_due(subscriber, last, at, config.timezone):
            return at
        candidates = [f for j in jobs if (f := next_fire(j.trigger, at)) is not None]
        at = min(candidates) if candidates else None
    return None


def render_preview(config: Config, clock: Clock, subscriber: Subscriber) -> Preview:
    """Dry-run the pipeline (nothing recorded) and find this subscriber's HTML. If they are
    not due now, render the digest they would get at their next scheduled time."""
    now = clock.now()
    preview = _dry_run(config, clock, subscriber)
    if preview.html is None and preview.reason.startswith("not due"):
        later = next_time_due(config, subscriber, now)
        if later is not None:
            preview = _dry_run(config, FixedClock(later), subscriber)
    return preview


def _dry_run(config: Config, clock: Clock, subscriber: Subscriber) -> Preview:
    from digest import pipeline
    from digest.deliver.disk import file_stem

    report = pipeline.run(config, clock, dry_run=True)
    name = f"{file_stem(subscriber.key)}.html"
    found = [Path(f) for f in report.files if Path(f).name == name]
    if found:
        return Preview(subscriber, found[-1], clock.now(), report=report)
    reason = report.skipped.get(subscriber.key, "no digest was rendered for them")
    return Preview(subscriber, None, clock.now(), reason=reason, report=report)


# --------------------------------------------------------------------------- check
def sample_digest(config: Config, at: datetime) -> Digest:
    """A digest of bundled sample papers under the configured topics (for `digest check`):
    the templates meet realistic text without touching the network or the state."""
    from digest.sources.sample import trending

    papers = trending("sample")
    topics = [t.name for t in config.topics] or ["Sample"]
    sections = []
    for i, topic in enumerate(topics):
        chosen = papers[i * 3 : i * 3 + 3] or papers[:3]
        matches = tuple(
            Match(p, topic, 1.0 - j / 10, (Reason("keyword", "sample", "title"),))
            for j, p in enumerate(chosen)
        )
        sections.append(TopicSection(topic, matches))
    subscriber = (
        config_subscriber(config.subscribers[0])
        if config.subscribers
        else Subscriber(email="reader@example.org", name="Sample Reader")
    )
    local = at.astimezone(config.zone)
    issue = Issue(
        id=local.date().isoformat(),
        date=local.date(),
        generated_at=at,
        title=f"{config.title} — {local:%B} {local.day}, {local.year}",
    )
    return Digest(issue, subscriber, tuple(sections))


def render_sample(config: Config, at: datetime) -> tuple[str, str, str]:
    """Render the sample digest with the configured templates: (subject, html, text)."""
    from digest.compose import links_for
    from digest.render import Renderer

    renderer = Renderer(config)
    digest = sample_digest(config, at)
    links = links_for(config, renderer, digest.subscriber, digest.issue)
    return renderer.render_digest(digest, links)


# --------------------------------------------------------------------------- serving
class PreviewServer:
    """Serves one HTML file on http://127.0.0.1:PORT/ (port 0: any free port)."""

    def __init__(self, path: Path, port: int = 0, host: str = "127.0.0.1") -> None:
        body = Path(path).read_bytes()

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                if self.path.split("?")[0] not in ("/", "/index.html"):
                    self.send_error(404, "only / is served")
                    return
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
                pass  # the terminal shows our URL line, not an access log

        self.host = host
        self.server = HTTPServer((host, port), Handler)
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        port = self.server.server_address[1]
        return f"http://{self.host}:{port}/"

    def serve_forever(self) -> None:
        self.server.serve_forever(poll_interval=0.2)

    def start(self) -> PreviewServer:
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join()
        self.server.server_close()
