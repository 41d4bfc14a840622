"""`digest check`, `preview`, `status`, `schedule` through the real CLI."""

from __future__ import annotations

import json
import signal
import urllib.request
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner

from digest.cli import cli
from digest.errors import ConfigError
from tests.support.ops_env import FIXTURES, Proc, count, record_run, write_config
from tests.support.replay_server import ReplayServer, Reply
from tests.support.smtp_server import SmtpServer, Tls, free_port

PASSWORD = "s3cret-Pa55word!"  # noqa: S105 - a test value to hunt for


def invoke(tmp_path, *args, env=None):
    """The CLI as `digest ARGS` run in tmp_path (relative paths as a user types them)."""
    import os

    runner = CliRunner()
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        return runner.invoke(cli, list(args), env=env, catch_exceptions=True)
    finally:
        os.chdir(old)


def lines(result):
    return result.output.splitlines()


# ---------------------------------------------------------------- check
def test_check_passes_on_a_good_config(tmp_path):
    write_config(tmp_path)
    result = invoke(tmp_path, "check", "--config", "config.yaml")
    assert result.exit_code == 0, result.output
    out = lines(result)
    assert out[0].startswith("ok   config: config.yaml (1 source(s), 1 topic(s), 1 subscriber(s))")
    assert out[1].startswith("ok   schedule: next run ")
    assert out[2].startswith("ok   templates: sample digest rendered (shipped)")
    assert out[3].startswith("ok   output: ")
    assert out[4].startswith("ok   state: ")
    assert out[5].startswith("ok   source sample: ")  # local sources are read anyway
    assert out[6] == "skip network: sources and SMTP not contacted (use --network)"
    assert not (tmp_path / "state.sqlite").exists()  # checking changes nothing


def test_check_without_network_reads_local_file_sources(tmp_path):
    write_config(tmp_path, sources=[{"name": "mine", "type": "file", "path": "nope.jsonl"}])
    result = invoke(tmp_path, "check", "--config", "config.yaml")
    assert result.exit_code == 1
    assert any(
        line.startswith("FAIL source mine: ") and "does not exist" in line for line in lines(result)
    )


def test_check_reports_a_broken_template(tmp_path):
    (tmp_path / "tpl" / "email").mkdir(parents=True)
    (tmp_path / "tpl" / "email" / "digest.txt").write_text("{% for x in %}\n", encoding="utf-8")
    write_config(tmp_path, templates="tpl")
    result = invoke(tmp_path, "check", "--config", "config.yaml")
    assert result.exit_code == 1
    (failed,) = [line for line in lines(result) if line.startswith("FAIL")]
    assert failed.startswith("FAIL templates: ")
    assert "digest.txt" in result.output


def test_check_reports_an_output_folder_that_cannot_be_written(tmp_path):
    (tmp_path / "afile").write_text("x")
    write_config(tmp_path, output={"dir": "afile/out"})
    result = invoke(tmp_path, "check", "--config", "config.yaml")
    assert result.exit_code == 1
    assert "FAIL output: " in result.output and "is not a folder (output.dir)" in result.output


def test_check_bad_config_exits_2(tmp_path):
    write_config(tmp_path, schedul={"cron": "0 7 * * *"})
    result = invoke(tmp_path, "check", "--config", "config.yaml")
    assert result.exit_code == 2
    assert result.output.startswith("FAIL config: ")
    assert "did you mean 'schedule'" in result.output


def test_check_bad_cron_exits_2_naming_the_key(tmp_path):
    write_config(tmp_path, schedule={"cron": "0 7 * * 1-8"})
    result = invoke(tmp_path, "check", "--config", "config.yaml")
    assert result.exit_code == 2
    assert "FAIL config" in result.output
    assert "schedule.cron: cron expression '0 7 * * 1-8': day-of-week value 8" in result.output


LOGIN = {
    "host": "127.0.0.1",
    "port": 2525,
    "security": "none",
    "username": "digest",
    "password_env": "DIGEST_SMTP_PASSWORD",
}


@pytest.mark.parametrize("value", [None, ""])
def test_check_fails_when_the_smtp_password_variable_is_unset_or_empty(tmp_path, value):
    write_config(tmp_path, smtp=LOGIN)
    result = invoke(
        tmp_path, "check", "--config", "config.yaml", env={"DIGEST_SMTP_PASSWORD": value}
    )
    assert result.exit_code == 1, result.output
    (failed,) = [line for line in lines(result) if line.startswith("FAIL")]
    state = "is not set" if value is None else "is empty"
    assert failed.startswith(
        "FAIL smtp login: the environment variable DIGEST_SMTP_PASSWORD (smtp.password_env) "
        + state
    )
    good = invoke(
        tmp_path, "check", "--config", "config.yaml", env={"DIGEST_SMTP_PASSWORD": PASSWORD}
    )
    assert good.exit_code == 0, good.output
    assert "ok   smtp login: password for digest in $DIGEST_SMTP_PASSWORD" in lines(good)
    assert PASSWORD not in good.output


def test_check_fails_when_a_username_has_no_password_variable(tmp_path):
    write_config(tmp_path, smtp={**LOGIN, "password_env": None})
    result = invoke(tmp_path, "check", "--config", "config.yaml")
    assert result.exit_code == 1
    assert any(
        line.startswith(
            "FAIL smtp login: smtp.username is 'digest' but smtp.password_env is not set"
        )
        for line in lines(result)
    )


def test_check_warns_when_base_url_is_set_without_the_signing_secret(tmp_path):
    write_config(tmp_path, base_url="https://digest.example.org")
    result = invoke(tmp_path, "check", "--config", "config.yaml", env={"DIGEST_SECRET": None})
    assert result.exit_code == 0, result.output  # a warning, not a failure
    (warn,) = [line for line in lines(result) if line.startswith("warn")]
    assert warn.startswith(
        "warn links: base_url is set but the environment variable "
        "DIGEST_SECRET (web.secret_env) is not"
    )
    assert "no one-click unsubscribe or manage links" in warn
    signed = invoke(
        tmp_path, "check", "--config", "config.yaml", env={"DIGEST_SECRET": "a-long-enough-secret"}
    )
    assert "ok   links: unsubscribe and manage links signed with $DIGEST_SECRET" in lines(signed)
    assert not any(line.startswith("warn") for line in lines(signed))


def smtp_config(server, tls, **smtp):
    return {
        "delivery": {"method": "smtp", "from": "Digest <digest@example.org>"},
        "smtp": {
            "host": "127.0.0.1",
            "port": server.port,
            "security": "starttls",
            "username": "digest",
            "password_env": "DIGEST_SMTP_PASSWORD",
            "ca_file": str(tls.ca_file),
            "timeout": 10,
            **smtp,
        },
    }


def test_check_network_reaches_sources_and_smtp(tmp_path):
    tls = Tls(tmp_path)
    feed = (FIXTURES / "blog_rss2_bair_berkeley_trimmed_3items.xml").read_bytes()
    with ReplayServer() as http, SmtpServer(tls=tls, auth=("digest", PASSWORD)) as smtp:
        url = http.route(
            "/feed.xml", Reply(body=feed, headers={"Content-Type": "application/rss+xml"})
        )
        down = f"http://127.0.0.1:{free_port()}/feed.xml"
        write_config(
            tmp_path,
            sources=[
                {"name": "blog", "type": "feed", "url": url},
                {"name": "gone", "type": "feed", "url": down, "timeout": 5},
            ],
            **smtp_config(smtp, tls),
        )
        result = invoke(
            tmp_path,
            "-vv",
            "check",
            "--network",
            "--config",
            "config.yaml",
            env={"DIGEST_SMTP_PASSWORD": PASSWORD},
        )
    out = lines(result)
    assert result.exit_code == 1, result.output
    assert any(line.startswith("ok   source blog: 3 papers") for line in out), result.output
    assert any(line.startswith("FAIL source gone: ") for line in out)
    assert any(
        line.startswith("ok   smtp: 127.0.0.1:") and "logged in as digest" in line for line in out
    ), result.output
    assert smtp.messages == []  # no mail sent
    assert PASSWORD not in result.output


def test_check_network_wrong_password_fails_without_leaking_it(tmp_path):
    tls = Tls(tmp_path)
    with SmtpServer(tls=tls, auth=("digest", "the-right-one")) as smtp:
        write_config(tmp_path, **smtp_config(smtp, tls))
        result = invoke(
            tmp_path,
            "-vv",
            "--log-format",
            "json",
            "check",
            "--network",
            "--config",
            "config.yaml",
            env={"DIGEST_SMTP_PASSWORD": PASSWORD},
        )
    assert result.exit_code == 1
    (failed,) = [line for line in lines(result) if line.startswith("FAIL")]
    assert failed.startswith("FAIL smtp: ") and "refused the login" in failed
    assert PASSWORD not in result.output


# ---------------------------------------------------------------- preview
def test_preview_no_serve_writes_html_and_records_nothing(tmp_path):
    write_config(tmp_path)
    record_run(tmp_path / "state.sqlite", datetime.now(UTC) - timedelta(days=1))
    before = count(tmp_path / "state.sqlite", "SELECT COUNT(*) FROM runs")
    result = invoke(tmp_path, "preview", "--no-serve", "--config", "config.yaml")
    assert result.exit_code == 0, result.output
    path = tmp_path / lines(result)[-1]
    assert path.name == "reader@example.org.html" and "preview" in path.parts
    assert "<html" in path.read_text(encoding="utf-8").lower()
    assert count(tmp_path / "state.sqlite", "SELECT COUNT(*) FROM runs") == before
    assert count(tmp_path / "state.sqlite", "SELECT COUNT(*) FROM deliveries") == 0


def test_preview_of_someone_already_served_today_shows_their_next_digest(tmp_path):
    from digest import pipeline
    from digest.clock import system_clock
    from digest.config import load

    write_config(tmp_path)
    config = load(tmp_path / "config.yaml")
    assert pipeline.run(config, system_clock()).sent
    result = invoke(tmp_path, "preview", "--no-serve", "--config", "config.yaml")
    assert result.exit_code == 0, result.output
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).date().isoformat()
    assert f"as of {tomorrow} 07:00 UTC" in result.output
    assert tomorrow in lines(result)[-1]


def test_preview_unknown_subscriber_is_a_config_error(tmp_path):
    write_config(tmp_path)
    result = invoke(
        tmp_path,
        "preview",
        "--no-serve",
        "--subscriber",
        "who@example.org",
        "--config",
        "config.yaml",
    )
    assert isinstance(result.exception, ConfigError)
    assert "reader@example.org" in str(result.exception)  # the hint lists who exists


def test_preview_serves_on_localhost_until_ctrl_c(tmp_path):
    write_config(
        tmp_path,
        subscribers=[
            {"email": "first@example.org", "send_empty": True},
            {"email": "Second@Example.org", "name": "Second", "send_empty": True},
        ],
    )
    proc = Proc(
        "preview",
        "--subscriber",
        "second@example.org",
        "--port",
        "0",
        "--config",
        "config.yaml",
        cwd=tmp_path,
    )
    try:
        url = None
        for line in proc.proc.stdout:
            if line.startswith("serving "):
                url = line.split(" on ")[1].split(" ")[0]
                break
        assert url and url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback)
            body = response.read().decode()
            assert response.headers["Content-Type"] == "text/html; charset=utf-8"
        assert "Second" in body
        with pytest.raises(urllib.error.HTTPError):
            urllib.request.urlopen(url + "../config.yaml", timeout=10)  # noqa: S310
        proc.proc.send_signal(signal.SIGINT)
        code, _, err = proc.finish()
    finally:
        proc.kill()
    assert code == 0, err


# ---------------------------------------------------------------- status
def test_status_without_state(tmp_path):
    write_config(tmp_path, timezone="Europe/Paris")
    result = invoke(tmp_path, "status", "--config", "config.yaml")
    assert result.exit_code == 0
    assert lines(result)[0].startswith("next run: ")
    assert (
        "07:00 CET (UTC+01:00)" in lines(result)[0] or "07:00 CEST (UTC+02:00)" in lines(result)[0]
    )
    assert "no runs recorded yet" in result.output
    assert not (tmp_path / "state.sqlite").exists()


def test_status_shows_runs_sent_and_failed(tmp_path):
    from digest import pipeline
    from digest.clock import FixedClock
    from digest.config import load
    from digest.store import deliveries
    from digest.store.db import open_db

    write_config(tmp_path)
    config = load(tmp_path / "config.yaml")
    at = datetime.now(UTC) - timedelta(days=1)
    pipeline.run(config, FixedClock(at))
    conn = open_db(config.state_path)
    deliveries.plan(
        conn,
        subscriber="late@example.org",
        issue_id="2026-01-01",
        method="smtp",
        message_id="<x@y>",
        paper_ids=("p1",),
        message=b"m",
        at=at,
    )
    deliveries.set_state(
        conn,
        "late@example.org",
        "2026-01-01",
        "temp-failed",
        at,
        error="451 4.3.0 try later",
        count_attempt=True,
    )
    conn.close()

    text = invoke(tmp_path, "status", "--config", "config.yaml")
    assert text.exit_code == 0
    assert "last runs:" in text.output
    assert "ok       1 sent" in text.output
    assert f"sent reader@example.org ({at.date().isoformat()})" in text.output
    assert "deliveries waiting for a retry: 1" in text.output
    assert (
        "late@example.org (2026-01-01): temp-failed, 1 attempt(s): 451 4.3.0 try later"
        in text.output
    )
    assert "catch-up due" in text.output  # today's 07:00 (or yesterday's) has not run since

    data = json.loads(invoke(tmp_path, "status", "--json", "--config", "config.yaml").output)
    assert data["runs"][0]["status"] == "ok"
    assert data["runs"][0]["sent"] == [f"reader@example.org ({at.date().isoformat()})"]
    assert data["deliveries"] == {"sent": 1, "temp-failed": 1}
    assert datetime.fromisoformat(data["next_run"]).hour == 7
    assert data["running_pid"] is None


def _ledger(state, rows):
    """Deliveries as runs leave them: (subscriber, issue, state, at, extra set_state args)."""
    from digest.store import deliveries
    from digest.store.db import open_db

    conn = open_db(state)
    try:
        for subscriber, issue, final, at, extra in rows:
            deliveries.plan(
                conn,
                subscriber=subscriber,
                issue_id=issue,
                method="smtp",
                message_id=f"<{subscriber}>",
                paper_ids=("p1",),
                message=b"m",
                at=at,
            )
            if final == "sent":
                row = deliveries.get(conn, subscriber, issue)
                assert deliveries.claim(conn, row, at)
                deliveries.mark_sent(conn, subscriber, issue, at, attempts=1)
            elif final != "planned":
                deliveries.set_state(conn, subscriber, issue, final, at, **extra)
    finally:
        conn.close()


def test_status_shows_a_killed_run_as_interrupted_with_what_it_sent(tmp_path):
    from digest.store.lock import run_lock

    write_config(tmp_path)
    state = tmp_path / "state.sqlite"
    started = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    record_run(state, started - timedelta(days=1))
    record_run(state, started, status="running")  # killed: never finished, no report
    _ledger(
        state,
        [
            ("reader@example.org", "2026-11-30", "sent", started + timedelta(minutes=1), {}),
            ("second@example.org", "2026-11-30", "planned", started + timedelta(minutes=1), {}),
            ("old@example.org", "2026-11-28", "sent", started - timedelta(days=2), {}),
        ],
    )
    result = invoke(tmp_path, "status", "--config", "config.yaml")
    assert result.exit_code == 0, result.output
    out = lines(result)
    at = out.index("  2026-11-30 07:00 UTC  interrupted 1 sent")
    assert "the process stopped before the run finished" in out[at + 1]
    assert out[at + 2] == "      sent reader@example.org (2026-11-30)"
    assert out[at + 3] == "      not sent yet second@example.org (2026-11-30)"
    assert "  2026-11-29 07:00 UTC  ok       nothing sent" in out
    assert "old@example.org" not in result.output.split("last runs:")[1].split("deliveries")[0]
    data = json.loads(invoke(tmp_path, "status", "--json", "--config", "config.yaml").output)
    assert data["runs"][0]["status"] == "interrupted"
    assert data["runs"][0]["sent"] == ["reader@example.org (2026-11-30)"]

    with run_lock(state, wait=0):  # a run in progress right now: its row is `running`
        live = invoke(tmp_path, "status", "--config", "config.yaml")
    assert "  2026-11-30 07:00 UTC  running  1 sent" in lines(live)
    assert "a run is in progress now" in live.output


def test_status_tells_when_a_failed_delivery_is_retried_and_not_given_ups(tmp_path):
    write_config(tmp_path)
    state = tmp_path / "state.sqlite"
    at = datetime(2026, 11, 30, 7, 0, tzinfo=UTC)
    record_run(state, at)
    _ledger(
        state,
        [
            (
                "later@example.org",
                "2026-11-30",
                "temp-failed",
                at,
                {
                    "error": "451 4.3.0 try later",
                    "count_attempt": True,
                    "next_attempt_at": at + timedelta(minutes=30),
                },
            ),
            (
                "soon@example.org",
                "2026-11-30",
                "temp-failed",
                at,
                {"error": "421 busy", "count_attempt": True},
            ),
            (
                "gone@example.org",
                "2026-11-30",
                "perm-failed",
                at,
                {"error": "550 5.1.1 no such user", "count_attempt": True},
            ),
        ],
    )
    result = invoke(tmp_path, "status", "--config", "config.yaml")
    out = lines(result)
    assert "deliveries waiting for a retry: 2" in out
    assert (
        "  later@example.org (2026-11-30): temp-failed, 1 attempt(s): 451 4.3.0 try later; "
        "next attempt with the first run after 2026-11-30 07:30 UTC"
    ) in out
    assert (
        "  soon@example.org (2026-11-30): temp-failed, 1 attempt(s): 421 busy; sent by the next run"
    ) in out
    assert "deliveries given up: 1" in out
    assert "  gone@example.org (2026-11-30): 550 5.1.1 no such user" in out
    data = json.loads(invoke(tmp_path, "status", "--json", "--config", "config.yaml").output)
    assert sorted(w["subscriber"] for w in data["waiting"]) == [
        "later@example.org",
        "soon@example.org",
    ]
    assert [w["subscriber"] for w in data["given_up"]] == ["gone@example.org"]
    later = next(w for w in data["waiting"] if w["subscriber"] == "later@example.org")
    assert datetime.fromisoformat(later["next_attempt_at"]) == at + timedelta(minutes=30)


# ---------------------------------------------------------------- explain
def test_explain_with_an_unknown_topic_is_a_usage_error(tmp_path):
    from tests.support.cli import digest

    write_config(tmp_path)
    result = digest("explain", "--topic", "Everythin", "--config", "config.yaml", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "no topic named 'Everythin'; did you mean 'Everything'?" in result.stderr
    broken = digest("explain", "--topic", "X", "--config", "missing.yaml", cwd=tmp_path)
    assert broken.returncode == 2 and "does not exist" in broken.stderr


# ---------------------------------------------------------------- schedule
def test_schedule_with_a_bad_cron_is_a_config_error(tmp_path):
    write_config(tmp_path, schedule={"cron": "every day"})
    result = invoke(tmp_path, "schedule", "--config", "config.yaml")
    assert isinstance(result.exception, ConfigError)
    assert result.exception.exit_code == 2
    assert "schedule.cron: cron expression 'every day' has 2 fields" in str(result.exception)


def test_every_ops_command_has_help(tmp_path):
    for name in ("schedule", "check", "preview", "status"):
        result = invoke(tmp_path, name, "--help")
        assert result.exit_code == 0 and "--config" in result.output
