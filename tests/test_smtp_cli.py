"""`digest send-test` and `digest unsubscribe`, driven through click end to end."""

from __future__ import annotations

import json
from email.parser import BytesParser
from email.policy import default

import yaml
from click.testing import CliRunner

from digest.cli_mail import send_test, unsubscribe
from digest.store import deliveries
from digest.store.optouts import is_unsubscribed
from digest.unsubscribe import issue_token
from tests.support.cli import digest
from tests.support.mailing import T0, plan_rows, state_db
from tests.support.smtp_server import SmtpServer, free_port

A = "reader@example.org"


def write_config(tmp_path, port: int, **smtp) -> str:
    raw = {
        "title": "Trending Papers",
        "state": "state.sqlite",
        "delivery": {"method": "smtp", "from": "Paper Digest <digest@example.org>"},
        "smtp": {"host": "127.0.0.1", "port": port, "security": "none", "timeout": 5, **smtp},
        "list": {"unsubscribe_mailto": "unsubscribe@example.org"},
        "topics": [{"name": "Everything"}],
        "subscribers": [{"email": A}],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    return str(path)


def test_send_test_delivers_a_sample_digest(tmp_path):
    with SmtpServer() as server:
        result = CliRunner().invoke(
            send_test, ["--to", "Me@Example.org", "--config", write_config(tmp_path, server.port)]
        )
    assert result.exit_code == 0, result.output
    assert result.output.startswith("sent a test digest to Me@example.org via 127.0.0.1:")
    [received] = server.messages
    msg = BytesParser(policy=default).parsebytes(received.data)
    assert msg["Subject"] == "Trending Papers: test digest"
    assert msg["List-Id"] == "Trending Papers <trending-papers.example.org>"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert msg["Message-ID"] in result.output


def test_send_test_reports_a_refusal_with_json(tmp_path):
    with SmtpServer({"me@example.org": ["550 5.1.1 no such user"]}) as server:
        result = CliRunner().invoke(
            send_test,
            ["--to", "me@example.org", "--json", "--config", write_config(tmp_path, server.port)],
        )
    assert result.exit_code == 1
    first = json.loads(result.output.splitlines()[0])
    assert first["ok"] is False and first["code"] == 550
    assert "did not accept the test digest (permanent)" in result.output


def test_send_test_with_the_server_down_says_what_to_do(tmp_path):
    result = CliRunner().invoke(
        send_test, ["--to", "me@example.org", "--config", write_config(tmp_path, free_port())]
    )
    assert result.exit_code == 1
    assert "connection refused" in result.output and "hint:" in result.output


def test_unsubscribe_by_address_cancels_pending(tmp_path):
    config = write_config(tmp_path, 25)
    conn = state_db(tmp_path / "state.sqlite")
    plan_rows(conn, [A])
    result = CliRunner().invoke(unsubscribe, ["Reader@Example.org", "--config", config])
    assert result.exit_code == 0, result.output
    assert result.output == f"{A} unsubscribed; 1 pending deliveries cancelled\n"
    assert is_unsubscribed(conn, A)
    assert deliveries.get(conn, A, "2026-12-01").state == "cancelled"
    conn.close()


def test_unsubscribe_by_token(tmp_path, monkeypatch):
    config = write_config(tmp_path, 25)
    monkeypatch.setenv("DIGEST_SECRET", "s3cret")
    conn = state_db(tmp_path / "state.sqlite")
    token = issue_token(conn, A, "s3cret", T0)  # as the digest that carried the link did
    conn.close()
    result = CliRunner().invoke(unsubscribe, ["--token", token, "--config", config, "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"email": A, "new": True, "known": True, "cancelled": 0}
    bad = CliRunner().invoke(unsubscribe, ["--token", token + "x", "--config", config])
    assert bad.exit_code == 2 and "not valid" in bad.output


def test_a_bad_token_is_a_usage_error_through_the_real_command(tmp_path):
    config = write_config(tmp_path, 25)
    result = digest(
        "unsubscribe",
        "--token",
        "garbage",
        "--config",
        config,
        cwd=tmp_path,
        env={"DIGEST_SECRET": "s3cret"},
    )
    assert result.returncode == 2, result.stderr
    assert "that unsubscribe token is not valid" in result.stderr
    assert "copy the whole link" in result.stderr


def test_unsubscribing_an_unknown_address_says_it_was_not_a_subscriber(tmp_path):
    config = write_config(tmp_path, 25)
    result = CliRunner().invoke(unsubscribe, ["nobody@example.org", "--config", config])
    assert result.exit_code == 0, result.output
    assert result.output == (
        "nobody@example.org was not a subscriber; added to the suppression list so it is "
        "never mailed\n"
    )
    conn = state_db(tmp_path / "state.sqlite")
    try:
        assert is_unsubscribed(conn, "nobody@example.org")
    finally:
        conn.close()
    again = CliRunner().invoke(unsubscribe, ["nobody@example.org", "--config", config, "--json"])
    assert json.loads(again.output) == {
        "email": "nobody@example.org",
        "new": False,
        "known": False,
        "cancelled": 0,
    }


def test_send_test_without_an_smtp_section_is_a_config_error(tmp_path):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump({"topics": [{"name": "All"}]}), encoding="utf-8")
    result = digest("send-test", "--to", "me@example.org", "--config", str(path), cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "there is no smtp section in the config" in result.stderr
    assert "hint: add smtp:" in result.stderr


def test_unsubscribe_needs_exactly_one_of_address_or_token(tmp_path):
    result = CliRunner().invoke(unsubscribe, ["--config", write_config(tmp_path, 25)])
    assert result.exit_code == 2 and "ADDRESS or --token" in result.output


def test_a_sent_digest_never_links_to_files_on_the_server(tmp_path):
    """Without base_url, the web version is the archive on disk: fine for a disk preview,
    never in mail sent over SMTP; with the archive off there is no archive link at all."""
    import yaml

    from digest import config as config_mod
    from digest import pipeline
    from digest.clock import FixedClock
    from tests.support.mailing import T0
    from tests.support.smtp_server import SmtpServer

    with SmtpServer() as server:
        for archive in (True, False):
            root = tmp_path / str(archive)
            root.mkdir()
            (root / "config.yaml").write_text(
                yaml.safe_dump(
                    {
                        "topics": [{"name": "All"}],
                        "subscribers": [{"email": "a@example.org", "max_papers": 3}],
                        "output": {"archive": archive},
                        "base_url": None if archive else "https://papers.example.org",
                        "delivery": {"method": "smtp", "from": "d@example.org"},
                        "smtp": {"host": "127.0.0.1", "port": server.port, "security": "none"},
                    }
                )
            )
            report = pipeline.run(config_mod.load(root / "config.yaml"), FixedClock(T0))
            assert [d.state for d in report.deliveries] == ["sent"]
            if archive:
                assert any("web version link" in w for w in report.warnings)
        bodies = [m.data for m in server.messages]
    assert len(bodies) == 2
    import email
    from email import policy

    for data in bodies:
        message = email.message_from_bytes(data, policy=policy.default)
        for part in ("plain", "html"):
            content = message.get_body((part,)).get_content()
            assert "file://" not in content and "/archive/" not in content, part
