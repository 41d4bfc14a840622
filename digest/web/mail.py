"""The emails the web app sends itself: "confirm your subscription" and "you are already
subscribed". They go through the configured delivery, outside the digest ledger:
- disk: the .eml is written to <output>/outbox/ (one file per message, named by time);
- smtp: sent through digest.deliver.smtp's outbox with the same settings as the digests.
"""

from __future__ import annotations

from datetime import UTC
from email.utils import make_msgid
from pathlib import Path
from typing import Protocol

from digest.clock import Clock
from digest.config import Config
from digest.deliver.disk import file_stem
from digest.errors import DeliveryError
from digest.fsutil import atomic_write
from digest.message import Envelope, build_message, sender_domain
from digest.web.templating import WebTemplates


class MailError(Exception):
    """The email could not be handed over; the reader is asked to try again later."""


class Mailer(Protocol):
    def send(self, to_addr: str, message: bytes, kind: str) -> str: ...


def outbox_dir(config: Config) -> Path:
    return config.output_dir / "outbox"


class DiskMailer:
    def __init__(self, folder: Path, clock: Clock) -> None:
        self.folder = Path(folder)
        self.clock = clock
        self._count = 0

    def send(self, to_addr: str, message: bytes, kind: str) -> str:
        self._count += 1
        stamp = self.clock.now().astimezone(UTC).strftime("%Y%m%dT%H%M%S")
        name = f"{stamp}-{self._count:04d}-{kind}-{file_stem(to_addr.lower())}.eml"
        return str(atomic_write(self.folder / name, message))


class SmtpMailer:
    """Hands one message to digest.deliver.smtp.SmtpOutbox, the digests' own sender."""

    def __init__(self, config: Config, clock: Clock) -> None:
        self.config = config
        self.clock = clock

    def send(self, to_addr: str, message: bytes, kind: str) -> str:
        from digest.deliver.smtp import SmtpOutbox
        from digest.store.deliveries import LedgerRow

        now = self.clock.now()
        row = LedgerRow(
            subscriber=to_addr,
            issue_id=f"web-{kind}",
            state="sending",
            method="smtp",
            message_id="",
            paper_ids=(),
            message=message,
            attempts=0,
            last_error=None,
            created_at=now,
            updated_at=now,
            next_attempt_at=None,
        )
        try:
            outbox = SmtpOutbox(self.config, self.clock)
            try:
                outcome = outbox.send(row)
            finally:
                outbox.close()
        except DeliveryError as exc:  # BatchAbort: server down, login or TLS refused
            raise MailError(exc.message) from exc
        if not outcome.ok:
            raise MailError(outcome.detail or "the SMTP server refused the message")
        return outcome.detail or "sent"


def make_mailer(config: Config, clock: Clock) -> Mailer:
    if config.delivery.method == "smtp":
        return SmtpMailer(config, clock)
    return DiskMailer(outbox_dir(config), clock)


def compose(
    config: Config, templates: WebTemplates, clock: Clock, to_addr: str, kind: str, **context
) -> bytes:
    """kind: "confirm" (context: link, hours) or "already" (context: manage_link)."""
    text, html = templates.email(f"email_{kind}", email=to_addr, **context)
    subject = {
        "confirm": f"Confirm your subscription to {config.title}",
        "already": f"You are already subscribed to {config.title}",
    }[kind]
    envelope = Envelope(
        subject=subject,
        sender=config.sender,
        to_addr=to_addr,
        to_name="",
        message_id=make_msgid(domain=sender_domain(config.sender))[1:-1],
        date=clock.now(),
        reply_to=config.delivery.reply_to,
    )
    return build_message(envelope, text, html)
