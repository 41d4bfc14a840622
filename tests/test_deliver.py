"""The delivery loop and ledger: disk outbox, retries across runs, unsubscribes, rate limit,
progress line."""

from __future__ import annotations

import io
from datetime import timedelta

import pytest

from digest.deliver import deliver_pending, make_outbox
from digest.deliver.disk import DiskOutbox
from digest.deliver.progress import Progress, terminal_progress
from digest.deliver.rate import RateLimiter
from digest.deliver.smtp import SmtpOutbox, is_temporary
from digest.models import Delivery
from digest.store import deliveries
from digest.store.optouts import SCHEMA as OPTOUTS_SCHEMA
from digest.unsubscribe import (
    is_unsubscribed,
    make_token,
    unsubscribe,
    unsubscribe_url,
    unsubscribed,
    verify_token,
)
from tests.support.mailing import T0, clock, plan_rows, smtp_config, state_db
from tests.support.smtp_server import SmtpServer

A, B = "a@example.org", "b@example.org"


@pytest.fixture
def conn(tmp_path):
    db = state_db(tmp_path / "state.sqlite")
    db.executescript(OPTOUTS_SCHEMA)
    yield db
    db.close()


def test_disk_outbox_writes_each_message_once(conn, tmp_path):
    plan_rows(conn, [A, B])
    stored = deliveries.get(conn, A, "2026-12-01").message
    report = deliver_pending(conn, DiskOutbox(tmp_path / "out"), clock())
    assert [d.state for d in report] == ["sent", "sent"] and report.ok
    path = tmp_path / "out" / "mail" / "2026-12-01" / f"{A}.eml"
    assert path.read_bytes() == stored and report[0].files == (str(path),)
    assert len(deliver_pending(conn, DiskOutbox(tmp_path / "out"), clock())) == 0


def test_make_outbox_picks_by_method(tmp_path):
    config = smtp_config(25, tmp_path)
    assert isinstance(make_outbox(config, clock()), SmtpOutbox)
    disk = make_outbox(
        config.model_copy(
            update={"delivery": config.delivery.model_copy(update={"method": "disk"})}
        ),
        clock(),
        out_dir=tmp_path,
    )
    assert isinstance(disk, DiskOutbox)


def test_temporary_failure_waits_for_its_retry_time_then_sends(conn, tmp_path):
    with SmtpServer({A: ["451 4.3.0 later", None]}) as server:
        config = smtp_config(server.port, tmp_path, max_attempts_per_run=1)
        plan_rows(conn, [A])
        first = deliver_pending(conn, SmtpOutbox(config), clock())
        assert [d.state for d in first] == ["temp-failed"]
        retry_at = deliveries.get(conn, A, "2026-12-01").next_attempt_at
        assert retry_at == T0 + timedelta(minutes=5)
        early = deliver_pending(conn, SmtpOutbox(config), clock(T0 + timedelta(minutes=1)))
        assert list(early) == [] and early.waiting == 1
        later = deliver_pending(conn, SmtpOutbox(config), clock(T0 + timedelta(minutes=6)))
        assert [d.state for d in later] == ["sent"]
    assert len(server.messages) == 1
    assert deliveries.get(conn, A, "2026-12-01").attempts == 2


def test_a_row_left_sending_by_a_crash_is_resent(conn, tmp_path):
    plan_rows(conn, [A])
    deliveries.set_state(conn, A, "2026-12-01", "sending", T0)
    assert deliveries.pending_paper_ids(conn, A) == {"arxiv:2612.00000"}
    with SmtpServer() as server:
        report = deliver_pending(conn, SmtpOutbox(smtp_config(server.port, tmp_path)), clock())
    assert [d.state for d in report] == ["sent"] and len(server.messages) == 1


def test_reply_code_classes():
    assert is_temporary(421) and is_temporary(451) and is_temporary(452) and is_temporary(552)
    assert not is_temporary(550) and not is_temporary(554) and not is_temporary(535)


def test_tokens_round_trip_and_reject_forgeries(conn):
    from digest.unsubscribe import issue_token

    token = issue_token(conn, "Reader@Example.org", "secret", T0)
    assert token == make_token("reader@example.org", "secret")
    assert "reader" not in token.lower() and "example" not in token.lower()  # opaque
    assert verify_token(token, "secret", conn) == "reader@example.org"
    assert verify_token(token, "another secret", conn) is None
    assert verify_token(token[:-2] + "xx", "secret", conn) is None
    assert verify_token("garbage", "secret", conn) is None
    url = unsubscribe_url("https://digest.example.org/", token)
    assert url == f"https://digest.example.org/unsubscribe?token={token}"


def test_unsubscribe_cancels_pending_and_is_remembered(conn, tmp_path):
    plan_rows(conn, [A, B])
    result = unsubscribe(conn, "A@example.org", T0)
    assert (result.email, result.new, result.cancelled) == (A, True, 1)
    assert is_unsubscribed(conn, A) and not is_unsubscribed(conn, B) and unsubscribed(conn) == {A}
    assert unsubscribe(conn, A, T0).new is False
    report = deliver_pending(conn, DiskOutbox(tmp_path / "out"), clock())
    assert [d.subscriber for d in report] == [B]
    assert deliveries.get(conn, A, "2026-12-01").state == "cancelled"
    assert deliveries.pending_paper_ids(conn, A) == set()


def test_a_late_outcome_does_not_revive_a_cancelled_row(conn):
    plan_rows(conn, [A])
    deliveries.cancel_pending(conn, A, T0)
    deliveries.set_state(conn, A, "2026-12-01", "temp-failed", T0)
    assert deliveries.get(conn, A, "2026-12-01").state == "cancelled"


def test_rate_limit_spaces_sends_across_threads():
    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)

    limiter = RateLimiter(4, monotonic=lambda: now[0], sleep=sleep)
    for _ in range(5):
        limiter.wait()
    assert slept == [0.25, 0.5, 0.75, 1.0]
    now[0] = 10.0  # idle for a while: no burst credit beyond one slot
    slept.clear()
    limiter.wait()
    limiter.wait()
    assert slept == [0.25]


def test_smtp_rate_setting_is_applied(conn, tmp_path):
    slept: list[float] = []
    with SmtpServer() as server:
        plan_rows(conn, [A, B])
        outbox = SmtpOutbox(
            smtp_config(server.port, tmp_path, rate=2), sleep=slept.append, monotonic=lambda: 0.0
        )
        report = deliver_pending(conn, outbox, clock())
    assert [d.state for d in report] == ["sent", "sent"] and slept == [0.5]


def test_progress_line_only_on_a_terminal():
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        bar = Progress(total=2, stream=stream, min_interval=0)
        bar(Delivery(A, "x", "sent"))
        bar(Delivery(B, "x", "perm-failed"))
        bar.close()
    assert pipe.getvalue() == ""
    assert tty.getvalue().endswith("\rsending 2/2 (1 sent, 1 failed)\x1b[K\n")
    hidden = Tty()
    bar = Progress(total=1, stream=hidden, enabled=False)
    bar(Delivery(A, "x", "sent"))
    bar.close()
    assert hidden.getvalue() == ""


def test_terminal_progress_is_silent_off_a_terminal():
    pipe = io.StringIO()
    bar = terminal_progress(stream=pipe)
    bar(Delivery(A, "x", "sent"))
    bar.close()
    assert pipe.getvalue() == "" and bar.line() == "sending 1 (1 sent)"


class _UnsubscribeDuringSend(DiskOutbox):
    """A disk outbox whose first send is when a reader clicks one-click unsubscribe."""

    def __init__(self, out_dir, conn, who):
        super().__init__(out_dir)
        self.conn, self.who, self.sent = conn, who, []

    def send(self, row):
        if not self.sent:
            unsubscribe(self.conn, self.who, T0)
        self.sent.append(row.subscriber)
        return super().send(row)


def test_an_unsubscribe_during_a_batch_wins(conn, tmp_path):
    """The batch listed B's row before B left: the claim, made in one transaction with the
    opt-out check, still stops it (with parallel workers the same claim runs per row)."""
    plan_rows(conn, [A, B, "c@example.org"])
    outbox = _UnsubscribeDuringSend(tmp_path / "out", conn, B)
    report = deliver_pending(conn, outbox, clock())
    assert B not in outbox.sent
    assert deliveries.get(conn, B, "2026-12-01").state == "cancelled"
    assert {d.subscriber for d in report if d.state == "sent"} == {A, "c@example.org"}
    assert report.left_pending == 0


def test_a_plan_for_an_unsubscribed_reader_is_refused(conn):
    unsubscribe(conn, A, T0)
    assert not deliveries.plan(
        conn,
        subscriber=A,
        issue_id="2026-12-02",
        method="disk",
        message_id="x",
        paper_ids=("p",),
        message=b"m",
        at=T0,
    )
    assert deliveries.get(conn, A, "2026-12-02") is None
