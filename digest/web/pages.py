"""Public pages: home with the subscribe form, the subscribe answer, confirmation,
the stylesheet and /healthz."""

from __future__ import annotations

import sqlite3

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from digest.store import optouts
from digest.store import subscribers as store
from digest.web import csrf as csrf_mod
from digest.web.app import WebState, web
from digest.web.forms import MAX_FIELDS, read_address, read_choice
from digest.web.mail import MailError, compose
from digest.web.templating import feed_files, latest_issue
from digest.web.tokens import StaleToken, issue_manage_token


def routes() -> list[Route]:
    return [
        Route("/", home, methods=["GET"]),
        Route("/subscribe", subscribe, methods=["POST"]),
        Route("/subscribe", back_to_form, methods=["GET"]),
        Route("/confirm/{token}", confirm, methods=["GET", "POST"]),
        Route("/static/web.css", stylesheet, methods=["GET"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]


async def back_to_form(request: Request) -> Response:
    """A refresh or "back" after subscribing asks for GET /subscribe: show the form again
    (a fixed, relative target: never a redirect to anything the request names)."""
    return RedirectResponse("/#subscribe", status_code=303)


def form_page(request: Request, name: str, status: int = 200, **context) -> Response:
    """A page holding forms: it gets a CSRF token, and the cookie it pairs with."""
    st = web(request)
    token, fresh = st.csrf.issue(request)
    html = st.templates.page(name, csrf_field=csrf_mod.FIELD, csrf_token=token, **context)
    response = HTMLResponse(html, status_code=status)
    st.csrf.set_cookie(response, fresh)
    return response


def message_page(
    request: Request,
    heading: str,
    detail: str,
    status: int = 200,
    links: list[tuple[str, str]] | None = None,
) -> Response:
    html = web(request).templates.page(
        "message.html",
        heading=heading,
        detail=detail,
        status=status,
        links=links if links is not None else [("Home page", "/")],
    )
    return HTMLResponse(html, status_code=status)


def _home_context(st: WebState) -> dict:
    out = st.config.output_dir
    latest = latest_issue(out / "archive")
    return {
        "topics": [(t.name, t.description) for t in st.config.topics],
        "latest": f"/archive/{latest}" if latest else None,
        "has_archive": (out / "archive").is_dir(),
        "feeds": [(name, f"/feeds/{name}") for name in feed_files(out / "feeds")],
        "confirm_hours": _hours(st.config.web.confirm_hours),
    }


def _hours(value: float) -> str:
    return f"{value:g} hours"


async def home(request: Request) -> Response:
    st = web(request)
    return form_page(
        request,
        "home.html",
        **_home_context(st),
        errors={},
        values={"email": "", "topics": (), "cadence": "daily"},
    )


async def subscribe(request: Request) -> Response:
    st = web(request)
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    st.csrf.check(request, form.get(csrf_mod.FIELD))
    client = request.client.host if request.client else "unknown"
    retry = st.client_limit.hit(client)
    if retry is not None:
        raise HTTPException(
            429,
            "Too many subscribe requests from your network. Try again in an hour.",
            headers={"Retry-After": str(int(retry))},
        )
    address, address_error = read_address(form)
    choice = read_choice(form, st.config)
    errors = dict(choice.errors)
    if address_error:
        errors["email"] = address_error
    if errors:
        return form_page(
            request,
            "home.html",
            status=400,
            **_home_context(st),
            errors=errors,
            values={"email": address, "topics": choice.topics, "cadence": choice.cadence},
        )
    try:
        await run_in_threadpool(_subscribe, st, address, choice.topics, choice.cadence)
    except MailError:
        return message_page(
            request,
            "We could not send the email",
            "The mail server did not accept the message just now. Please try again later.",
            status=503,
        )
    # The same answer whether or not the address is known: what differs goes by email.
    return message_page(
        request,
        "Check your inbox",
        f"If {address} can be subscribed, an email is on its way to it. Open the link it "
        f"contains within {_hours(st.config.web.confirm_hours)} to confirm. "
        "If you are already subscribed, the email says so and links to your settings.",
    )


def _subscribe(st: WebState, address: str, topics: tuple[str, ...], cadence: str) -> None:
    key = address.lower()
    if st.address_limit.hit(key) is not None:
        return  # enough mail to that address for now; the page says the same anyway
    now = st.clock.now()
    in_config = any(s.email.lower() == key for s in st.config.subscribers)
    with st.db() as conn:
        store.purge_expired(conn, now, st.config.web.confirm_hours)
        opted_out = optouts.is_unsubscribed(conn, key)
        row = store.get(conn, key)
        if not opted_out and (in_config or (row is not None and row.state == "confirmed")):
            token = issue_manage_token(conn, key, st.secret, now)
            kind, context = "already", {"manage_link": f"{st.public_url}/manage/{token}"}
        else:
            if row is not None and row.state == "confirmed":
                store.unsubscribe(conn, key, now)  # opted out elsewhere (CLI, mailto)
            row = store.request(conn, address, topics, cadence, now)  # type: ignore[arg-type]
            token = st.confirm_tokens.make(row.nonce)
            kind, context = (
                "confirm",
                {
                    "link": f"{st.public_url}/confirm/{token}",
                    "hours": _hours(st.config.web.confirm_hours),
                },
            )
    message = compose(st.config, st.templates, st.clock, address, kind, **context)
    st.mailer.send(address, message, kind)


async def confirm(request: Request) -> Response:
    st = web(request)
    token = request.path_params["token"]
    nonce = st.confirm_tokens.read(token)
    if request.method == "GET":
        row, manage = await run_in_threadpool(_request_of, st, nonce)
        if row.state == "confirmed":
            return _confirmed_page(request, manage, already=True)
        # A button, not an automatic confirmation: mail scanners follow GET links.
        return form_page(request, "confirm.html", email=row.address, action=f"/confirm/{token}")
    form = await request.form(max_files=0, max_fields=MAX_FIELDS)
    st.csrf.check(request, form.get(csrf_mod.FIELD))
    result, manage = await run_in_threadpool(_confirm, st, nonce)
    if result == "stale":
        raise StaleToken()
    return _confirmed_page(request, manage, already=result == "already")


def _request_of(st: WebState, nonce: str) -> tuple[store.WebSubscriber, str]:
    """The pending or confirmed request a confirmation nonce belongs to, and its manage
    link; StaleToken when a newer request or an unsubscribe has retired the nonce."""
    with st.db() as conn:
        row = store.by_nonce(conn, nonce)
        if row is None or row.state == "unsubscribed":
            raise StaleToken()
        return row, _manage_link(st, conn, row.email) if row.state == "confirmed" else ""


def _manage_link(st: WebState, conn: sqlite3.Connection, email: str) -> str:
    return f"/manage/{issue_manage_token(conn, email, st.secret, st.clock.now())}"


def _confirm(st: WebState, nonce: str) -> tuple[str, str]:
    now = st.clock.now()
    with st.db() as conn:
        row = store.by_nonce(conn, nonce)
        if row is None:
            return "stale", ""
        result = store.confirm(conn, row.email, nonce, now)
        if result == "confirmed":
            optouts.remove(conn, row.email)  # subscribing again undoes an earlier opt-out
        manage = _manage_link(st, conn, row.email) if result != "stale" else ""
    return result, manage


def _confirmed_page(request: Request, manage: str, already: bool) -> Response:
    heading = "You are already subscribed" if already else "You are subscribed"
    detail = (
        "Your subscription is confirmed: the next digest will come to your inbox. "
        "Every digest links to your settings, where you can change topics or unsubscribe."
    )
    return message_page(
        request, heading, detail, links=[("Change your topics", manage), ("Home page", "/")]
    )


async def stylesheet(request: Request) -> Response:
    css = web(request).templates.raw("style.css")
    return Response(css, media_type="text/css", headers={"Cache-Control": "public, max-age=3600"})


async def healthz(request: Request) -> Response:
    st = web(request)
    ok = await run_in_threadpool(_db_opens, st)
    body = {"status": "ok" if ok else "error", "db": "ok" if ok else "cannot open the state"}
    return JSONResponse(body, status_code=200 if ok else 503, headers={"Cache-Control": "no-store"})


def _db_opens(st: WebState) -> bool:
    """A fresh read-only connection: the file is there and readable, not just our handle."""
    path = st.config.state_path.resolve()
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=2)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return False
    return True
