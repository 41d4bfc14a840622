"""The web subscribers table, and `digest subscribers` listing both kinds of subscriber."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from click.testing import CliRunner

from digest.cli_web import serve, subscribers
from digest.store import optouts
from digest.store import subscribers as store
from digest.store.db import open_db
from tests.support.web_app import START, make_config


@pytest.fixture
def conn(tmp_path):
    c = open_db(tmp_path / "state.sqlite")
    yield c
    c.close()


def test_only_confirmed_rows_are_active(conn):
    a = store.request(conn, "A@example.org", ("Vision",), "weekly", START)
    store.request(conn, "b@example.org", (), "daily", START)
    assert store.active(conn) == []
    assert store.confirm(conn, "a@example.org", a.nonce, START) == "confirmed"
    [sub] = store.active(conn)
    assert (sub.email, sub.key, sub.topics, sub.cadence, sub.origin) == (
        "A@example.org",
        "a@example.org",
        ("Vision",),
        "weekly",
        "web",
    )
    assert store.unsubscribe(conn, "a@example.org", START)
    assert store.active(conn) == []


def test_confirm_is_idempotent_and_checks_the_nonce(conn):
    row = store.request(conn, "a@example.org", (), "daily", START)
    assert store.confirm(conn, "a@example.org", "wrong", START) == "stale"
    assert store.confirm(conn, "a@example.org", row.nonce, START) == "confirmed"
    assert store.confirm(conn, "a@example.org", row.nonce, START) == "already"
    store.unsubscribe(conn, "a@example.org", START)
    assert store.confirm(conn, "a@example.org", row.nonce, START) == "stale"
    assert store.confirm(conn, "nobody@example.org", row.nonce, START) == "stale"


def test_a_request_never_overwrites_a_confirmed_row(conn):
    row = store.request(conn, "a@example.org", ("Vision",), "weekly", START)
    store.confirm(conn, "a@example.org", row.nonce, START)
    again = store.request(conn, "a@example.org", ("Trending",), "daily", START)
    assert (again.state, again.topics, again.nonce) == ("confirmed", ("Vision",), row.nonce)


def test_update_only_touches_confirmed_rows(conn):
    row = store.request(conn, "a@example.org", ("Vision",), "weekly", START)
    assert not store.update(conn, "a@example.org", ("Trending",), "daily", START)
    store.confirm(conn, "a@example.org", row.nonce, START)
    assert store.update(conn, "a@example.org", ("Trending",), "daily", START)
    assert store.get(conn, "a@example.org").topics == ("Trending",)


def test_expiry_and_purge(conn):
    store.request(conn, "old@example.org", (), "daily", START)
    store.request(conn, "new@example.org", (), "daily", START + timedelta(hours=40))
    now = START + timedelta(hours=49)
    assert store.get(conn, "old@example.org").expired(now, 48)
    assert not store.get(conn, "new@example.org").expired(now, 48)
    assert store.purge_expired(conn, now, 48) == 1
    assert [r.email for r in store.all_rows(conn)] == ["new@example.org"]


def test_naive_datetimes_are_refused(conn):
    with pytest.raises(ValueError):
        store.request(conn, "a@example.org", (), "daily", START.replace(tzinfo=None))


def _seed(config):
    conn = open_db(config.state_path)
    try:
        a = store.request(conn, "web-a@example.org", ("Vision", "Trending"), "weekly", START)
        store.confirm(conn, "web-a@example.org", a.nonce, START + timedelta(hours=1))
        store.request(conn, "=cmd@example.org", (), "daily", START)
        store.request(conn, "late@example.org", (), "daily", START - timedelta(hours=72))
        b = store.request(conn, "gone@example.org", (), "daily", START)
        store.confirm(conn, "gone@example.org", b.nonce, START)
        store.unsubscribe(conn, "gone@example.org", START + timedelta(hours=2))
        optouts.add(conn, "config-reader@example.org", START + timedelta(hours=3), "web")
    finally:
        conn.close()


def test_subscribers_lists_config_and_web_with_state(tmp_path, monkeypatch):
    config = make_config(
        tmp_path,
        subscribers=[
            {"email": "config-reader@example.org", "topics": ["Vision"]},
            {"email": "kept@example.org", "name": "Kept", "cadence": "weekly"},
        ],
    )
    (tmp_path / "config.yaml").write_text(
        "title: Test\ntopics: [{name: Vision}, {name: Trending}]\nsubscribers:\n"
        "  - {email: config-reader@example.org, topics: [Vision]}\n"
        "  - {email: kept@example.org, name: Kept, cadence: weekly}\n"
    )
    _seed(config)
    monkeypatch.setenv("DIGEST_NOW", START.isoformat())
    result = CliRunner().invoke(subscribers, ["--config", str(tmp_path / "config.yaml")])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "config-reader@example.org  [config] unsubscribed since 2026-03-02 09:00"
    )
    assert lines[1] == "kept@example.org (Kept)  [config] active  weekly: all topics"
    assert (
        "web-a@example.org  [web] active since 2026-03-02 07:00 UTC  weekly: Vision, Trending"
        in lines
    )
    assert any(line.startswith("late@example.org  [web] expired") for line in lines)
    assert any(
        line.startswith("gone@example.org  [web] unsubscribed since 2026-03-02 08:00")
        for line in lines
    )
    assert lines[-1] == "2 active, 1 expired, 1 pending, 2 unsubscribed"

    as_csv = CliRunner().invoke(subscribers, ["--config", str(tmp_path / "config.yaml"), "--csv"])
    assert as_csv.exit_code == 0
    rows = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert [r["email"] for r in rows] == [
        "config-reader@example.org",
        "kept@example.org",
        "'=cmd@example.org",
        "gone@example.org",
        "late@example.org",
        "web-a@example.org",
    ]
    web_a = rows[-1]
    assert (web_a["origin"], web_a["state"], web_a["topics"], web_a["cadence"], web_a["since"]) == (
        "web",
        "active",
        "Vision; Trending",
        "weekly",
        "2026-03-02T07:00:00+00:00",
    )


def test_serve_refuses_to_start_without_the_secret(tmp_path, monkeypatch):
    from digest.cli import main

    monkeypatch.delenv("DIGEST_SECRET", raising=False)
    (tmp_path / "config.yaml").write_text("title: Test\n")
    with pytest.raises(SystemExit) as exit_info:
        main(["serve", "--config", str(tmp_path / "config.yaml")])
    assert exit_info.value.code == 2
    result = CliRunner().invoke(serve, ["--config", str(tmp_path / "config.yaml")])
    assert result.exit_code != 0
    assert "DIGEST_SECRET is not set" in str(result.exception)
    assert "export DIGEST_SECRET=" in str(result.exception)
    monkeypatch.setenv("DIGEST_SECRET", "short")  # noqa: S105
    result = CliRunner().invoke(serve, ["--config", str(tmp_path / "config.yaml")])
    assert "too short" in str(result.exception)


def test_a_request_is_found_by_its_nonce_until_it_is_replaced(conn):
    first = store.request(conn, "a@example.org", (), "daily", START)
    assert store.by_nonce(conn, first.nonce).email == "a@example.org"
    second = store.request(conn, "a@example.org", (), "daily", START)
    assert store.by_nonce(conn, first.nonce) is None
    assert store.by_nonce(conn, second.nonce).email == "a@example.org"
    store.unsubscribe(conn, "a@example.org", START)
    assert store.by_nonce(conn, second.nonce) is None


def test_serve_on_a_port_in_use_says_so_and_exits_1(tmp_path):
    import socket

    from tests.support.cli import digest

    (tmp_path / "config.yaml").write_text("title: Test\n")
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    port = taken.getsockname()[1]
    try:
        result = digest(
            "serve",
            "--config",
            "config.yaml",
            "--port",
            str(port),
            cwd=tmp_path,
            env={"DIGEST_SECRET": "a-long-enough-test-secret"},
            timeout=30,
        )
    finally:
        taken.close()
    assert result.returncode == 1, result.stderr
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr
    assert "serving" not in result.stderr and "Traceback" not in result.stderr


def test_serve_says_serving_once_bound_and_stops_on_sigterm(tmp_path):
    import signal
    import urllib.request

    from tests.support.ops_env import Proc
    from tests.support.smtp_server import free_port

    (tmp_path / "config.yaml").write_text("title: Test\n")
    port = free_port()
    proc = Proc(
        "serve",
        "--config",
        "config.yaml",
        "--port",
        str(port),
        cwd=tmp_path,
        extra_env={"DIGEST_SECRET": "a-long-enough-test-secret"},
    )
    try:
        line = proc.wait_for("serving")
        assert f"http://127.0.0.1:{port}" in line
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as r:
            assert r.status == 200
        proc.proc.send_signal(signal.SIGTERM)
        code, _, _ = proc.finish()
    finally:
        proc.kill()
    assert code == 0
