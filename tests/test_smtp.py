"""SMTP delivery against a real aiosmtpd on 127.0.0.1: replies, drops, TLS, AUTH, outages."""

from __future__ import annotations

import socket
from datetime import timedelta

import pytest

from digest.deliver import deliver_pending
from digest.deliver.smtp import SmtpOutbox
from digest.store import deliveries
from digest.store.deliveries import LedgerRow
from tests.support.mailing import T0, clock, message_for, plan_rows, smtp_config, state_db
from tests.support.smtp_server import SilentServer, SmtpServer, Tls, free_port

A, B, C, D = "a@example.org", "b@example.org", "c@example.org", "d@example.org"
PASSWORD_ENV = "TEST_SMTP_PASSWORD"  # noqa: S105 - a variable name, not a secret


@pytest.fixture
def conn(tmp_path):
    db = state_db(tmp_path / "state.sqlite")
    yield db
    db.close()


def run(conn, config, **kwargs):
    sleeps: list[float] = []
    report = deliver_pending(conn, SmtpOutbox(config), clock(), sleep=sleeps.append, **kwargs)
    return report, sleeps


def states(conn) -> dict[str, str]:
    return {r["subscriber"]: r["state"] for r in conn.execute("SELECT * FROM deliveries")}


def test_sends_every_planned_row_over_one_connection(conn, tmp_path):
    with SmtpServer() as server:
        plan_rows(conn, [A, B, C])
        stored = deliveries.get(conn, A, "2026-12-01").message
        report, _ = run(conn, smtp_config(server.port, tmp_path))
    assert [d.state for d in report] == ["sent"] * 3 and report.ok
    assert [m.rcpt_tos for m in server.messages] == [[A], [B], [C]]
    assert server.messages[0].data == stored  # the exact bytes planned
    assert deliveries.get(conn, A, "2026-12-01").message is None  # dropped once sent
    assert {m.mail_from for m in server.messages} == {"digest@example.org"}
    assert len({m.peer for m in server.messages}) == 1  # the connection was reused
    assert states(conn) == {A: "sent", B: "sent", C: "sent"}
    assert {r[0] for r in conn.execute("SELECT subscriber FROM sent_papers")} == {A, B, C}


def test_reply_codes_decide_the_outcome(conn, tmp_path):
    script = {
        A: ["451 4.3.0 try later", None],  # temporary, then fine: retried in this run
        B: ["550 5.1.1 no such user"],  # permanent
        C: ["DATA:554 5.7.1 rejected as spam"],  # permanent, at DATA
        D: ["452 4.2.2 over quota"],  # temporary every time
    }
    with SmtpServer(script) as server:
        plan_rows(conn, [A, B, C, D])
        report, sleeps = run(conn, smtp_config(server.port, tmp_path, max_attempts_per_run=3))
    assert {d.subscriber: d.state for d in report} == {
        A: "sent",
        B: "perm-failed",
        C: "perm-failed",
        D: "temp-failed",
    }
    assert server.handler.ids() == [f"<{deliveries.get(conn, A, '2026-12-01').message_id}>"]
    assert sleeps == [2.0, 2.0, 4.0]  # A once, D twice: backoff doubles
    d = deliveries.get(conn, D, "2026-12-01")
    assert d.attempts == 3 and "452" in d.last_error and d.next_attempt_at > T0
    assert "550" in deliveries.get(conn, B, "2026-12-01").last_error
    assert deliveries.pending_paper_ids(conn, D) == {"arxiv:2612.00003"}


def test_552_and_421_are_temporary_and_421_reconnects(conn, tmp_path):
    with SmtpServer({A: ["552 5.2.2 mailbox full"], B: ["421 4.3.2 shutting down"]}) as server:
        plan_rows(conn, [A, B, C])
        report, _ = run(conn, smtp_config(server.port, tmp_path))
    assert [d.state for d in report] == ["temp-failed", "temp-failed", "sent"]
    assert [m.rcpt_tos for m in server.messages] == [[C]]


def test_partial_refusal_is_reported_per_recipient(conn, tmp_path):
    with SmtpServer({A: ["550 5.1.1 unknown"]}) as server:
        outbox = SmtpOutbox(smtp_config(server.port, tmp_path))
        row = LedgerRow(A, "x", "sending", "smtp", "m@x", (), message_for(A), 0, None, T0, T0, None)
        outcome = outbox.send(row)
        outbox.close()
    assert not outcome.ok and outcome.permanent and outcome.code == 550
    assert outcome.refused == ((A, 550, "5.1.1 unknown"),)


def test_drop_after_the_final_dot_resends_with_the_same_message_id(conn, tmp_path):
    with SmtpServer({A: ["DROP", None]}) as server:
        plan_rows(conn, [A, B])
        report, _ = run(conn, smtp_config(server.port, tmp_path, max_attempts_per_run=2))
    assert [d.state for d in report] == ["sent", "sent"]
    ids = [m.message_id for m in server.handler.arrived]
    # The dropped copy did arrive: the one accepted duplicate, same Message-ID.
    assert ids.count(ids[0]) == 2 and len(set(ids)) == 2


def test_a_server_that_never_greets_times_out(conn, tmp_path):
    with SilentServer() as server:
        plan_rows(conn, [A, B])
        report, _ = run(conn, smtp_config(server.port, tmp_path, timeout=0.3))
    assert report.aborted and "timed out" in report.aborted
    assert list(report) == [] and report.left_pending == 2
    assert states(conn) == {A: "planned", B: "planned"}


def test_server_down_marks_nothing_failed_and_the_next_run_sends_all(conn, tmp_path):
    port = free_port()
    plan_rows(conn, [A, B])
    report, _ = run(conn, smtp_config(port, tmp_path))
    assert report.aborted and "connection refused" in report.aborted and "hint" in report.aborted
    assert states(conn) == {A: "planned", B: "planned"}
    with SmtpServer(port=port) as server:
        report, _ = run(conn, smtp_config(port, tmp_path))
    assert [d.state for d in report] == ["sent", "sent"]
    assert len(server.messages) == 2


def test_starttls_with_auth_and_a_trusted_ca(conn, tmp_path, monkeypatch):
    tls = Tls(tmp_path)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "s3cret")
    with SmtpServer(tls=tls, auth=("digest", "s3cret")) as server:
        plan_rows(conn, [A])
        config = smtp_config(
            server.port,
            tmp_path,
            security="starttls",
            ca_file=str(tls.ca_file),
            username="digest",
            password_env=PASSWORD_ENV,
        )
        report, _ = run(conn, config)
    assert [d.state for d in report] == ["sent"]
    assert len(server.messages) == 1


def test_implicit_tls(conn, tmp_path):
    tls = Tls(tmp_path)
    with SmtpServer(tls=tls, implicit_tls=True) as server:
        plan_rows(conn, [A])
        report, _ = run(
            conn, smtp_config(server.port, tmp_path, security="ssl", ca_file=str(tls.ca_file))
        )
    assert [d.state for d in report] == ["sent"]


def test_untrusted_certificate_is_refused(conn, tmp_path):
    tls = Tls(tmp_path)
    with SmtpServer(tls=tls) as server:
        plan_rows(conn, [A])
        report, _ = run(conn, smtp_config(server.port, tmp_path, security="starttls"))
    assert report.aborted and "not trusted" in report.aborted
    assert server.messages == [] and states(conn) == {A: "planned"}


def test_starttls_is_never_silently_dropped(conn, tmp_path):
    with SmtpServer() as server:  # offers no STARTTLS
        plan_rows(conn, [A])
        report, _ = run(conn, smtp_config(server.port, tmp_path, security="starttls"))
    assert report.aborted and "does not offer STARTTLS" in report.aborted
    assert server.messages == [] and states(conn) == {A: "planned"}


def test_wrong_password_aborts_before_any_row_fails(conn, tmp_path, monkeypatch):
    tls = Tls(tmp_path)
    monkeypatch.setenv("TEST_SMTP_PASSWORD", "wrong")
    with SmtpServer(tls=tls, auth=("digest", "s3cret")) as server:
        plan_rows(conn, [A, B])
        config = smtp_config(
            server.port,
            tmp_path,
            security="starttls",
            ca_file=str(tls.ca_file),
            username="digest",
            password_env=PASSWORD_ENV,
        )
        report, _ = run(conn, config)
    assert report.aborted and "535" in report.aborted
    assert list(report) == [] and server.handler.rcpt_calls == 0
    assert states(conn) == {A: "planned", B: "planned"}
    assert deliveries.get(conn, A, "2026-12-01").attempts == 0


def test_missing_password_variable_is_a_clear_error(conn, tmp_path, monkeypatch):
    monkeypatch.delenv("TEST_SMTP_PASSWORD", raising=False)
    plan_rows(conn, [A])
    with SmtpServer() as server:
        config = smtp_config(server.port, tmp_path, username="digest", password_env=PASSWORD_ENV)
        report, _ = run(conn, config)
    assert report.aborted and "$TEST_SMTP_PASSWORD" in report.aborted
    assert states(conn) == {A: "planned"}


def test_unknown_mailboxes_do_not_pause_the_batch(conn, tmp_path):
    addresses = [f"r{i}@example.org" for i in range(6)]
    with SmtpServer({a: ["550 5.1.1 unknown"] for a in addresses[:5]}) as server:
        plan_rows(conn, addresses)
        report, _ = run(conn, smtp_config(server.port, tmp_path, pause_after_failures=3))
    assert not report.paused and report.left_pending == 0
    assert list(states(conn).values()).count("perm-failed") == 5
    assert states(conn)[addresses[5]] == "sent"


def test_pause_after_consecutive_failures(conn, tmp_path):
    addresses = [f"r{i}@example.org" for i in range(6)]
    with SmtpServer({a: ["550 5.7.1 relaying denied"] for a in addresses}) as server:
        plan_rows(conn, addresses)
        report, _ = run(conn, smtp_config(server.port, tmp_path, pause_after_failures=3))
    assert report.paused and report.left_pending == 3 and "paused" in report.summary()
    assert list(states(conn).values()).count("perm-failed") == 3
    assert list(states(conn).values()).count("planned") == 3
    assert server.handler.rcpt_calls == 3


def test_parallel_connections_send_everything_once(conn, tmp_path):
    addresses = [f"r{i:02d}@example.org" for i in range(30)]
    with SmtpServer() as server:
        plan_rows(conn, addresses)
        report, _ = run(conn, smtp_config(server.port, tmp_path, connections=3))
    assert sorted(d.subscriber for d in report if d.state == "sent") == addresses
    assert sorted(m.rcpt_tos[0] for m in server.messages) == addresses
    assert 1 < len({m.peer for m in server.messages}) <= 3


def test_socket_has_tcp_nodelay(tmp_path):
    with SmtpServer() as server:
        outbox = SmtpOutbox(smtp_config(server.port, tmp_path))
        client = outbox._acquire()
        try:
            assert client.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)
        finally:
            outbox._release(client)
            outbox.close()


def test_a_stale_pooled_connection_is_replaced_without_losing_the_message(conn, tmp_path):
    with SmtpServer() as server:
        plan_rows(conn, [A, B])
        outbox = SmtpOutbox(smtp_config(server.port, tmp_path))
        outbox.open()
        client = outbox._idle.get_nowait()
        client.sock.shutdown(socket.SHUT_RDWR)  # as if the server timed the idle session out
        outbox._idle.put(client)
        report = deliver_pending(conn, outbox, clock())
    assert [d.state for d in report] == ["sent", "sent"]
    assert len(server.messages) == 2


def test_retry_period_expiry_makes_a_failure_permanent(conn, tmp_path):
    with SmtpServer({A: ["451 4.3.0 later"]}) as server:
        plan_rows(conn, [A], at=T0 - timedelta(hours=80))
        report, _ = run(conn, smtp_config(server.port, tmp_path, retry_hours=72))
    assert [d.state for d in report] == ["perm-failed"]
    assert "gave up" in report[0].detail


def test_an_address_the_server_cannot_take_fails_alone_and_the_rest_go_out(conn, tmp_path):
    """A non-ASCII local part (no SMTPUTF8) must not leave the session mid-transaction: the
    next message would get "503 nested MAIL command"."""
    with SmtpServer() as server:
        plan_rows(conn, ["тест@example.org", A])
        report, _ = run(conn, smtp_config(server.port, tmp_path))
    assert {d.subscriber: d.state for d in report} == {"тест@example.org": "perm-failed", A: "sent"}
    assert [m.rcpt_tos for m in server.messages] == [[A]]
