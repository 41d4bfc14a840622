"""The web app of `digest serve`: subscribe (double opt-in), confirm, manage, one-click
unsubscribe (RFC 8058), the static archive and feeds, and /healthz.

`create_app()` wires everything from the config; the secret, clock and mailer are passed
in so tests run the real app with a FixedClock and a disk outbox.
"""

from __future__ import annotations

import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles

from digest.clock import Clock, system_clock
from digest.config import Config
from digest.errors import ConfigError
from digest.web.csrf import Csrf, CsrfError
from digest.web.mail import Mailer, make_mailer
from digest.web.ratelimit import RateLimiter
from digest.web.security import SecurityHeaders
from digest.web.templating import WebTemplates
from digest.web.tokens import ConfirmTokens, TokenError

MIN_SECRET_LENGTH = 16
# Mail to one address, whoever asks: stops the form from being used to flood an inbox.
PER_ADDRESS_PER_HOUR = 3
MAX_BODY = 64 * 1024  # our forms are a few hundred bytes


@dataclass
class WebState:
    config: Config
    clock: Clock
    secret: str
    public_url: str
    mailer: Mailer
    templates: WebTemplates
    confirm_tokens: ConfirmTokens
    csrf: Csrf
    client_limit: RateLimiter
    address_limit: RateLimiter
    conn: sqlite3.Connection | None
    lock: threading.Lock = field(default_factory=threading.Lock)

    @contextmanager
    def db(self) -> Iterator[sqlite3.Connection]:
        # One connection shared by the worker threads; a request's reads and writes run
        # under the lock so two transactions never interleave on it.
        from digest.store.db import open_db

        with self.lock:
            if self.conn is None:
                self.conn = open_db(self.config.state_path)
            yield self.conn

    def close(self) -> None:
        with self.lock:
            if self.conn is not None:
                self.conn.close()
                self.conn = None


class OutputFiles(StaticFiles):
    """Static files from a folder `digest run` creates: before the first run, a 404."""

    async def check_config(self) -> None:
        if self.directory is not None and os.path.isdir(self.directory):
            await super().check_config()


def check_secret(secret: str | None, env_name: str) -> str:
    if not secret:
        raise ConfigError(
            f"the environment variable {env_name} is not set: `digest serve` needs a secret "
            "to sign the links it sends",
            hint=f'set it to a long random value, e.g. export {env_name}="$(python3 -c '
            "'import secrets; print(secrets.token_urlsafe(32))')\" (keep it: changing it "
            "breaks every unsubscribe link already sent)",
        )
    if len(secret) < MIN_SECRET_LENGTH:
        raise ConfigError(
            f"the secret in {env_name} is too short ({len(secret)} characters)",
            hint=f"use at least {MIN_SECRET_LENGTH} random characters, e.g. from "
            "python3 -c 'import secrets; print(secrets.token_urlsafe(32))'",
        )
    return secret


def create_app(
    config: Config,
    *,
    secret: str,
    clock: Clock | None = None,
    mailer: Mailer | None = None,
    public_url: str | None = None,
) -> Starlette:
    """The ASGI app. `public_url` (default config.base_url, else http://host:port) is the
    only origin put in emailed links: never the request's Host header, which a client sets."""
    from digest.store.db import open_db
    from digest.web import account, pages
    from digest.web import feeds as feed_pages

    secret = check_secret(secret, config.web.secret_env)
    clock = clock or system_clock()
    public = public_url or config.base_url or f"http://{config.web.host}:{config.web.port}"
    public = public.rstrip("/")
    state = WebState(
        config=config,
        clock=clock,
        secret=secret,
        public_url=public,
        mailer=mailer or make_mailer(config, clock),
        templates=WebTemplates(config),
        confirm_tokens=ConfirmTokens(secret, clock, config.web.confirm_hours),
        csrf=Csrf(secret, clock, secure_cookie=public.startswith("https://")),
        client_limit=RateLimiter(config.web.subscribe_rate, timedelta(hours=1), clock),
        address_limit=RateLimiter(PER_ADDRESS_PER_HOUR, timedelta(hours=1), clock),
        conn=open_db(config.state_path),
    )
    archive = config.output_dir / "archive"
    feeds = config.output_dir / "feeds"
    routes = [
        *pages.routes(),
        *account.routes(),
        *feed_pages.routes(),
        # StaticFiles refuses paths that leave its folder and symlinks pointing out of it.
        Mount(
            "/archive",
            app=OutputFiles(directory=archive, html=True, check_dir=False),
            name="archive",
        ),
        Mount("/feeds", app=feed_pages.FeedFiles(directory=feeds, check_dir=False), name="feeds"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[Middleware(SecurityHeaders, hsts=public.startswith("https://"))],
        exception_handlers={
            HTTPException: _http_error,
            TokenError: _token_error,
            CsrfError: _csrf_error,
        },
        lifespan=_lifespan(state),
        max_body_size=MAX_BODY,
    )
    app.state.web = state
    return app


def _lifespan(state: WebState):
    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        state.close()

    return lifespan


def web(request: Request) -> WebState:
    return request.app.state.web


def error_page(request: Request, status: int, title: str, detail: str) -> Response:
    from starlette.responses import HTMLResponse

    html = web(request).templates.page(
        "message.html", heading=title, detail=detail, status=status, links=[("Home page", "/")]
    )
    return HTMLResponse(html, status_code=status)


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    titles = {
        404: "Page not found",
        405: "Method not allowed",
        413: "Request too large",
        429: "Too many requests",
    }
    title = titles.get(exc.status_code, "Something went wrong")
    detail = (
        exc.detail
        if exc.status_code not in (404, 405)
        else ("There is nothing at this address. Check the link, or start from the home page.")
    )
    response = error_page(request, exc.status_code, title, str(detail))
    if exc.headers:
        response.headers.update(exc.headers)
    return response


async def _token_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TokenError)
    return error_page(request, exc.status, exc.title, exc.detail)


async def _csrf_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, CsrfError)
    return error_page(request, exc.status, exc.title, exc.detail)
