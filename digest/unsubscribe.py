"""Unsubscribing: opaque per-subscriber tokens for the one-click and manage links, and the
state change.

A token is the URL-safe base64 of HMAC-SHA256(secret, "subscriber:" + the lower-cased
address), cut to TOKEN_LENGTH characters: it names one subscriber without carrying the
address, so the address never lands in a web server's or a mail scanner's URL log. The
state's `link_tokens` table maps each token it issued back to its address; reading a token
looks it up there, then recomputes the HMAC with the current secret (config.web.secret_env),
so a token is good only if this state issued it and the secret has not changed since.
Tokens never expire: an old digest's unsubscribe link must keep working.

An unsubscribed address is never mailed again, even while still listed in config.yaml, and
its pending deliveries are cancelled.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from urllib.parse import quote

from digest.errors import ConfigError
from digest.store import deliveries
from digest.store import tokens as token_store
from digest.store.optouts import add as _add
from digest.store.optouts import is_unsubscribed, unsubscribed

__all__ = [
    "TokenCheck",
    "Unsubscribed",
    "check_token",
    "explain_problem",
    "is_known",
    "is_unsubscribed",
    "issue_token",
    "make_token",
    "secret_from_env",
    "unsubscribe",
    "unsubscribe_url",
    "unsubscribed",
    "verify_token",
]

TOKEN_LENGTH = 32  # 192 bits of the HMAC: far beyond guessing
_TOKEN_RE = re.compile(rf"[A-Za-z0-9_-]{{{TOKEN_LENGTH}}}")
_PURPOSE = b"subscriber:"

Problem = Literal["malformed", "unknown", "mismatch"]


def _key(email: str) -> str:
    return email.strip().lower()


def make_token(email: str, secret: str) -> str:
    """The opaque, URL-safe token naming one subscriber: the same for the same address and
    secret, so every digest of a reader carries the same links."""
    mac = hmac.new(
        secret.encode("utf-8"), _PURPOSE + _key(email).encode("utf-8"), hashlib.sha256
    ).digest()
    return base64.urlsafe_b64encode(mac).decode("ascii")[:TOKEN_LENGTH]


def issue_token(conn: sqlite3.Connection, email: str, secret: str, at: datetime) -> str:
    """make_token, recorded in the state so that `verify_token` can read it back."""
    token = make_token(email, secret)
    token_store.record(conn, token, _key(email), at)
    return token


@dataclass(frozen=True, slots=True)
class TokenCheck:
    """What reading a token found: the address, or why there is none.
    malformed: not a token at all (cut, altered, or from an older version's links);
    unknown: well-formed, but this state never issued it (forged, or another installation);
    mismatch: issued here, but under another secret (web.secret_env changed since)."""

    email: str | None
    problem: Problem | None = None


def check_token(conn: sqlite3.Connection, token: str, secret: str) -> TokenCheck:
    token = token.strip()
    if not _TOKEN_RE.fullmatch(token):
        return TokenCheck(None, "malformed")
    email = token_store.lookup(conn, token)
    if email is None:
        return TokenCheck(None, "unknown")
    if not hmac.compare_digest(make_token(email, secret), token):
        return TokenCheck(None, "mismatch")
    return TokenCheck(email)


def verify_token(token: str, secret: str, conn: sqlite3.Connection) -> str | None:
    """The address (lower-cased) a token was issued for, or None if it is not one of ours."""
    return check_token(conn, token, secret).email


def explain_problem(problem: Problem | None) -> str:
    """A sentence for a person holding a token that did not work."""
    if problem == "mismatch":
        return (
            "the signing secret has changed since this link was sent; a newer digest "
            "carries a working link"
        )
    if problem == "unknown":
        return (
            "this digest never issued that link: it may come from another installation, "
            "from a digest sent before links were recorded, or have been altered"
        )
    return "that is not a complete link token: copy the whole link from the email"


def unsubscribe_url(base_url: str, token: str) -> str:
    """The one-click link (RFC 8058 POST target, and a page on GET) served by `digest serve`."""
    return f"{base_url.rstrip('/')}/unsubscribe?token={quote(token, safe='')}"


def secret_from_env(config) -> str:
    name = config.web.secret_env
    secret = os.environ.get(name)
    if not secret:
        raise ConfigError(
            f"no signing secret: the environment variable {name} is not set",
            hint=f"export {name}=<a long random string> (the same one `digest serve` uses)",
        )
    return secret


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    email: str
    new: bool  # False if it was already unsubscribed
    cancelled: int  # pending deliveries cancelled


def unsubscribe(
    conn: sqlite3.Connection, email: str, at: datetime, source: str = "cli"
) -> Unsubscribed:
    key = email.strip().lower()
    new = _add(conn, key, at, source)
    cancelled = deliveries.cancel_pending(conn, key, at)
    return Unsubscribed(key, new, cancelled)


def is_known(conn: sqlite3.Connection, config, email: str) -> bool:
    """Whether the address is (or was) a subscriber: listed in config.yaml, asked through the
    web, or already sent a digest."""
    key = _key(email)
    if any(s.email.lower() == key for s in config.subscribers):
        return True
    from digest.store import subscribers as web_store

    if web_store.get(conn, key) is not None:
        return True
    found = conn.execute("SELECT 1 FROM deliveries WHERE subscriber = ? LIMIT 1", (key,))
    return found.fetchone() is not None
