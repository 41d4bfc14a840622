"""One subscriber's digest, composed: links, rendering (cut to fit Gmail), the MIME message,
and the planned row in the delivery ledger that holds its exact bytes."""

from __future__ import annotations

import os
from pathlib import Path

from digest.config import Config
from digest.message import sender_domain
from digest.models import Digest, Issue, Links, Subscriber


def links_for(config: Config, renderer, subscriber: Subscriber, issue: Issue, conn=None) -> Links:
    """The links of one subscriber's digest. With `conn` (the run's state), the manage and
    unsubscribe token is recorded there, so `digest serve` can read it back; without one
    (a preview of a sample) the links are shown but would not be recognised."""
    from digest.unsubscribe import issue_token, make_token

    secret = os.environ.get(config.web.secret_env)
    unsubscribe = manage = None
    if config.base_url and secret:
        if conn is not None:
            token = issue_token(conn, subscriber.key, secret, issue.generated_at)
        else:
            token = make_token(subscriber.key, secret)
        unsubscribe = f"{config.base_url}/unsubscribe/{token}"
        manage = f"{config.base_url}/manage/{token}"
    mailto = config.list_.unsubscribe_mailto or _address(config.sender)
    feeds = []
    if config.base_url:
        feeds.append(("RSS", f"{config.base_url}/feeds/all.rss.xml"))
        feeds.append(("Atom", f"{config.base_url}/feeds/all.atom.xml"))
    web_version = renderer.archive_url(issue) if config.output.archive else None
    # A file:// link to the archive on this disk helps a local preview, but in a mail sent
    # to someone else it is a dead link that reveals a server path.
    local = web_version and not web_version.startswith(("https://", "http://"))
    if local and config.delivery.method != "disk":
        web_version = None
    return Links(
        web_version=web_version,
        manage=manage,
        unsubscribe=unsubscribe,
        unsubscribe_mailto=mailto,
        archive=f"{config.base_url}/archive/"
        if config.base_url and config.output.archive
        else None,
        feeds=tuple(feeds),
    )


def compose_and_plan(
    config: Config,
    conn,
    renderer,
    digest: Digest,
    edition: Issue,
    now,
    out_dir: Path,
    *,
    preview: bool,
) -> list[str]:
    """Render the digest, build its message and plan it in the ledger. Returns the files
    written (the HTML and text parts, for disk delivery and previews). `edition` is the
    run's issue, whose archive page is the web version (a weekly reader's digest is keyed by
    their period, which has no archive page of its own)."""
    from digest.deliver.disk import file_stem, mail_dir
    from digest.fsutil import atomic_write
    from digest.message import Envelope, build_message, fits_gmail, make_message_id
    from digest.store import deliveries

    sub = digest.subscriber
    links = links_for(config, renderer, sub, edition, conn)
    subject, html, text = renderer.render_digest(digest, links)
    # Past Gmail's clipping size the digest is cut, with "and N more" to the web version;
    # the papers cut are not marked sent, so the next digest brings them.
    while not fits_gmail(html) and len(digest.matches) > 1:
        size = len(html.encode("utf-8"))
        keep = min(len(digest.matches) - 1, int(len(digest.matches) * 90 * 1024 / size))
        digest = keep_best(digest, max(1, keep))
        subject, html, text = renderer.render_digest(digest, links)
    envelope = Envelope(
        subject=subject,
        sender=config.sender,
        to_addr=sub.email,
        to_name=sub.name,
        # Namespaced by the list, so two digests of different lists never share an id.
        message_id=make_message_id(
            f"{list_ident(config)}\x00{sub.key}", digest.issue.id, sender_domain(config.sender)
        ),
        date=now,
        list_id=list_id(config),
        unsubscribe_url=links.unsubscribe,
        unsubscribe_mailto=links.unsubscribe_mailto,
        reply_to=config.delivery.reply_to,
    )
    message = build_message(envelope, text, html)
    files = []
    if config.delivery.method == "disk" or preview:
        folder = mail_dir(out_dir, digest.issue.id)
        stem = file_stem(sub.key)
        files.append(str(atomic_write(folder / f"{stem}.html", html)))
        files.append(str(atomic_write(folder / f"{stem}.txt", text)))
    deliveries.plan(
        conn,
        subscriber=sub.key,
        issue_id=digest.issue.id,
        method="disk" if preview else config.delivery.method,
        message_id=envelope.message_id,
        paper_ids=digest.paper_ids,
        message=message,
        at=now,
    )
    return files


def keep_best(digest: Digest, keep: int) -> Digest:
    """The digest cut to its `keep` best-scored papers; the rest count as omitted."""
    from digest.models import TopicSection

    kept = {id(m) for m in sorted(digest.matches, key=lambda m: -m.score)[:keep]}
    sections = tuple(
        TopicSection(s.topic, tuple(m for m in s.matches if id(m) in kept)) for s in digest.sections
    )
    dropped = tuple(m for m in digest.matches if id(m) not in kept)
    return Digest(
        digest.issue,
        digest.subscriber,
        tuple(s for s in sections if s.matches),
        digest.omitted + len(dropped),
        digest.left_out + dropped,
    )


def _address(sender: str) -> str:
    from email.utils import parseaddr

    return parseaddr(sender)[1] or sender


def list_ident(config: Config) -> str:
    """The List-Id identifier (RFC 2919): `list.id`, else derived from the title."""
    import re

    configured = config.list_.id
    if configured:
        return configured.rpartition("<")[2].rstrip(">").strip()
    slug = re.sub(r"[^a-z0-9]+", "-", config.title.lower()).strip("-")[:60] or "digest"
    return f"{slug}.{sender_domain(config.sender)}"


def list_id(config: Config) -> str:
    """The List-Id header value: the title as a quoted phrase, then <identifier>."""
    from email.utils import quote

    configured = config.list_.id or ""
    phrase = configured.rpartition("<")[0].strip() if "<" in configured else config.title
    phrase = " ".join(phrase.split())[:100]
    if phrase.startswith('"') and phrase.endswith('"') and len(phrase) > 1:
        phrase = phrase[1:-1]
    if not phrase:
        return f"<{list_ident(config)}>"
    if any(ch in phrase for ch in '()<>@,;:\\".[]'):  # specials: a quoted-string
        phrase = f'"{quote(phrase)}"'
    return f"{phrase} <{list_ident(config)}>"
