"""Logs: text on a terminal, JSON lines on request, and never a secret."""

from __future__ import annotations

import json
import logging
import subprocess

import pytest

from digest import logs
from tests.support.ops_env import DIGEST, env, write_config
from tests.support.smtp_server import SmtpServer, Tls

PASSWORD = "hunter2-Correct-Horse"  # noqa: S105 - a test value to hunt for


@pytest.fixture(autouse=True)
def clean_secrets():
    saved = set(logs._SECRETS)
    yield
    logs._SECRETS.clear()
    logs._SECRETS.update(saved)
    logs.setup_logging(0, "text")


def test_redact_masks_registered_secrets_longest_first():
    logs.register_secret("abcd")
    logs.register_secret("abcdefgh")
    logs.register_secret("ab")  # too short to mask safely: ignored
    assert logs.redact("x abcdefgh y abcd z ab") == "x ******** y ******** z ab"


def test_register_config_secrets_reads_the_env_vars(tmp_path, monkeypatch):
    from digest.config import load

    monkeypatch.setenv("MY_SMTP_PW", PASSWORD)
    monkeypatch.setenv("DIGEST_SECRET", "signing-secret-value")
    write_config(tmp_path, smtp={"host": "mail.example.org", "password_env": "MY_SMTP_PW"})
    logs.register_config_secrets(load(tmp_path / "config.yaml"))
    assert logs.redact(f"pw={PASSWORD} s=signing-secret-value") == "pw=******** s=********"


def capture(fmt: str, verbose: int = 1):
    import io
    import sys

    stream = io.StringIO()
    old = sys.stderr
    sys.stderr = stream
    try:
        logs.setup_logging(verbose, fmt)
    finally:
        sys.stderr = old
    return stream


def test_json_lines_are_json_and_redacted():
    logs.register_secret(PASSWORD)
    stream = capture("json")
    log = logging.getLogger("digest.test")
    log.info("login with %s", PASSWORD)
    try:
        raise RuntimeError(f"server said {PASSWORD}")
    except RuntimeError:
        log.exception("failed")
    records = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert [r["level"] for r in records] == ["info", "error"]
    assert records[0]["message"] == "login with ********" and records[0]["logger"] == "digest.test"
    assert "RuntimeError: server said ********" in records[1]["exception"]
    assert PASSWORD not in stream.getvalue()


def test_text_lines_are_readable_and_redacted():
    logs.register_secret(PASSWORD)
    stream = capture("text")
    logging.getLogger("digest.x").warning("pw %s", PASSWORD)
    line = stream.getvalue().strip()
    assert line.endswith("WARNING pw ********")
    assert line[:4].isdigit()  # starts with the date


def test_library_loggers_go_through_our_redacting_handler():
    logs.register_secret(PASSWORD)
    stream = capture("json")
    logging.getLogger("apscheduler.scheduler").warning("job %s missed", PASSWORD)
    (record,) = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert (
        record["logger"] == "apscheduler.scheduler" and record["message"] == "job ******** missed"
    )


def test_default_level_is_quiet_and_at_least_raises_it():
    capture("text", verbose=0)
    assert logging.getLogger("digest").level == logging.WARNING
    logs.at_least(logging.INFO)
    assert logging.getLogger("digest").level == logging.INFO
    capture("text", verbose=2)
    logs.at_least(logging.INFO)  # never raises the threshold
    assert logging.getLogger("digest").level == logging.DEBUG


@pytest.mark.parametrize("server_password", [PASSWORD, "not-the-configured-one"])
def test_a_real_smtp_run_never_logs_the_password(tmp_path, server_password):
    tls = Tls(tmp_path)
    with SmtpServer(tls=tls, auth=("digest", server_password)) as smtp:
        write_config(
            tmp_path,
            delivery={"method": "smtp", "from": "Digest <digest@example.org>"},
            smtp={
                "host": "127.0.0.1",
                "port": smtp.port,
                "security": "starttls",
                "username": "digest",
                "password_env": "DIGEST_SMTP_PASSWORD",
                "ca_file": str(tls.ca_file),
                "timeout": 10,
            },
        )
        outputs = []
        for args in (
            ["-vv", "--log-format", "json", "run", "--config", "config.yaml"],
            ["-vvv", "run", "--config", "config.yaml", "--json"],
            ["-vv", "check", "--network", "--config", "config.yaml"],
        ):
            result = subprocess.run(  # noqa: S603 - our own digest executable
                [str(DIGEST), *args],
                cwd=tmp_path,
                capture_output=True,
                text=True,
                timeout=120,
                env=env(DIGEST_SMTP_PASSWORD=PASSWORD),
            )
            outputs.append((result.returncode, result.stdout + result.stderr))
        sent = len(smtp.messages)
    everything = "".join(text for _, text in outputs)
    assert PASSWORD not in everything
    if server_password == PASSWORD:
        assert sent == 1 and outputs[0][0] == 0, everything
        assert outputs[2][0] == 0
    else:
        assert sent == 0 and outputs[0][0] != 0
        assert "refused the login" in everything
