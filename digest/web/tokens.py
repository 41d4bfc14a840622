"""Signed tokens in links: confirmation (timed: it expires after `confirm_hours`) and the
per-subscriber manage/unsubscribe token (no expiry: RFC 8058 links must keep working).

The clock is injected into itsdangerous through its `get_timestamp` hook, so expiry is
tested by moving a FixedClock, never by sleeping.
"""

from __future__ import annotations

from datetime import timedelta

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


class ConfirmTokens:
    """Confirmation tokens: {"e": address key, "n": the request's nonce}, timestamped."""

    def __init__(self, secret: str, clock: Clock, confirm_hours: float) -> None:
        self._serializer = URLSafeTimedSerializer(
            secret, salt=CONFIRM_SALT, signer=_clock_signer(clock)
        )
        self.max_age = int(timedelta(hours=confirm_hours).total_seconds())

    def make(self, email: str, nonce: str) -> str:
        return str(self._serializer.dumps({"e": email.lower(), "n": nonce}))

    def read(self, token: str) -> tuple[str, str]:
        try:
            data = self._serializer.loads(token, max_age=self.max_age)
        except SignatureExpired:
            raise ExpiredToken() from None
        except (BadSignature, ValueError, UnicodeError):
            raise TokenError() from None
        if not (isinstance(data, dict) and isinstance(data.get("e"), str)
                and isinstance(data.get("n"), str)):
            raise TokenError()
        return data["e"], data["n"]


def make_manage_token(email: str, secret: str) -> str:
    """The token of /manage/<token> and /unsubscribe/<token>: the very one the pipeline
    puts in every digest."""
    from digest.unsubscribe import make_token

    return make_token(email.lower(), secret)


def read_manage_token(token: str, secret: str) -> str:
    """The address a manage/unsubscribe token was made for; TokenError if forged."""
    from digest.unsubscribe import verify_token

    email = verify_token(token, secret)
    if email is None:
        raise TokenError()
    return email.lower()
