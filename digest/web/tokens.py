"""Tokens in links: confirmation (signed and timed: it expires after `confirm_hours`) and the
per-subscriber manage/unsubscribe token (opaque, recorded in the state, no expiry: RFC 8058
links must keep working; see digest.unsubscribe). Neither carries the address.

The clock is injected into itsdangerous through its `get_timestamp` hook, so expiry is
tested by moving a FixedClock, never by sleeping.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from itsdangerous import BadSignature, SignatureExpired, TimestampSigner, URLSafeTimedSerializer

from digest.clock import Clock

CONFIRM_SALT = "digest-web-confirm"


class TokenError(Exception):
    """A link token that cannot be used. `status` is the HTTP status to answer with."""

    status = 400
    title = "This link is not valid"
    detail = (
        "The link may have been cut when it was copied. Open it again from the email, "
        "or subscribe again from the home page."
    )


class ExpiredToken(TokenError):
    status = 410
    title = "This link has expired"
    detail = "Confirmation links are valid for a limited time. Subscribe again to get a new one."


class StaleToken(TokenError):
    status = 410
    title = "This link is no longer valid"
    detail = (
        "A newer confirmation email was sent since, or the address unsubscribed. "
        "Use the newest email, or subscribe again from the home page."
    )


def _clock_signer(clock: Clock) -> type[TimestampSigner]:
    class ClockSigner(TimestampSigner):
        def get_timestamp(self) -> int:
            return int(clock.now().timestamp())

    return ClockSigner


class UnknownToken(TokenError):
    """A well-formed manage/unsubscribe token this state cannot read back."""

    title = "This link is not known here"
    detail = (
        "This link was not issued by this digest: it may come from a digest sent before "
        "its links were recorded, from another installation, or have been altered. Use the "
        "link in your most recent digest, or subscribe again from the home page."
    )


class RotatedToken(TokenError):
    title = "This link is no longer valid"
    detail = (
        "The digest's signing key has changed since this link was sent. Use the link in "
        "your most recent digest, or subscribe again from the home page."
    )


class ConfirmTokens:
    """Confirmation tokens: the request's nonce, signed and timestamped. Only the nonce: a
    token in a URL must not carry the address (URL logs, scanners); the nonce finds the
    request in the state (digest.store.subscribers.by_nonce)."""

    def __init__(self, secret: str, clock: Clock, confirm_hours: float) -> None:
        self._serializer = URLSafeTimedSerializer(
            secret, salt=CONFIRM_SALT, signer=_clock_signer(clock)
        )
        self.max_age = int(timedelta(hours=confirm_hours).total_seconds())

    def make(self, nonce: str) -> str:
        return str(self._serializer.dumps(nonce))

    def read(self, token: str) -> str:
        """The nonce a token was made for; ExpiredToken or TokenError."""
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise ExpiredToken() from None
        except (BadSignature, ValueError, UnicodeError):
            raise TokenError() from None
        if not isinstance(data, str) or not data:
            raise TokenError()
        return data


def issue_manage_token(conn: sqlite3.Connection, email: str, secret: str, at: datetime) -> str:
    """The token of /manage/<token> and /unsubscribe/<token>: the very one the pipeline
    puts in every digest, recorded so that it can be read back."""
    from digest.unsubscribe import issue_token

    return issue_token(conn, email, secret, at)


def read_manage_token(conn: sqlite3.Connection, token: str, secret: str) -> str:
    """The address (lower-cased) a manage/unsubscribe token was issued for; a TokenError
    saying why not otherwise."""
    from digest.unsubscribe import check_token

    found = check_token(conn, token, secret)
    if found.email is not None:
        return found.email
    if found.problem == "unknown":
        raise UnknownToken()
    if found.problem == "mismatch":
        raise RotatedToken()
    raise TokenError()
