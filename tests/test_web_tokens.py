"""Link tokens are opaque: no address in any URL a digest or the web app sends, and a
manage/unsubscribe token is good only if this state issued it under the current secret."""

from __future__ import annotations

import base64
import binascii
import email
import email.policy
import re
from datetime import UTC, datetime

import pytest
import yaml
from click.testing import CliRunner
from starlette.testclient import TestClient

from digest import pipeline
from digest.clock import FixedClock
from digest.config import load
from digest.store.db import open_db
from digest.unsubscribe import TOKEN_LENGTH, check_token, issue_token, make_token, verify_token
from digest.web import create_app
from tests.support.web_app import (
    SECRET,
    START,
    csrf_token,
    link_in,
    make_clock,
    make_config,
    outbox_messages,
    path_of,
)

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

ADDRESS = "config-reader@example.org"


def decodings(token: str) -> list[bytes]:
    """Every way a token's parts could be read as base64: what a curious log reader tries."""
    out = []
    for part in re.split(r"[.]", token):
        for cut in range(len(part) - 3, len(part) + 1):
            chunk = part[:cut]
            try:
                out.append(base64.urlsafe_b64decode(chunk + "=" * (-len(chunk) % 4)))
            except (binascii.Error, ValueError):
                continue
    return out


def assert_opaque(token: str, address: str) -> None:
    assert address not in token
    for data in decodings(token):
        assert address.encode() not in data.lower()
        assert b"@" not in data or address.split("@")[0].encode() not in data


def test_a_token_is_a_short_deterministic_hmac_of_the_address():
    token = make_token("Reader@Example.org", SECRET)
    assert re.fullmatch(r"[A-Za-z0-9_-]+", token) and len(token) == TOKEN_LENGTH
    assert token == make_token(" reader@example.org", SECRET)  # the subscriber key
    assert token != make_token("other@example.org", SECRET)
    assert token != make_token("reader@example.org", SECRET + "x")
    assert_opaque(token, "reader@example.org")


def test_a_token_reads_back_only_when_issued_here_under_this_secret(tmp_path):
    conn = open_db(tmp_path / "state.sqlite")
    try:
        never_issued = make_token("reader@example.org", SECRET)
        assert verify_token(never_issued, SECRET, conn) is None
        assert check_token(conn, never_issued, SECRET).problem == "unknown"
        token = issue_token(conn, "Reader@Example.org", SECRET, START)
        assert token == never_issued
        assert verify_token(token, SECRET, conn) == "reader@example.org"
        assert verify_token(f" {token}\n", SECRET, conn) == "reader@example.org"
        assert check_token(conn, token, "a-new-secret-0123456789").problem == "mismatch"
        assert verify_token(token[:-2] + "xx", SECRET, conn) is None
        for garbage in ("garbage", "", token + "x", "ImFAZXhhbXBsZS5vcmci.abc"):
            assert check_token(conn, garbage, SECRET).problem == "malformed"
        issue_token(conn, "reader@example.org", SECRET, START)  # again: one row
        assert conn.execute("SELECT COUNT(*) FROM link_tokens").fetchone()[0] == 1
    finally:
        conn.close()


def test_a_digest_carries_opaque_links_that_the_web_app_reads(tmp_path, monkeypatch):
    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    config = make_config(tmp_path)
    report = pipeline.run(config, FixedClock(datetime(2026, 12, 1, 7, tzinfo=UTC)))
    assert [d.state for d in report.deliveries] == ["sent"]
    [eml] = sorted(config.output_dir.rglob("*.eml"))
    message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
    one_click = re.search(r"<(https://[^>]+)>", message["List-Unsubscribe"]).group(1)
    token = one_click.rsplit("/", 1)[1]
    assert_opaque(token, ADDRESS)
    html = message.get_body(preferencelist=("html",)).get_content()
    assert f"/manage/{token}" in html
    for url in re.findall(r'https://digest\.example\.org/[^"\s<>]+', html):
        assert ADDRESS not in url
        for part in url.split("/"):
            assert_opaque(part, ADDRESS)
    with TestClient(create_app(config, secret=SECRET, clock=make_clock())) as client:
        assert client.get(f"/manage/{token}").status_code == 200
        r = client.post(path_of(one_click), data={"List-Unsubscribe": "One-Click"})
        assert r.status_code == 200 and "You are unsubscribed" in r.text
    conn = open_db(config.state_path)
    try:
        assert [r[0] for r in conn.execute("SELECT email FROM unsubscribed")] == [ADDRESS]
    finally:
        conn.close()


def test_confirmation_and_manage_links_the_web_app_mails_are_opaque(tmp_path):
    config = make_config(tmp_path)
    address = "new.reader@example.org"
    with TestClient(
        create_app(config, secret=SECRET, clock=make_clock()), base_url="https://testserver"
    ) as client:
        page = client.get("/")
        client.post("/subscribe", data={"csrf_token": csrf_token(page.text), "email": address})
        confirm_link = link_in(outbox_messages(config)[0], "confirm")
        assert_opaque(confirm_link.rsplit("/", 1)[1], address)
        confirm_page = client.get(path_of(confirm_link))
        done = client.post(
            path_of(confirm_link), data={"csrf_token": csrf_token(confirm_page.text)}
        )
        assert done.status_code == 200 and "You are subscribed" in done.text
        manage = re.search(r'href="(/manage/[^"]+)"', done.text).group(1)
        assert_opaque(manage.rsplit("/", 1)[1], address)
        assert client.get(manage).status_code == 200  # the page recorded what it handed out
        # Asking again mails an "already subscribed" email with a manage link that works.
        page = client.get("/")
        client.post("/subscribe", data={"csrf_token": csrf_token(page.text), "email": address})
        again = link_in(outbox_messages(config)[-1], "manage")
        assert_opaque(again.rsplit("/", 1)[1], address)
        assert client.get(path_of(again)).status_code == 200


def test_unsubscribe_command_reads_opaque_tokens_and_a_bad_one_is_a_usage_error(
    tmp_path, monkeypatch
):
    from digest.cli_mail import unsubscribe

    monkeypatch.setenv("DIGEST_SECRET", SECRET)
    path = tmp_path / "config.yaml"
    path.write_text(
        yaml.safe_dump(
            {
                "title": "Test Digest",
                "base_url": "https://digest.example.org",
                "topics": [{"name": "Vision"}],
                "subscribers": [{"email": ADDRESS}],
            }
        ),
        encoding="utf-8",
    )
    conn = open_db(load(path).state_path)
    try:
        token = issue_token(conn, ADDRESS, SECRET, START)
    finally:
        conn.close()
    never_issued = make_token("someone@example.org", SECRET)
    bad = CliRunner().invoke(unsubscribe, ["--token", never_issued, "--config", str(path)])
    assert bad.exit_code == 2 and "never issued that link" in bad.output
    garbage = CliRunner().invoke(unsubscribe, ["--token", "garbage", "--config", str(path)])
    assert garbage.exit_code == 2 and "not a complete link token" in garbage.output
    ok = CliRunner().invoke(unsubscribe, ["--token", token, "--config", str(path)])
    assert ok.exit_code == 0, ok.output
    assert ok.output.startswith(f"{ADDRESS} unsubscribed;")
