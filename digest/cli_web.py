"""`digest serve` (the subscribe/manage/unsubscribe web app) and `digest subscribers`
(everyone the digest goes to, from config.yaml and from the web, with their state)."""

from __future__ import annotations

import csv
import errno
import os
import signal
import socket
import sys
from dataclasses import dataclass
from datetime import datetime

import click

config_option = click.option(
    "--config",
    "-c",
    "config_path",
    type=click.Path(dir_okay=False),
    default=None,
    help="Path of config.yaml (default: ./config.yaml, else the built-in sample config).",
)


@click.command("serve")
@config_option
@click.option("--host", default=None, help="Address to listen on (default: web.host, 127.0.0.1).")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="Port to listen on (default: web.port, 8080).",
)
@click.option(
    "--forwarded-allow-ips",
    default=None,
    help="Proxies trusted for X-Forwarded-* headers (default: $FORWARDED_ALLOW_IPS, "
    "else 127.0.0.1).",
)
def serve(
    config_path: str | None, host: str | None, port: int | None, forwarded_allow_ips: str | None
) -> None:
    """Run the web app: subscribe with double opt-in, manage, one-click unsubscribe,
    the archive and the feeds. Needs the signing secret in $DIGEST_SECRET (web.secret_env)."""
    import uvicorn

    from digest import config as config_mod
    from digest.web import accesslog, check_secret, create_app

    config = config_mod.load(config_path)
    secret = check_secret(os.environ.get(config.web.secret_env), config.web.secret_env)
    host = host or config.web.host
    port = config.web.port if port is None else port
    # Bound before anything says "serving": a port in use is an error, in words, exit 1.
    sock = bind(host, port)
    port = sock.getsockname()[1]  # --port 0: the one the system chose
    if not config.base_url:
        click.secho(
            f"warning: base_url is not set: links in emails will point at http://{host}:{port}; "
            "set base_url in config.yaml to the public https:// address",
            fg="yellow",
            err=True,
        )
    try:
        app = create_app(
            config, secret=secret, public_url=None if config.base_url else f"http://{host}:{port}"
        )
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                proxy_headers=True,
                forwarded_allow_ips=forwarded_allow_ips,
                server_header=False,
                log_level="info",
            )
        )
        # Access lines stay (operators want them) but without the bearer tokens in
        # /manage/, /unsubscribe/ and /confirm/ links: installed after uvicorn.Config has
        # set up its loggers.
        accesslog.install()
        click.echo(f"serving {config.title} on http://{host}:{port} (Ctrl+C stops)", err=True)
        # uvicorn stops gracefully on SIGTERM/SIGINT, then raises the signal again against
        # the handlers it found: these make that a no-op, so a clean stop exits 0, as
        # `digest schedule` does, instead of dying of the signal (143).
        previous = {s: signal.signal(s, _stopped) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            server.run(sockets=[sock])
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
    finally:
        sock.close()
    if not server.started:
        from digest.errors import DigestError

        raise DigestError("the web app did not start", hint="see the messages above")


def _stopped(_signum: int, _frame: object) -> None:
    pass


def bind(host: str, port: int) -> socket.socket:
    """A TCP socket bound to host:port, or a DigestError saying what to do instead."""
    from digest.errors import DigestError

    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
    except socket.gaierror as exc:
        raise DigestError(
            f"cannot listen on {host!r}: {exc.strerror or exc}",
            hint="check --host (or web.host): an IP address or a local name",
        ) from None
    sock = socket.socket(family, kind, proto)
    # As uvicorn does: a restart may reuse the port at once (TIME_WAIT), never steal it.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(address)
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise DigestError(
                f"port {port} on {host} is already in use (another `digest serve`?)",
                hint=f"stop the other server, or choose another port: digest serve --port "
                f"{port + 1 if port < 65535 else 8081}",
            ) from None
        if exc.errno == errno.EACCES:
            raise DigestError(
                f"not allowed to listen on port {port}",
                hint="ports below 1024 need privileges; use --port 8080 behind a proxy",
            ) from None
        raise DigestError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            hint="check --host and --port (or web.host, web.port)",
        ) from None
    # Listening from here on: a request that comes while the app starts waits in the
    # backlog instead of being refused.
    sock.listen(2048)
    return sock


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

    gone = (
        {r["email"]: r["at"] for r in conn.execute("SELECT email, at FROM unsubscribed")}
        if _has_table(conn, "unsubscribed")
        else {}
    )
    rows: list[Row] = []
    seen: set[str] = set()
    for s in config.subscribers:
        key = s.email.lower()
        seen.add(key)
        rows.append(
            Row(
                s.email,
                s.name,
                "config",
                "unsubscribed" if key in gone else "active",
                tuple(s.topics),
                s.cadence,
                datetime.fromisoformat(gone[key]) if key in gone else None,
            )
        )
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
    return (
        conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,)
        ).fetchone()
        is not None
    )


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
            writer.writerow(
                [
                    _cell(r.email),
                    _cell(r.name),
                    r.origin,
                    r.state,
                    _cell("; ".join(r.topics)),
                    r.cadence,
                    r.since.isoformat() if r.since else "",
                ]
            )
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
