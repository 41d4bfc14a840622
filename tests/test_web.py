"""The web app over HTTP (Starlette's TestClient): subscribe with double opt-in, confirm,
manage, one-click unsubscribe, and every way each of them refuses."""

from __future__ import annotations

from datetime import timedelta

import pytest
from starlette.testclient import TestClient

from digest import pipeline
from digest.store import optouts
from digest.store import subscribers as store
from digest.store.db import open_db
from digest.unsubscribe import make_token
from digest.web import create_app
from digest.web.tokens import ConfirmTokens
from tests.support.web_app import (
    SECRET,
    csrf_token,
    issued_token,
    link_in,
    make_clock,
    make_config,
    outbox_messages,
    path_of,
    text_body,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


@pytest.fixture
def config(tmp_path):
    return make_config(tmp_path)


@pytest.fixture
def clock():
    return make_clock()


@pytest.fixture
def client(config, clock):
    app = create_app(config, secret=SECRET, clock=clock)
    with TestClient(app, base_url="https://testserver", follow_redirects=False) as c:
        yield c


def subscribe(client, email="new@example.org", topics=("Vision",), cadence="weekly", **extra):
    page = client.get("/")
    data = {
        "csrf_token": csrf_token(page.text),
        "email": email,
        "topics": list(topics),
        "cadence": cadence,
        **extra,
    }
    return client.post("/subscribe", data=data)


def confirm(client, config, index=-1):
    link = path_of(link_in(outbox_messages(config)[index], "confirm"))
    page = client.get(link)
    assert page.status_code == 200, page.text
    return link, client.post(link, data={"csrf_token": csrf_token(page.text)})


def web_rows(config):
    conn = open_db(config.state_path)
    try:
        rows = {r.email: r for r in store.all_rows(conn)}
        return rows, store.active(conn), optouts.unsubscribed(conn)
    finally:
        conn.close()


def manage_path(config, email):
    return f"/manage/{issued_token(config, email)}"


def unsubscribe_path(config, email):
    return f"/unsubscribe/{issued_token(config, email)}"


# --------------------------------------------------------------------------- home, headers
def test_home_shows_title_topics_form_and_feeds(client, config):
    feeds = config.output_dir / "feeds"
    feeds.mkdir(parents=True)
    (feeds / "all.atom.xml").write_text("<feed/>")
    archive = config.output_dir / "archive"
    (archive / "2026-03-01").mkdir(parents=True)
    (archive / "2026-03-01" / "index.html").write_text("<p>old</p>")
    (archive / "2026-03-02.html").write_text("<p>new</p>")
    (archive / "index.html").write_text("<p>index</p>")
    r = client.get("/")
    assert r.status_code == 200
    assert "<h1>Test Digest</h1>" in r.text
    assert 'href="/archive/2026-03-02.html"' in r.text
    assert 'href="/archive/"' in r.text and 'href="/feeds/all.atom.xml"' in r.text
    for name in ("Efficient LLMs", "Vision", "Trending"):
        assert f'name="topics" value="{name}"' in r.text
    assert 'value="daily" checked' in r.text and 'value="weekly"' in r.text
    assert "<script" not in r.text


def test_security_headers_on_every_kind_of_response(client, config):
    for path in ("/", "/nowhere", unsubscribe_path(config, "a@example.org"), "/healthz"):
        h = client.get(path).headers
        csp = h["content-security-policy"]
        assert "frame-ancestors 'none'" in csp and "unsafe-inline" not in csp
        assert "script-src" not in csp and "default-src 'none'" in csp  # so: no script at all
        assert h["x-frame-options"] == "DENY"
        assert h["x-content-type-options"] == "nosniff"
        assert h["referrer-policy"] == "no-referrer"
    assert client.get(manage_path(config, "a@example.org")).headers["cache-control"] == "no-store"


def test_stylesheet_is_served_from_the_templates(client):
    r = client.get("/static/web.css")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/css")
    assert ".masthead" in r.text


def test_user_templates_override_pages_file_by_file(tmp_path, clock):
    own = tmp_path / "mytemplates" / "web"
    own.mkdir(parents=True)
    (own / "message.html").write_text("<p>mine: {{ heading }}</p>")
    config = make_config(tmp_path, templates="mytemplates")
    with TestClient(create_app(config, secret=SECRET, clock=clock)) as c:
        assert c.get("/nowhere").text == "<p>mine: Page not found</p>"
        assert "Subscribe" in c.get("/").text  # home.html is still the shipped one


def test_every_page_escapes_text(tmp_path, clock):
    config = make_config(
        tmp_path,
        title="<b>Bold</b> & co",
        topics=[{"name": '<script>alert("x")</script>'}],
        subscribers=[],
    )
    with TestClient(create_app(config, secret=SECRET, clock=clock)) as c:
        html = c.get("/").text
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert "&lt;b&gt;Bold&lt;/b&gt; &amp; co" in html


# --------------------------------------------------------------------------- subscribe
def test_subscribe_sends_a_confirmation_and_subscribes_nobody_yet(client, config):
    r = subscribe(client, "  New@Example.ORG ")
    assert r.status_code == 200 and "Check your inbox" in r.text
    [msg] = outbox_messages(config)
    assert msg["To"] == "New@example.org"  # normalised: the domain is lower-cased
    assert msg["Subject"] == "Confirm your subscription to Test Digest"
    assert link_in(msg, "confirm").startswith("https://digest.example.org/confirm/")
    rows, active, _ = web_rows(config)
    assert rows["new@example.org"].state == "pending"
    row = rows["new@example.org"]
    assert (row.topics, row.cadence) == (("Vision",), "weekly")
    assert active == []


def test_confirming_subscribes_and_a_reused_link_is_harmless(client, config):
    subscribe(client)
    link, r = confirm(client, config)
    assert r.status_code == 200 and "You are subscribed" in r.text
    assert manage_path(config, "new@example.org") in r.text
    _, active, _ = web_rows(config)
    assert [(s.email, s.topics, s.cadence, s.origin) for s in active] == [
        ("new@example.org", ("Vision",), "weekly", "web")
    ]
    again = client.get(link)
    assert again.status_code == 200 and "already subscribed" in again.text
    page = client.get("/")
    twice = client.post(link, data={"csrf_token": csrf_token(page.text)})
    assert twice.status_code == 200 and "already subscribed" in twice.text
    assert len(web_rows(config)[1]) == 1


def test_the_confirmation_link_page_only_asks(client, config):
    """A mail scanner that opens the link must not confirm the address."""
    subscribe(client)
    link = path_of(link_in(outbox_messages(config)[0], "confirm"))
    r = client.get(link)
    assert r.status_code == 200 and "Confirm my subscription" in r.text
    assert web_rows(config)[1] == []


def test_an_expired_confirmation_link_is_refused(client, config, clock):
    subscribe(client)
    link = path_of(link_in(outbox_messages(config)[0], "confirm"))
    page = client.get(link)
    clock.set(clock.now() + timedelta(hours=48, seconds=1))
    r = client.post(link, data={"csrf_token": csrf_token(page.text)})
    assert r.status_code == 410 and "expired" in r.text
    assert client.get(link).status_code == 410
    assert web_rows(config)[1] == []


def test_a_confirmation_link_works_until_it_expires(client, config, clock):
    subscribe(client)
    clock.set(clock.now() + timedelta(hours=47, minutes=59))
    _, r = confirm(client, config)
    assert r.status_code == 200
    assert len(web_rows(config)[1]) == 1


def test_a_forged_confirmation_link_is_refused(client, config):
    subscribe(client)
    link = path_of(link_in(outbox_messages(config)[0], "confirm"))
    forged = link[:-3] + ("AAA" if not link.endswith("AAA") else "BBB")
    assert client.get(forged).status_code == 400
    assert client.get("/confirm/not-a-token").status_code == 400
    foreign = ConfirmTokens("another-secret-0123456789", make_clock(), 48).make("x")
    r = client.get(f"/confirm/{foreign}")
    assert r.status_code == 400 and "not valid" in r.text
    assert web_rows(config)[1] == []


def test_an_old_confirmation_link_cannot_bring_back_an_unsubscribed_reader(client, config):
    subscribe(client)
    link, _ = confirm(client, config)
    client.post(unsubscribe_path(config, "new@example.org"), data={"List-Unsubscribe": "One-Click"})
    page = client.get("/")
    r = client.post(link, data={"csrf_token": csrf_token(page.text)})
    assert r.status_code == 410
    assert client.get(link).status_code == 410
    assert web_rows(config)[1] == []


def test_a_new_request_retires_the_previous_confirmation_link(client, config):
    subscribe(client)
    subscribe(client)
    first, second = outbox_messages(config)
    old = path_of(link_in(first, "confirm"))
    assert client.get(old).status_code == 410
    _, r = confirm(client, config, index=1)
    assert r.status_code == 200


def test_subscribe_without_csrf_is_refused(client, config):
    client.get("/")
    r = client.post("/subscribe", data={"email": "new@example.org"})
    assert r.status_code == 403 and "form has expired" in r.text
    assert outbox_messages(config) == []


def test_subscribe_with_a_token_of_another_cookie_is_refused(client, config, clock):
    token = csrf_token(client.get("/").text)
    client.cookies.clear()
    r = client.post("/subscribe", data={"csrf_token": token, "email": "new@example.org"})
    assert r.status_code == 403
    with TestClient(
        create_app(config, secret=SECRET, clock=clock), base_url="https://testserver"
    ) as other:
        other.get("/")
        assert (
            other.post(
                "/subscribe", data={"csrf_token": token, "email": "new@example.org"}
            ).status_code
            == 403
        )
    assert outbox_messages(config) == []


def test_a_csrf_token_expires_after_a_day(client, config, clock):
    token = csrf_token(client.get("/").text)
    clock.set(clock.now() + timedelta(hours=25))
    r = client.post("/subscribe", data={"csrf_token": token, "email": "new@example.org"})
    assert r.status_code == 403


@pytest.mark.parametrize(
    "address",
    [
        "",
        "not-an-address",
        "a@b",
        "x" * 300 + "@example.org",
        "a@example.org\r\nBcc: victim@example.org",
    ],
)
def test_bad_addresses_are_refused_with_the_form_again(client, config, address):
    r = subscribe(client, address)
    assert r.status_code == 400
    assert 'class="error"' in r.text and 'action="/subscribe"' in r.text
    assert outbox_messages(config) == []


def test_unknown_topics_and_cadence_are_refused(client, config):
    assert subscribe(client, topics=("Nope",)).status_code == 400
    assert subscribe(client, cadence="hourly").status_code == 400
    assert outbox_messages(config) == []


def test_no_topic_ticked_means_every_topic(client, config):
    subscribe(client, topics=())
    assert web_rows(config)[0]["new@example.org"].topics == ()


def test_the_answer_does_not_tell_whether_an_address_is_known(client, config):
    """Same status and same page for a new, a pending, a confirmed and a config address;
    the difference goes by email only."""
    subscribe(client, "known@example.org")
    confirm(client, config)
    addresses = ("fresh@example.org", "known@example.org", "config-reader@example.org")
    pages = set()
    for address in addresses:
        r = subscribe(client, address)
        pages.add((r.status_code, r.text.replace(address, "ADDRESS")))
    assert len(pages) == 1 and next(iter(pages))[0] == 200
    subjects = [(m["To"], m["Subject"]) for m in outbox_messages(config)[1:]]
    assert subjects == [
        ("fresh@example.org", "Confirm your subscription to Test Digest"),
        ("known@example.org", "You are already subscribed to Test Digest"),
        ("config-reader@example.org", "You are already subscribed to Test Digest"),
    ]
    already = outbox_messages(config)[2]
    assert link_in(already, "manage") == (
        f"https://digest.example.org/manage/{make_token('known@example.org', SECRET)}"
    )


def test_a_repeated_subscribe_does_not_change_a_confirmed_subscription(client, config):
    subscribe(client, topics=("Vision",), cadence="weekly")
    confirm(client, config)
    subscribe(client, topics=("Trending",), cadence="daily")
    [sub] = web_rows(config)[1]
    assert (sub.topics, sub.cadence) == (("Vision",), "weekly")


def test_subscribe_is_rate_limited_per_client(client, config, clock):
    for i in range(5):  # web.subscribe_rate defaults to 5 an hour
        assert subscribe(client, f"r{i}@example.org").status_code == 200
    r = subscribe(client, "r5@example.org")
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 0
    assert "Too many" in r.text
    assert len(outbox_messages(config)) == 5
    clock.set(clock.now() + timedelta(hours=1, seconds=1))
    assert subscribe(client, "r5@example.org").status_code == 200
    app = client.app
    with TestClient(app, base_url="https://testserver", client=("192.0.2.7", 1234)) as other:
        for i in range(5):
            assert subscribe(other, f"o{i}@example.org").status_code == 200


def test_mail_to_one_address_is_capped_whoever_asks(client, config):
    app = client.app
    for n in range(5):
        with TestClient(app, base_url="https://testserver", client=(f"192.0.2.{n}", 1)) as c:
            assert subscribe(c, "victim@example.org").status_code == 200
    assert len(outbox_messages(config)) == 3


def test_expired_requests_are_forgotten(client, config, clock):
    subscribe(client, "late@example.org")
    clock.set(clock.now() + timedelta(hours=49))
    subscribe(client, "other@example.org")
    rows = web_rows(config)[0]
    assert "late@example.org" not in rows and "other@example.org" in rows


# --------------------------------------------------------------------------- manage
def test_manage_changes_topics_and_cadence(client, config):
    subscribe(client, topics=("Vision",), cadence="weekly")
    confirm(client, config)
    page = client.get(manage_path(config, "new@example.org"))
    assert page.status_code == 200
    assert 'value="Vision" checked' in page.text and 'value="weekly" checked' in page.text
    r = client.post(
        manage_path(config, "new@example.org"),
        data={
            "csrf_token": csrf_token(page.text),
            "topics": ["Efficient LLMs", "Trending"],
            "cadence": "daily",
        },
    )
    assert r.status_code == 200 and "saved" in r.text
    [sub] = web_rows(config)[1]
    assert (sub.topics, sub.cadence) == (("Efficient LLMs", "Trending"), "daily")


def test_manage_refuses_a_post_without_csrf(client, config):
    subscribe(client)
    confirm(client, config)
    r = client.post(manage_path(config, "new@example.org"), data={"topics": ["Trending"]})
    assert r.status_code == 403
    assert web_rows(config)[1][0].topics == ("Vision",)


def test_manage_refuses_a_forged_token(client):
    forged = make_token("new@example.org", "some-other-secret-123456")
    assert client.get(f"/manage/{forged}").status_code == 400
    assert client.get("/manage/garbage").status_code == 400


def test_a_token_this_state_never_issued_is_refused_with_a_clear_page(client, config):
    """Right secret, right address, but no digest or page of this state carried it: e.g.
    an old-style link, or one from another installation."""
    subscribe(client)
    confirm(client, config)
    never_issued = make_token("config-reader@example.org", SECRET)
    for r in (
        client.get(f"/manage/{never_issued}"),
        client.post(f"/unsubscribe/{never_issued}", data={"List-Unsubscribe": "One-Click"}),
    ):
        assert r.status_code == 400 and "This link is not known here" in r.text
        assert "most recent digest" in r.text
    old_style = "ImNvbmZpZy1yZWFkZXJAZXhhbXBsZS5vcmci.c2lnbmF0dXJl"
    r = client.post(f"/unsubscribe/{old_style}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 400 and "not valid" in r.text
    assert web_rows(config)[2] == set()


def test_a_token_issued_under_another_secret_is_refused(tmp_path, config, clock):
    old_secret = "the-old-secret-0123456789"  # noqa: S105 (a test key)
    token = issued_token(config, "config-reader@example.org", secret=old_secret)
    with TestClient(create_app(config, secret=SECRET, clock=clock)) as c:
        r = c.post(f"/unsubscribe/{token}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 400 and "signing key has changed" in r.text
    assert web_rows(config)[2] == set()


def test_manage_for_a_config_subscriber_is_read_only(client, config):
    page = client.get(manage_path(config, "config-reader@example.org"))
    assert page.status_code == 200 and "configuration" in page.text
    assert 'name="topics"' not in page.text and "One-Click" in page.text
    token = csrf_token(client.get("/").text)
    r = client.post(
        manage_path(config, "config-reader@example.org"),
        data={"csrf_token": token, "topics": ["Trending"]},
    )
    assert r.status_code == 409


def test_manage_for_an_unknown_or_pending_address(client, config):
    assert client.get(manage_path(config, "nobody@example.org")).status_code == 404
    subscribe(client)
    r = client.get(manage_path(config, "new@example.org"))
    assert r.status_code == 200 and "not confirmed yet" in r.text


# --------------------------------------------------------------------------- unsubscribe
def test_one_click_unsubscribe_rfc8058(client, config):
    subscribe(client)
    confirm(client, config)
    client.cookies.clear()  # a mail provider posts with no cookie at all
    r = client.post(
        unsubscribe_path(config, "new@example.org"),
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert r.status_code == 200 and "You are unsubscribed" in r.text
    assert "set-cookie" not in r.headers and "location" not in r.headers
    rows, active, gone = web_rows(config)
    assert active == [] and rows["new@example.org"].state == "unsubscribed"
    assert "new@example.org" in gone
    # Again: still 200, still unsubscribed.
    again = client.post(
        unsubscribe_path(config, "new@example.org"), data={"List-Unsubscribe": "One-Click"}
    )
    assert again.status_code == 200


def test_one_click_unsubscribe_accepts_multipart(client, config):
    r = client.post(
        unsubscribe_path(config, "config-reader@example.org"),
        files={"List-Unsubscribe": (None, "One-Click")},
    )
    assert r.status_code == 200


def test_unsubscribe_get_only_asks(client, config):
    r = client.get(unsubscribe_path(config, "config-reader@example.org"))
    assert r.status_code == 200 and "List-Unsubscribe" in r.text and "One-Click" in r.text
    assert "set-cookie" not in r.headers
    assert web_rows(config)[2] == set()


def test_unsubscribe_needs_the_one_click_body(client, config):
    r = client.post(unsubscribe_path(config, "config-reader@example.org"), data={"other": "x"})
    assert r.status_code == 400
    assert web_rows(config)[2] == set()


def test_unsubscribe_refuses_a_forged_token(client, config):
    forged = make_token("config-reader@example.org", "some-other-secret-123456")
    r = client.post(f"/unsubscribe/{forged}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 400
    assert client.post("/unsubscribe", data={"List-Unsubscribe": "One-Click"}).status_code == 400
    assert web_rows(config)[2] == set()


def test_unsubscribe_with_the_token_in_the_query_string(client, config):
    token = issued_token(config, "config-reader@example.org")
    r = client.post(f"/unsubscribe?token={token}", data={"List-Unsubscribe": "One-Click"})
    assert r.status_code == 200
    assert web_rows(config)[2] == {"config-reader@example.org"}


def test_a_config_subscriber_who_unsubscribes_is_skipped_by_the_pipeline(client, config):
    conn = open_db(config.state_path)
    try:
        assert [s.key for s in pipeline.subscribers(config, conn)] == ["config-reader@example.org"]
        client.post(
            unsubscribe_path(config, "config-reader@example.org"),
            data={"List-Unsubscribe": "One-Click"},
        )
        assert pipeline.subscribers(config, conn) == []
    finally:
        conn.close()


def test_subscribing_again_after_unsubscribing(client, config):
    subscribe(client, topics=("Vision",))
    confirm(client, config)
    client.post(unsubscribe_path(config, "new@example.org"), data={"List-Unsubscribe": "One-Click"})
    r = subscribe(client, topics=("Trending",))
    assert r.status_code == 200
    assert outbox_messages(config)[-1]["Subject"].startswith("Confirm")
    confirm(client, config)
    rows, active, gone = web_rows(config)
    assert [(s.email, s.topics) for s in active] == [("new@example.org", ("Trending",))]
    assert gone == set()


# --------------------------------------------------------------------------- static, health
def test_archive_and_feeds_are_served_safely(client, config, tmp_path):
    (config.output_dir / "archive").mkdir(parents=True)
    (config.output_dir / "archive" / "index.html").write_text("<p>the archive</p>")
    (config.output_dir / "feeds").mkdir(parents=True)
    (config.output_dir / "feeds" / "all.rss.xml").write_text("<rss/>")
    (config.root / "secret.txt").write_text("do not serve")
    (config.output_dir / "archive" / "link.html").symlink_to(config.root / "secret.txt")
    assert client.get("/archive/").text == "<p>the archive</p>"
    feed = client.get("/feeds/all.rss.xml")
    assert feed.status_code == 200 and feed.text == "<rss/>"
    assert "frame-ancestors 'none'" in feed.headers["content-security-policy"]
    for bad in (
        "/archive/../../secret.txt",
        "/archive/%2e%2e/%2e%2e/secret.txt",
        "/feeds/..%2f..%2fsecret.txt",
        "/archive/link.html",
    ):
        r = client.get(bad)
        assert r.status_code == 404 and "do not serve" not in r.text, bad


def test_feeds_are_served_with_feed_media_types(client, config):
    feeds = config.output_dir / "feeds"
    feeds.mkdir(parents=True)
    (feeds / "all.rss.xml").write_text("<rss/>")
    (feeds / "vision.atom.xml").write_text("<feed/>")
    rss = client.get("/feeds/all.rss.xml")
    assert rss.headers["content-type"] == "application/rss+xml; charset=utf-8"
    atom = client.get("/feeds/vision.atom.xml")
    assert atom.status_code == 200 and atom.text == "<feed/>"
    assert atom.headers["content-type"] == "application/atom+xml; charset=utf-8"
    etag = atom.headers["etag"]
    assert client.get("/feeds/vision.atom.xml", headers={"if-none-match": etag}).status_code == 304


def test_the_feeds_folder_has_an_index_page(tmp_path, clock):
    config = make_config(tmp_path, topics=[{"name": "Vision"}, {"name": "<b>Odd</b> & co"}])
    feeds = config.output_dir / "feeds"
    with TestClient(create_app(config, secret=SECRET, clock=clock)) as c:
        empty = c.get("/feeds/")
        assert empty.status_code == 200 and "no feeds yet" in empty.text
        feeds.mkdir(parents=True)
        for name in (
            "all.rss.xml",
            "all.atom.xml",
            "vision.rss.xml",
            "b-odd-b-co.rss.xml",
            "<x>.rss.xml",
            "notes.txt",
        ):
            (feeds / name).write_text("<rss/>")
        r = c.get("/feeds/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert 'href="/feeds/all.atom.xml">All topics (Atom)</a>' in r.text
    assert 'href="/feeds/all.rss.xml">All topics (RSS)</a>' in r.text
    assert 'href="/feeds/vision.rss.xml">Vision (RSS)</a>' in r.text
    assert "&lt;b&gt;Odd&lt;/b&gt; &amp; co (RSS)" in r.text
    assert 'href="/feeds/%3Cx%3E.rss.xml">&lt;x&gt; (RSS)</a>' in r.text
    assert "<x>" not in r.text and "<b>Odd" not in r.text and "notes.txt" not in r.text
    assert r.text.index("all.atom.xml") < r.text.index("vision.rss.xml")


def test_archive_before_the_first_run_is_a_404_page(client):
    r = client.get("/archive/")
    assert r.status_code == 404 and "Page not found" in r.text


def test_healthz(client, config):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json() == {"status": "ok", "db": "ok"}
    config.state_path.unlink()
    for suffix in ("-wal", "-shm"):
        config.state_path.with_name(config.state_path.name + suffix).unlink(missing_ok=True)
    r = client.get("/healthz")
    assert r.status_code == 503 and r.json()["status"] == "error"


def test_no_open_redirect_and_no_host_header_in_links(client, config):
    r = subscribe(client, next="https://evil.example/")
    assert r.status_code == 200 and "location" not in r.headers
    client.headers["host"] = "evil.example"
    subscribe(client, "second@example.org")
    for msg in outbox_messages(config):
        assert "evil.example" not in text_body(msg)


def test_wrong_method_and_unknown_paths(client):
    assert client.put("/subscribe").status_code == 405
    assert client.delete("/").status_code == 405
    r = client.get("/nowhere")
    assert r.status_code == 404 and "Page not found" in r.text


def test_get_subscribe_goes_back_to_the_form(client):
    response = client.get("/subscribe", follow_redirects=False)
    assert response.status_code == 303 and response.headers["location"] == "/#subscribe"
