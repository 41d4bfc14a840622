"""CSRF protection without JavaScript: a signed double-submit token.

A random value lives in a cookie (HttpOnly, SameSite=Strict); every form carries the same
value signed with the server secret and timestamped. A POST is accepted only when the
form's token is genuine, recent, and matches the cookie: a third-party site can neither
read the cookie nor forge the signature.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import timedelta

from itsdangerous import BadSignature, URLSafeTimedSerializer
from starlette.requests import Request
from starlette.responses import Response

from digest.clock import Clock
from digest.web.tokens import _clock_signer

COOKIE = "digest_csrf"
FIELD = "csrf_token"
SALT = "digest-web-csrf"
MAX_AGE = timedelta(hours=24)


class CsrfError(Exception):
    status = 403
    title = "This form has expired"
    detail = (
        "For your safety the form must be sent from this site, with cookies enabled, within "
        "a day of loading it. Go back, reload the page and send the form again."
    )


class Csrf:
    def __init__(self, secret: str, clock: Clock, secure_cookie: bool) -> None:
        self._serializer = URLSafeTimedSerializer(secret, salt=SALT, signer=_clock_signer(clock))
        self.secure_cookie = secure_cookie

    def issue(self, request: Request) -> tuple[str, str | None]:
        """(form token, new cookie value or None when the browser's cookie is kept)."""
        current = request.cookies.get(COOKIE, "")
        fresh = None
        if not _plausible(current):
            current = fresh = secrets.token_urlsafe(18)
        return str(self._serializer.dumps(current)), fresh

    def set_cookie(self, response: Response, value: str | None) -> None:
        if value is None:
            return
        response.set_cookie(
            COOKIE,
            value,
            max_age=int(MAX_AGE.total_seconds()) * 30,
            path="/",
            httponly=True,
            samesite="strict",
            secure=self.secure_cookie,
        )

    def check(self, request: Request, form_token: object) -> None:
        cookie = request.cookies.get(COOKIE, "")
        if not _plausible(cookie) or not isinstance(form_token, str) or not form_token:
            raise CsrfError()
        try:
            signed = self._serializer.loads(form_token, max_age=int(MAX_AGE.total_seconds()))
        except (BadSignature, ValueError, UnicodeError):
            raise CsrfError() from None
        if not isinstance(signed, str) or not hmac.compare_digest(signed, cookie):
            raise CsrfError()


def _plausible(value: str) -> bool:
    return 16 <= len(value) <= 64 and value.replace("-", "").replace("_", "").isalnum()
