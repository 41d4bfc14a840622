"""`digest serve` (the subscribe/manage/unsubscribe web app) and `digest subscribers`
(everyone the digest goes to, from config.yaml and from the web, with their state)."""

from __future__ import annotations

import csv
import os
import sys
from dataclasses import dataclass
from datetime import datetime

import click

config_option = click.option(
    "--config", "-c", "config_path", type=click.Path(dir_okay=False), default=None,
    help="Path of config.yaml (default: ./config.yaml, else the built-in sample config).",
)


@click.command("serve")
@config_option
@click.option("--host", default=None, help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option("--port", type=click.IntRange(0, 65535), default=None,
              help="Port to listen on (default: web.port, 8080).")
@click.option("--forwarded-allow-ips", default=None,
              help="Proxies trusted for X-Forwarded-* headers (default: $FORWARDED_ALLOW_IPS, "
              "else 127.0.0.1).")
def serve(config_path: str | None, host: str | None, port: int | None,
          forwarded_allow_ips: str | None) -> None:
    """Run the web app: subscribe with double opt-in, manage, one-click unsubscribe,
    the archive and the feeds. Needs the signing secret in $DIGEST_SECRET (web.secret_env)."""
    import uvicorn

    from digest import config as config_mod
    from digest.web import check_secret, create_app

    config = config_mod.load(config_path)
    secret = check_secret(os.environ.get(config.web.secret_env), config.web.secret_env)
    host = host or config.web.host
    port = config.web.port if port is None else port
    if not config.base_url:
        click.secho(
            f"warning: base_url is not set: links in emails will point at http://{host}:{port}; "
            "set base_url in config.yaml to the public https:// address", fg="yellow", err=True,
        )
    app = create_app(config, secret=secret,
                     public_url=None if config.base_url else f"http://{host}:{port}")
    click.echo(f"serving {config.title} on http://{host}:{port} (Ctrl+C stops)", err=True)
    uvicorn.run(app, host=host, port=port, proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips, server_header=False,
                log_level="info")


@dataclass(frozen=True, slots=True)
class Row:
    email: str
    name: str
    origin: str  # config | web
    state: str  # active | pending | expired | unsubscribed
    topics: tuple[str, ...]
    cadence: str
    since: datetime | None


def listing(config, conn, now: datetime) -> list[Row]:
    """Every subscriber the state and config know, config.yaml first."""
    from digest.store import subscribers as web_store

    gone = {r["email"]: r["at"] for r in conn.execute("SELECT email, at FROM unsubscribed")} \
        if _has_table(conn, "unsubscribed") else {}
    rows: list[Row] = []
    seen: set[str] = set()
    for s in config.subscribers:
        key = s.email.lower()
        seen.add(key)
        rows.append(Row(s.email, s.name, "config", "unsubscribed" if key in gone else "active",
                        tuple(s.topics), s.cadence,
                        datetime.fromisoformat(gone[key]) if key in gone else None))
    for w in web_store.all_rows(conn):
        if w.email in seen:
            continue
        state = {"confirmed": "active"}.get(w.state, w.state)
        if w.expired(now, config.web.confirm_hours):
            state = "expired"
        if state == "active" and w.email in gone:
            state = "unsubscribed"
        rows.append(Row(w.address, "", "web", state, w.topics, w.cadence, w.since))
    return rows


def _has_table(conn, name: str) -> bool:
    return conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
    ).fetchone() is not None


@click.command("subscribers")
@config_option
@click.option("--csv", "as_csv", is_flag=True, help="Write CSV to stdout (for a spreadsheet).")
def subscribers(config_path: str | None, as_csv: bool) -> None:
    """List subscribers from config.yaml and from the web: state, topics, since when."""
    from digest import config as config_mod
    from digest.clock import system_clock
    from digest.store.db import open_db

    config = config_mod.load(config_path)
    conn = open_db(config.state_path)
    try:
        rows = listing(config, conn, system_clock().now())
    finally:
        conn.close()
    if as_csv:
        writer = csv.writer(sys.stdout, lineterminator="\n")
        writer.writerow(["email", "name", "origin", "state", "topics", "cadence", "since"])
        for r in rows:
            writer.writerow([_cell(r.email), _cell(r.name), r.origin, r.state,
                             _cell("; ".join(r.topics)), r.cadence,
                             r.since.isoformat() if r.since else ""])
        return
    if not rows:
        click.echo("no subscribers (add some to config.yaml, or run `digest serve`)")
        return
    for r in rows:
        topics = ", ".join(r.topics) or "all topics"
        since = f" since {r.since:%Y-%m-%d %H:%M %Z}" if r.since else ""
        name = f" ({r.name})" if r.name else ""
        click.echo(f"{r.email}{name}  [{r.origin}] {r.state}{since}  {r.cadence}: {topics}")
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.state] = counts.get(r.state, 0) + 1
    click.echo(", ".join(f"{n} {state}" for state, n in sorted(counts.items())))


def _cell(value: str) -> str:
    # A cell starting with = + - @ is a formula to a spreadsheet (CSV injection).
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value
