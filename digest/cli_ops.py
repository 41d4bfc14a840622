"""The operator's commands: `schedule`, `check`, `preview`, `status`.

Thin wrappers: the work lives in digest.schedule, digest.cron and digest.preview. Exit codes
as everywhere: 0 ok, 1 failure, 2 bad config or usage, 3 partial.
"""

from __future__ import annotations

import json
import logging
import signal
import sqlite3
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from digest.cli import config_option
from digest.errors import EXIT_FAILURE, EXIT_OK, EXIT_USAGE, ConfigError, DigestError

log = logging.getLogger("digest.ops")


def load_config(config_path: str | None) -> Any:
    """Load config.yaml and register its secrets before anything can log them."""
    from digest import config as config_mod
    from digest.logs import register_config_secrets

    config = config_mod.load(config_path)
    register_config_secrets(config)
    return config


# --------------------------------------------------------------------------- schedule
@click.command("schedule")
@config_option
@click.pass_context
def schedule(ctx: click.Context, config_path: str | None) -> None:
    """Run on the configured schedule, in the foreground, until SIGTERM or Ctrl-C.

    One run at a time; a run missed while the process was stopped is made up once at start;
    on SIGTERM the run in flight finishes before the process exits.
    """
    # First, before anything slow (config, APScheduler): a stop sent while the process
    # starts is noted and honoured with exit 0, never the default death by signal (143).
    early = EarlyStop.install()
    from digest.clock import system_clock
    from digest.logs import at_least
    from digest.schedule import plan_jobs, run_scheduler

    config = load_config(config_path)
    plan_jobs(config)  # a bad cron is a config error (exit 2) before anything starts
    at_least(logging.INFO)  # "next run due" lines are the point of a long-running process
    code = run_scheduler(
        config,
        system_clock(),
        threading.Event(),
        handle_signals=True,
        pending_signal=early.received,
    )
    ctx.exit(code)


class EarlyStop:
    """SIGTERM/SIGINT noted (not acted on) until run_scheduler installs its own handling.
    The handler only sets an attribute: safe whatever the main thread is doing."""

    SIGNALS = (signal.SIGTERM, signal.SIGINT)

    def __init__(self) -> None:
        self.signum: int | None = None

    @classmethod
    def install(cls) -> EarlyStop:
        early = cls()
        for signum in cls.SIGNALS:
            signal.signal(signum, early._note)
        return early

    def _note(self, signum: int, _frame: Any) -> None:
        self.signum = self.signum or signum

    def received(self) -> int | None:
        return self.signum


# --------------------------------------------------------------------------- check
@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: skipped
    detail: str
    warn: bool = False  # worth fixing, but nothing fails (the exit code stays 0)

    def line(self) -> str:
        from digest.logs import redact

        mark = (
            "skip"
            if self.ok is None
            else "FAIL"
            if not self.ok
            else ("warn" if self.warn else "ok")
        )
        return redact(f"{mark:<4} {self.name}: {self.detail}")


@click.command("check")
@config_option
@click.option("--network", is_flag=True, help="Also fetch every source and log in to SMTP.")
@click.pass_context
def check(ctx: click.Context, config_path: str | None, network: bool) -> None:
    """Validate the config, the templates and the output folder; with --network, reach
    every source and the SMTP server (EHLO, STARTTLS, AUTH; no mail is sent)."""
    from digest.clock import system_clock
    from digest.schedule import cron_problems

    try:
        config = load_config(config_path)
    except ConfigError as exc:
        click.echo(Check("config", False, str(exc)).line())
        ctx.exit(EXIT_USAGE)
    problems = cron_problems(config)
    if problems:
        click.echo(Check("config", False, "; ".join(problems)).line())
        ctx.exit(EXIT_USAGE)
    clock = system_clock()
    checks = [
        _config_check(config_path, config),
        _schedule_check(config, clock),
        _templates_check(config, clock),
        _output_check(config),
        _state_check(config),
        *_secret_checks(config),
    ]
    if network:
        checks += _source_checks(config, clock)
        checks.append(_smtp_check(config, clock))
    else:
        checks += _local_source_checks(config, clock)
        checks.append(Check("network", None, "sources and SMTP not contacted (use --network)"))
    for item in checks:
        click.secho(item.line(), fg="red" if item.ok is False else "yellow" if item.warn else None)
    ctx.exit(EXIT_FAILURE if any(c.ok is False for c in checks) else EXIT_OK)


def _config_check(config_path: str | None, config: Any) -> Check:
    where = config_path or ("config.yaml" if Path("config.yaml").exists() else "built-in default")
    counts = (
        f"{len(config.sources)} source(s), {len(config.topics)} topic(s), "
        f"{len(config.subscribers)} subscriber(s)"
    )
    return Check("config", True, f"{where} ({counts})")


def _schedule_check(config: Any, clock: Any) -> Check:
    from digest.cron import describe
    from digest.schedule import next_due, plan_jobs

    found = next_due(plan_jobs(config), clock.now())
    if found is None:
        return Check("schedule", False, "the cron expressions never fire again")
    fire, job = found
    return Check("schedule", True, f"next run {describe(fire, config.zone)} ({job.label})")


def _templates_check(config: Any, clock: Any) -> Check:
    from digest.preview import render_sample

    where = f" from {config.templates_dir}" if config.templates_dir else " (shipped)"
    try:
        subject, html, text = render_sample(config, clock.now())
    except DigestError as exc:
        return Check("templates", False, str(exc))
    except Exception as exc:  # a template or MJML bug: report it, check the rest
        return Check("templates", False, f"{type(exc).__name__}: {exc}")
    if not html.strip() or not text.strip() or not subject.strip():
        return Check("templates", False, "the sample digest rendered an empty subject or body")
    return Check("templates", True, f"sample digest rendered{where} ({len(html)} bytes HTML)")


def _writable(folder: Path) -> str | None:
    """None if files can be created in `folder` (or in the ancestor it would be made in)."""
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            return f"no existing parent folder of {folder}"
        probe = probe.parent
    if not probe.is_dir():
        return f"{probe} is not a folder"
    try:
        with tempfile.NamedTemporaryFile(dir=probe, prefix=".digest-check-"):
            pass
    except OSError as exc:
        return f"cannot write in {probe}: {exc.strerror or exc}"
    return None


def _output_check(config: Any) -> Check:
    folder = config.output_dir
    problem = _writable(folder)
    if problem:
        return Check("output", False, f"{problem} (output.dir)")
    return Check(
        "output", True, f"{folder} is writable" + ("" if folder.exists() else " (will be created)")
    )


def _state_check(config: Any) -> Check:
    state = config.state_path
    problem = _writable(state.parent)
    if problem:
        return Check("state", False, f"{problem} (state)")
    if not state.exists():
        return Check("state", True, f"{state} will be created by the first run")
    try:
        conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
        try:
            result = conn.execute("PRAGMA quick_check").fetchone()[0]
        finally:
            conn.close()
    except sqlite3.Error as exc:
        return Check("state", False, f"{state} cannot be read: {exc}")
    if result != "ok":
        return Check("state", False, f"{state} is damaged: {result}")
    return Check("state", True, f"{state} is readable and intact")


def _secret_checks(config: Any) -> list[Check]:
    """The secrets read from the environment: checked here, not first at send time."""
    import os

    out = []
    smtp = config.smtp
    if smtp is not None and smtp.username:
        var = smtp.password_env
        if not var:
            out.append(
                Check(
                    "smtp login",
                    False,
                    f"smtp.username is {smtp.username!r} but "
                    "smtp.password_env is not set: name the environment variable "
                    "that holds the password",
                )
            )
        elif not os.environ.get(var):
            state = "is empty" if var in os.environ else "is not set"
            out.append(
                Check(
                    "smtp login",
                    False,
                    f"the environment variable {var} "
                    f"(smtp.password_env) {state}: the server will refuse to log in "
                    f"{smtp.username}; export {var}=<the password>",
                )
            )
        else:
            out.append(Check("smtp login", True, f"password for {smtp.username} in ${var}"))
    if config.base_url:
        var = config.web.secret_env
        if not os.environ.get(var):
            out.append(
                Check(
                    "links",
                    True,
                    f"base_url is set but the environment variable "
                    f"{var} (web.secret_env) is not: digests will carry no one-click "
                    "unsubscribe or manage links; export the secret `digest serve` "
                    "uses",
                    warn=True,
                )
            )
        else:
            out.append(Check("links", True, f"unsubscribe and manage links signed with ${var}"))
    return out


def _local_source_checks(config: Any, clock: Any) -> list[Check]:
    """Sources that need no network (files, the sample) are read even without --network."""
    local = [s for s in config.sources if s.type in ("file", "sample") and s.enabled]
    if not local:
        return []
    from types import SimpleNamespace

    return _source_checks(SimpleNamespace(sources=local, root=config.root), clock)


def _source_checks(config: Any, clock: Any) -> list[Check]:
    from digest.sources import FetchContext, fetch_one

    ctx = FetchContext(clock=clock, conn=None, root=config.root)
    out = []
    for source in config.sources:
        name = f"source {source.name}"
        if not source.enabled:
            out.append(Check(name, None, "disabled"))
            continue
        result = fetch_one(source, ctx)
        if result.error:
            out.append(Check(name, False, result.error))
        else:
            out.append(Check(name, True, f"{len(result.papers)} papers ({result.seconds:.2f}s)"))
    return out


def _smtp_check(config: Any, clock: Any) -> Check:
    if config.smtp is None:
        return Check("smtp", None, f"no smtp section (delivery.method is {config.delivery.method})")
    from digest.deliver.smtp import SmtpOutbox

    smtp = config.smtp
    where = f"{smtp.host}:{smtp.effective_port} ({smtp.security})"
    try:
        # The outbox's own connect: EHLO, STARTTLS, AUTH exactly as a run does; no mail.
        outbox = SmtpOutbox(config, clock)
        outbox.open()
        outbox.close()
    except DigestError as exc:
        return Check("smtp", False, str(exc).replace("\n", " "))
    except Exception as exc:
        return Check("smtp", False, f"{where}: {type(exc).__name__}: {exc}")
    login = f", logged in as {smtp.username}" if smtp.username else ""
    return Check("smtp", True, f"{where} accepted the session{login}")


# --------------------------------------------------------------------------- preview
@click.command("preview")
@config_option
@click.option(
    "--subscriber", "email", default=None, help="Whose digest (default: the first active one)."
)
@click.option("--no-serve", is_flag=True, help="Only write the HTML file and print its path.")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=8000,
    show_default=True,
    help="Port on 127.0.0.1 to serve the preview on (0: any free port).",
)
@click.pass_context
def preview(
    ctx: click.Context, config_path: str | None, email: str | None, no_serve: bool, port: int
) -> None:
    """Render the next digest of a subscriber without recording anything, and show it."""
    from digest.clock import system_clock
    from digest.preview import PreviewServer, find_subscriber, render_preview

    config = load_config(config_path)
    subscriber = find_subscriber(config, email)
    result = render_preview(config, system_clock(), subscriber)
    if result.html is None:
        click.echo(f"nothing to preview for {subscriber.email}: {result.reason}")
        ctx.exit(EXIT_OK)
    click.echo(
        f"digest for {subscriber.email} as of {result.at.astimezone(config.zone):%Y-%m-%d %H:%M %Z}"
    )
    if no_serve:
        click.echo(str(result.html))
        ctx.exit(EXIT_OK)
    try:
        server = PreviewServer(result.html, port)
    except OSError as exc:
        raise DigestError(
            f"cannot listen on 127.0.0.1:{port}: {exc.strerror or exc}",
            hint="choose another --port (0 picks a free one)",
        ) from None
    click.echo(f"serving {result.html} on {server.url} (Ctrl-C to stop)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server.server_close()
    ctx.exit(EXIT_OK)


# --------------------------------------------------------------------------- status
@click.command("status")
@config_option
@click.option(
    "--limit",
    type=click.IntRange(1, 1000),
    default=10,
    show_default=True,
    help="How many runs to show.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_context
def status(ctx: click.Context, config_path: str | None, limit: int, as_json: bool) -> None:
    """Show the last runs (when, how they ended, what was sent or failed) and the next."""
    from digest.clock import system_clock
    from digest.ops_status import gather, render_text

    config = load_config(config_path)
    data = gather(config, system_clock().now(), limit)
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        for line in render_text(data, config.zone):
            click.echo(line)
    ctx.exit(EXIT_OK)
