"""A subscriber's own pages, reached with the opaque token of their digest links:
/manage/<token> (topics, cadence) and /unsubscribe/<token>, the RFC 8058 one-click target.

The one-click POST is exempt from CSRF: the secret token is the proof, and mail clients
send it without cookies. A GET only shows a button, because link scanners follow GETs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

from digest import unsubscribe as unsubscribe_mod
from digest.store import optouts
from digest.store import subscribers as store
from digest.web import csrf as csrf_mod
from digest.web.app import WebState, web
from digest.web.forms import MAX_FIELDS, read_choice
from digest.web.pages import form_page, message_page
from digest.web.tokens import read_manage_token

ONE_CLICK = "One-Click"
Status = Literal["web", "config", "pending", "unsubscribed", "unknown"]


@dataclass(frozen=True, slots=True)
class Account:
    email: str
    status: Status
    topics: tuple[str, ...] = ()
    cadence: str = "daily"


def routes() -> list[Route]:
    return [
        Route("/manage/{token}", manage, methods=["GET", "POST"]),
        Route("/unsubscribe/{token}", unsubscribe, methods=["GET", "POST"]),
        # digest.unsubscribe.unsubscribe_url() puts the token in the query string.
        Route("/unsubscribe", unsubscribe, methods=["GET", "POST"]),
    ]


def account(st: WebState, email: str) -> Account:
    config_sub = next((s for s in st.config.subscribers if s.email.lower() == email), None)
    with st.db() as conn:
        opted_out = optouts.is_unsubscribed(conn, email)
        row = store.get(conn, email)
    if opted_out:
        return Account(email, "unsubscribed")
    # config.yaml wins over a web row for the same address, as in the pipeline.
    if config_sub is not None:
        return Account(config_sub.email, "config", tuple(config_sub.topics), config_sub.cadence)
    if row is None:
        return Account(email, "unknown")
    if row.state == "confirmed":
        return Account(row.address, "web", row.topics, row.cadence)
    return Account(row.address, "pending" if row.state == "pending" else "unsubscribed")


def _token(request: Request) -> str:
    token = request.path_params.get("token") or request.query_params.get("token") or ""
    return token


def _email_of(st: WebState, token: str) -> str:
    """The address the link's token was issued for; TokenError (an error page) if none."""
    with st.db() as conn:
        return read_manage_token(conn, token, st.secret)


async def manage(request: Request) -> Response:
    st = web(request)
    token = _token(request)
    email = await run_in_threadpool(_email_of, st, token)
    acct = await run_in_threadpool(account, st, email)
    notice = None
    errors: dict[str, str] = {}
    if request.method == "POST":
        form = await request.form(max_files=0, max_fields=MAX_FIELDS)
        st.csrf.check(request, form.get(csrf_mod.FIELD))
        if acct.status != "web":
            raise HTTPException(
                409,
                "These settings cannot be changed here: "
                + (
                    "they are kept in the digest's config.yaml; ask its administrator."
                    if acct.status == "config"
                    else "there is no active subscription."
                ),
            )
        choice = read_choice(form, st.config)
        errors = dict(choice.errors)
        if not errors:
            await run_in_threadpool(_update, st, email, choice.topics, choice.cadence)
            acct = Account(acct.email, "web", choice.topics, choice.cadence)
            notice = "Your settings are saved."
    if acct.status == "unknown":
        return message_page(
            request,
            "No subscription for this address",
            "This address is not subscribed. You can subscribe on the home page.",
            status=404,
        )
    if acct.status in ("unsubscribed", "pending"):
        heading = (
            "You are unsubscribed"
            if acct.status == "unsubscribed"
            else "Your subscription is not confirmed yet"
        )
        detail = (
            "No digest is sent to this address. You can subscribe again on the home page."
            if acct.status == "unsubscribed"
            else "Open the link in the confirmation email to start receiving the digest."
        )
        return message_page(request, heading, detail)
    return form_page(
        request,
        "manage.html",
        status=400 if errors else 200,
        account=acct,
        all_topics=[(t.name, t.description) for t in st.config.topics],
        action=f"/manage/{token}",
        unsubscribe_action=f"/unsubscribe/{token}",
        notice=notice,
        errors=errors,
    )


def _update(st: WebState, email: str, topics: tuple[str, ...], cadence: str) -> None:
    with st.db() as conn:
        store.update(conn, email, topics, cadence, st.clock.now())  # type: ignore[arg-type]


async def unsubscribe(request: Request) -> Response:
    st = web(request)
    token = _token(request)
    email = await run_in_threadpool(_email_of, st, token)
    if request.method == "GET":
        acct = await run_in_threadpool(account, st, email)
        if acct.status == "unsubscribed":
            return _done(request)
        # No cookie, no CSRF token: the POST below is proven by the token alone.
        return _confirm_page(st, acct.email, token)
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    if form.get("List-Unsubscribe") != ONE_CLICK:
        raise HTTPException(
            400,
            "An unsubscribe request must carry List-Unsubscribe=One-Click (RFC 8058). "
            "Use the button on this page.",
        )
    await run_in_threadpool(_unsubscribe, st, email)
    return _done(request)


def _confirm_page(st: WebState, email: str, token: str) -> Response:
    html = st.templates.page("unsubscribe.html", email=email, action=f"/unsubscribe/{token}")
    return HTMLResponse(html)


def _unsubscribe(st: WebState, email: str) -> None:
    now = st.clock.now()
    with st.db() as conn:
        # The opt-out is what the pipeline reads; it covers config.yaml subscribers too.
        unsubscribe_mod.unsubscribe(conn, email, now, source="web")
        store.unsubscribe(conn, email, now)


def _done(request: Request) -> Response:
    return message_page(
        request,
        "You are unsubscribed",
        f"No more digests of {web(request).config.title} will be sent to this address. "
        "Changed your mind? You can subscribe again on the home page.",
    )
