"""The mail commands: `digest unsubscribe` and `digest send-test`. Thin: the work is in
digest.unsubscribe and digest.deliver.smtp; errors become a message and an exit code."""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import wraps

import click

from digest.clock import system_clock
from digest.errors import ConfigError, DigestError


def _errors_to_click(func: Callable) -> Callable:
    @wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except DigestError as exc:
            error = click.ClickException(str(exc))
            error.exit_code = exc.exit_code
            raise error from None

    return wrapper


def _load(config_path: str | None):
    from digest.config import load

    return load(config_path)


@click.command("unsubscribe")
@click.argument("address", required=False)
@click.option("--token", help="The token from an unsubscribe link, instead of an address.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.yaml")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_errors_to_click
def unsubscribe(address: str | None, token: str | None, config_path: str | None, as_json: bool):
    """Stop mailing ADDRESS (or the subscriber named by --token), even while it is still
    listed in config.yaml, and cancel its pending deliveries."""
    from digest.store.db import open_db
    from digest.unsubscribe import check_token, explain_problem, is_known, secret_from_env
    from digest.unsubscribe import unsubscribe as do_unsubscribe

    if bool(address) == bool(token):
        raise click.UsageError("give either an ADDRESS or --token TOKEN")
    config = _load(config_path)
    secret = secret_from_env(config) if token else ""
    email = None if token else _address(address or "")
    conn = open_db(config.state_path)
    try:
        if token:
            found = check_token(conn, token, secret)
            if found.email is None:
                # A bad argument, like a mistyped address: a usage error (exit 2).
                raise click.BadParameter(
                    f"that unsubscribe token is not valid: {explain_problem(found.problem)}",
                    param_hint="--token",
                )
            email = _address(found.email)
        assert email is not None
        known = is_known(conn, config, email)
        result = do_unsubscribe(conn, email, system_clock().now(), "link" if token else "cli")
    finally:
        conn.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "email": result.email,
                    "new": result.new,
                    "known": known,
                    "cancelled": result.cancelled,
                }
            )
        )
        return
    if not known:
        click.echo(
            f"{result.email} was not a subscriber; added to the suppression list so it "
            "is never mailed"
            if result.new
            else f"{result.email} was not a subscriber and is already on the suppression list"
        )
        return
    state = "unsubscribed" if result.new else "was already unsubscribed"
    click.echo(f"{result.email} {state}; {result.cancelled} pending deliveries cancelled")


def _address(value: str) -> str:
    from digest.config import normalize_email

    try:
        return normalize_email(value)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="ADDRESS") from None


@click.command("send-test")
@click.option("--to", "to", required=True, help="Where to send the sample digest.")
@click.option("--config", "config_path", type=click.Path(dir_okay=False), help="config.yaml")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@_errors_to_click
def send_test(to: str, config_path: str | None, as_json: bool):
    """Send one small sample digest through the configured SMTP settings, to check them."""
    from digest.config import normalize_email
    from digest.deliver.smtp import SmtpOutbox
    from digest.store.deliveries import LedgerRow

    config = _load(config_path)
    if config.smtp is None:
        raise ConfigError(
            "there is no smtp section in the config",
            hint="add smtp: host, port, security, username, password_env",
        )
    try:
        to = normalize_email(to)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--to") from None
    now = system_clock().now()
    message, message_id = sample_message(config, to, now)
    outbox = SmtpOutbox(config)
    where = f"{outbox.host}:{outbox.port} ({outbox.security})"
    row = LedgerRow(
        to, "send-test", "sending", "smtp", message_id, (), message, 0, None, now, now, None
    )
    try:
        outbox.open()
        outcome = outbox.send(row)
    finally:
        outbox.close()
    if as_json:
        click.echo(
            json.dumps(
                {
                    "to": to,
                    "server": where,
                    "ok": outcome.ok,
                    "code": outcome.code,
                    "detail": outcome.detail,
                    "message_id": message_id,
                }
            )
        )
    elif outcome.ok:
        click.echo(f"sent a test digest to {to} via {where}\n  Message-ID: <{message_id}>")
    if not outcome.ok:
        kind = "permanent" if outcome.permanent else "temporary"
        raise DigestError(
            f"the server did not accept the test digest ({kind}): {outcome.detail}",
            hint="check the address, smtp.from and the server's logs",
        )


def sample_message(config, to: str, now) -> tuple[bytes, str]:
    """A three-paper digest from the bundled sample, as message bytes, and its Message-ID."""
    from html import escape

    from digest.message import Envelope, build_message, make_message_id, sender_domain
    from digest.sources.sample import trending

    papers = trending("sample")[:3]
    sender = (config.smtp.from_ if config.smtp else None) or config.delivery.from_
    stamp = now.strftime("%Y%m%dT%H%M%S")
    message_id = make_message_id(to, f"send-test-{stamp}", sender_domain(sender))
    text = (
        f"{config.title}: a test digest\n\n"
        + "\n\n".join(f"{i}. {p.title}\n{p.abstract[:300]}" for i, p in enumerate(papers, 1))
        + "\n\nThis is a test sent by `digest send-test`.\n"
    )
    html = (
        f"<html><body><h1>{escape(config.title)}: a test digest</h1><ol>"
        + "".join(
            f"<li><strong>{escape(p.title)}</strong><p>{escape(p.abstract[:300])}</p></li>"
            for p in papers
        )
        + "</ol><p>This is a test sent by <code>digest send-test</code>.</p></body></html>"
    )
    env = Envelope(
        subject=f"{config.title}: test digest",
        sender=sender,
        to_addr=to,
        to_name="",
        message_id=message_id,
        date=now,
        list_id=default_list_id(config, sender),
        unsubscribe_mailto=config.list_.unsubscribe_mailto,
        reply_to=config.delivery.reply_to,
    )
    return build_message(env, text, html), message_id


def default_list_id(config, sender: str) -> str:
    """The same List-Id as the digests (digest.compose.list_id)."""
    from digest.compose import list_id

    return list_id(config)
