"""Confirmation emails through SMTP: a real aiosmtpd on 127.0.0.1 receives them, and a
server that refuses gives the reader a clear "try again later" page (and no subscription)."""

from __future__ import annotations

import email
import email.policy

import pytest
from starlette.testclient import TestClient

from digest.store import subscribers as store
from digest.store.db import open_db
from digest.web import create_app
from tests.support.smtp_server import SmtpServer, free_port
from tests.support.web_app import SECRET, csrf_token, make_clock, make_config

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")


def smtp_config(tmp_path, port):
    return make_config(
        tmp_path,
        delivery={"method": "smtp", "from": "Digest <d@example.org>"},
        smtp={"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5},
    )


def post_subscribe(client, address):
    token = csrf_token(client.get("/").text)
    return client.post(
        "/subscribe",
        data={"csrf_token": token, "email": address, "topics": ["Vision"], "cadence": "daily"},
    )


def test_confirmation_goes_out_by_smtp(tmp_path):
    with SmtpServer() as server:
        config = smtp_config(tmp_path, server.port)
        app = create_app(config, secret=SECRET, clock=make_clock())
        with TestClient(app, base_url="https://testserver") as client:
            r = post_subscribe(client, "smtp-reader@example.org")
        assert r.status_code == 200
    [got] = server.messages
    assert got.rcpt_tos == ["smtp-reader@example.org"]
    msg = email.message_from_bytes(got.data, policy=email.policy.default)
    assert msg["Subject"] == "Confirm your subscription to Test Digest"
    assert msg["From"] == "Digest <d@example.org>"
    assert "https://digest.example.org/confirm/" in msg.get_body(("plain",)).get_content()
    assert not (config.output_dir / "outbox").exists()


def test_a_refusing_server_gives_a_clear_page(tmp_path):
    port = free_port()  # nothing listens there
    config = smtp_config(tmp_path, port)
    app = create_app(config, secret=SECRET, clock=make_clock())
    with TestClient(app, base_url="https://testserver") as client:
        r = post_subscribe(client, "smtp-reader@example.org")
    assert r.status_code == 503 and "try again later" in r.text
    conn = open_db(config.state_path)
    try:
        assert store.active(conn) == []
    finally:
        conn.close()


def test_an_address_the_server_rejects(tmp_path):
    with SmtpServer(script={"bad@example.org": ["550 5.1.1 no such user"]}) as server:
        config = smtp_config(tmp_path, server.port)
        app = create_app(config, secret=SECRET, clock=make_clock())
        with TestClient(app, base_url="https://testserver") as client:
            r = post_subscribe(client, "bad@example.org")
    assert r.status_code == 503
    assert server.messages == []
