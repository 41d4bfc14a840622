"""Security headers on every response, as a plain ASGI middleware (it wraps static files
and error pages too). Our own pages allow no script at all and only our stylesheet; the
served archive may carry inline styles from the email templates, never scripts."""

from __future__ import annotations

from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

PAGE_CSP = (
    "default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
    "frame-ancestors 'none'; base-uri 'none'"
)
STATIC_CSP = (
    "default-src 'none'; style-src 'self' 'unsafe-inline'; img-src 'self' data: https:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
STATIC_PREFIXES = ("/archive", "/feeds")
TOKEN_PREFIXES = ("/confirm/", "/manage/", "/unsubscribe/")


class SecurityHeaders:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                static = path.startswith(STATIC_PREFIXES)
                headers["Content-Security-Policy"] = STATIC_CSP if static else PAGE_CSP
                headers["X-Frame-Options"] = "DENY"
                headers["X-Content-Type-Options"] = "nosniff"
                # Token pages must never leak their URL (it is the subscriber's key).
                headers["Referrer-Policy"] = "no-referrer"
                headers["Cross-Origin-Opener-Policy"] = "same-origin"
                headers["Permissions-Policy"] = "interest-cohort=(), camera=(), microphone=()"
                if path.startswith(TOKEN_PREFIXES):
                    headers["Cache-Control"] = "no-store"
                    headers["X-Robots-Tag"] = "noindex"
                if self.hsts:
                    headers["Strict-Transport-Security"] = "max-age=31536000"
            await send(message)

        await self.app(scope, receive, send_with_headers)
