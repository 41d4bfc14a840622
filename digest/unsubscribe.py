"""Unsubscribing: signed per-subscriber tokens for the one-click link, and the state change.

Tokens are itsdangerous URLSafeSerializer signatures of the address (no expiry: an old
digest's link must keep working), keyed by the secret in the env var config.web.secret_env,
so `digest serve` verifies the links the mail carries. An unsubscribed address is never
mailed again, even while still listed in config.yaml, and its pending deliveries are
cancelled.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import quote

from itsdangerous import BadSignature, URLSafeSerializer

from digest.errors import ConfigError
from digest.store import deliveries
from digest.store.optouts import add as _add
from digest.store.optouts import is_unsubscribed, unsubscribed

__all__ = [
    "Unsubscribed", "is_unsubscribed", "make_token", "secret_from_env", "unsubscribe",
    "unsubscribe_url", "unsubscribed", "verify_token",
]

_SALT = "digest-unsubscribe"


def make_token(email: str, secret: str) -> str:
    """An opaque, URL-safe token naming one subscriber (the lower-cased address)."""
    return URLSafeSerializer(secret, salt=_SALT).dumps(email.lower())


def verify_token(token: str, secret: str) -> str | None:
    """The address a token was made for, or None if it is forged, damaged or not ours."""
    try:
        value = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except BadSignature:
        return None
    return value if isinstance(value, str) and "@" in value else None


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
