"""Delivery: take every pending row of the delivery ledger and hand its stored message to
an outbox (disk or SMTP), recording each state change as it happens.

Crash safety (at least once, at most once but for one window). The pipeline plans a row with
the exact message bytes before anything is sent. For each row this loop commits `sending`,
hands the bytes to the outbox, then commits the outcome (`mark_sent` also records the papers
in the same transaction). A run killed with SIGKILL anywhere and then run again:

- before `sending` is committed: the row is still planned and is sent once by the next run;
- after `sending` but before the server's final 250: the server has not accepted the message
  (an SMTP server only takes responsibility with that 250), so the next run sends it once;
- between the server's 250 and the ledger commit: the next run finds the row in `sending`
  and sends it again, with the same bytes and so the SAME Message-ID. This window, a few
  milliseconds per message, is the one duplicate the design accepts: losing a digest is worse
  than a duplicate most clients fold by Message-ID, and no SMTP client can close it;
- after the commit: nothing is sent again.

A connection dropped after the final dot but before the reply is the same window seen from
the network side: the outcome is unknown, so it counts as a temporary failure and is resent.

Failures: the outbox reports temporary (4xx, 552, timeouts, drops) or permanent (5xx) ones;
temporary ones are retried in this run with backoff (max_attempts) and by later runs until
the retry period expires. After `pause_after` failures in a row the batch pauses and the rest
stays pending. An outbox that cannot send at all (server down, login refused, TLS refused)
raises BatchAbort: nothing is marked failed and every row stays pending for the next run.
"""

from __future__ import annotations

import queue
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from digest.clock import Clock
from digest.errors import DeliveryError
from digest.faults import fault
from digest.models import Delivery
from digest.store import deliveries as ledger
from digest.store.deliveries import LedgerRow

DEFAULT_RETRY_PERIOD = timedelta(hours=72)


@dataclass(frozen=True, slots=True)
class SendOutcome:
    ok: bool
    permanent: bool = False  # a failure that retrying will not fix (5xx)
    detail: str = ""
    files: tuple[str, ...] = ()
    code: int | None = None  # the SMTP reply code, where there was one
    # Per-recipient refusals (address, code, text), as sendmail reports a partial refusal.
    refused: tuple[tuple[str, int, str], ...] = ()


class BatchAbort(DeliveryError):
    """The outbox cannot send anything now (server down, login or TLS refused). The message
    at hand was not sent; the batch stops and every row stays pending."""


class Outbox(Protocol):
    """`send` may be called from several threads when `connections` > 1. Optional attributes
    (read with getattr): open() to connect up front, connections, max_attempts, pause_after,
    retry_period."""

    method: str

    def send(self, row: LedgerRow) -> SendOutcome: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class DeliveryReport:
    """What deliver_pending did. Iterates like the list of Delivery it used to return."""

    deliveries: tuple[Delivery, ...] = ()
    paused: bool = False  # K failures in a row: the rest stays pending
    aborted: str | None = None  # the outbox could not send at all (the reason, with its hint)
    left_pending: int = 0  # due rows not tried because the batch paused or aborted
    waiting: int = 0  # rows whose next retry is later

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self.deliveries)

    def __len__(self) -> int:
        return len(self.deliveries)

    def __getitem__(self, index: int) -> Delivery:
        return self.deliveries[index]

    def count(self, state: str) -> int:
        return sum(1 for d in self.deliveries if d.state == state)

    @property
    def ok(self) -> bool:
        return not (self.paused or self.aborted) and all(
            d.state in ("sent", "written") for d in self.deliveries
        )

    def summary(self) -> str:
        parts = [f"{self.count('sent')} sent"]
        for state in ("temp-failed", "perm-failed"):
            if self.count(state):
                parts.append(f"{self.count(state)} {state}")
        if self.waiting:
            parts.append(f"{self.waiting} waiting to retry")
        text = ", ".join(parts)
        if self.paused:
            text += f"; paused after repeated failures, {self.left_pending} left pending"
        if self.aborted:
            text += f"; stopped, {self.left_pending} left pending: {self.aborted}"
        return text


def make_outbox(config, clock: Clock, *, out_dir=None) -> Outbox:
    if config.delivery.method == "smtp":
        from digest.deliver.smtp import SmtpOutbox

        return SmtpOutbox(config, clock)
    from digest.deliver.disk import DiskOutbox

    return DiskOutbox(out_dir or config.output_dir)


def deliver_pending(
    conn: sqlite3.Connection,
    outbox: Outbox,
    clock: Clock,
    *,
    retry_period: timedelta | None = None,
    progress: Callable[[Delivery], None] | None = None,
    max_attempts: int | None = None,
    pause_after: int | None = None,
    connections: int | None = None,
    backoff: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
) -> DeliveryReport:
    """Send every due pending row (planned, sending, temp-failed whose retry time came).

    Unset options come from the outbox (SmtpOutbox reads them from config.smtp), else:
    72 h retry period, 1 attempt per run, never pause, 1 connection. In-run retries wait
    backoff * 2**n seconds through `sleep`. Closes the outbox."""
    retry_period = retry_period or getattr(outbox, "retry_period", None) or DEFAULT_RETRY_PERIOD
    max_attempts = max(1, max_attempts or getattr(outbox, "max_attempts", 1))
    pause_after = pause_after or getattr(outbox, "pause_after", None)
    workers = max(1, connections or getattr(outbox, "connections", 1))

    now = clock.now()
    rows = ledger.pending(conn, with_message=False)
    due = [r for r in rows if not (r.next_attempt_at and r.next_attempt_at > now)]
    run = _Run(
        conn, outbox, clock, retry_period, max_attempts, pause_after, backoff, sleep, progress
    )
    run.waiting = len(rows) - len(due)
    try:
        if due and hasattr(outbox, "open"):
            try:
                outbox.open()
            except BatchAbort as exc:
                run.abort(str(exc))
        if workers == 1:
            for row in due:
                if run.stop.is_set():
                    break
                claimed = run.mark_sending(row)
                if claimed is not None:
                    run.record(claimed, run.attempt(claimed))
        else:
            _parallel(run, due, workers)
    finally:
        outbox.close()
        ledger.purge_messages(conn)
    return run.report(len(due))


def _parallel(run: _Run, rows: list[LedgerRow], workers: int) -> None:
    """N workers, each with its own SMTP connection and its own SQLite connection: a worker
    marks its row sending, sends it and records the outcome itself, so no worker ever waits
    for another thread to commit. Ledger writes are serialised by a lock in this process
    (SQLite allows one writer; its busy handler would sleep for milliseconds instead).
    An in-memory state (a dry run's copy) cannot be shared: then this thread writes."""
    path = _database_file(run.conn)
    if path is None:
        _coordinated(run, rows, workers)
        return
    from digest.store.db import open_db

    work: queue.SimpleQueue[LedgerRow] = queue.SimpleQueue()
    for row in rows:
        work.put(row)
    errors: list[BaseException] = []

    def worker() -> None:
        conn = None
        try:
            conn = open_db(path)
            mine = run.using(conn)
            while not run.stop.is_set():
                try:
                    row = work.get_nowait()
                except queue.Empty:
                    return
                claimed = mine.mark_sending(row)
                if claimed is not None:
                    mine.record(claimed, mine.attempt(claimed))
        except BaseException as exc:  # surfaced in the calling thread below
            errors.append(exc)
            run.stop.set()
        finally:
            if conn is not None:
                conn.close()

    threads = [
        threading.Thread(target=worker, name=f"digest-send-{n}", daemon=True)
        for n in range(workers)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]


def _coordinated(run: _Run, rows: list[LedgerRow], workers: int) -> None:
    """N workers send; this thread alone writes the ledger (one shared connection)."""
    in_flight: dict[Future, LedgerRow] = {}
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="digest-send") as pool:
        queue_ = iter(rows)
        while True:
            while len(in_flight) < 2 * workers and not run.stop.is_set():
                row = next(queue_, None)
                if row is None:
                    break
                claimed = run.mark_sending(row)
                if claimed is not None:
                    in_flight[pool.submit(run.attempt, claimed)] = claimed
            if not in_flight:
                break
            done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
            for future in done:
                run.record(in_flight.pop(future), future.result())


def _mailbox_refused(outcome: SendOutcome) -> bool:
    """A permanent refusal of the recipient's mailbox itself (RFC 3463 X.1.x statuses)."""
    import re

    return outcome.permanent and bool(re.search(r"\b5\.1\.\d{1,3}\b", outcome.detail))


def _database_file(conn: sqlite3.Connection) -> str | None:
    row = conn.execute("PRAGMA database_list").fetchone()
    return row[2] if row and row[2] else None


Attempt = tuple["SendOutcome | BatchAbort", int]  # the last outcome, tries made


class _Run:
    """One batch: the shared counters and the rules. Ledger writes go through the connection
    given (the batch's, or a worker's own) under one lock, so the workers of this process
    take turns at SQLite's single writer slot without its sleeping busy handler."""

    def __init__(
        self, conn, outbox, clock, retry_period, max_attempts, pause_after, backoff, sleep, progress
    ) -> None:
        self.conn, self.outbox, self.clock = conn, outbox, clock
        self.retry_period, self.max_attempts = retry_period, max_attempts
        self.pause_after = pause_after
        self.backoff, self.sleep, self.progress = backoff, sleep, progress
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.results: list[Delivery] = []
        self.failures_in_a_row = 0
        self.skipped = 0  # rows cancelled (an unsubscribe) after the batch began
        self.paused = False
        self.aborted: str | None = None
        self.waiting = 0

    def using(self, conn: sqlite3.Connection) -> _On:
        return _On(self, conn)

    def abort(self, reason: str) -> None:
        if self.aborted is None:
            self.aborted = reason
        self.stop.set()

    def mark_sending(
        self, row: LedgerRow, conn: sqlite3.Connection | None = None
    ) -> LedgerRow | None:
        """Claim the row (mark it sending) and load its message, one at a time so memory
        stays flat. None when it may no longer be sent: its reader unsubscribed or it was
        cancelled after the batch began."""
        conn = conn or self.conn
        with self.lock:
            claimed = ledger.claim(conn, row, self.clock.now())
            if not claimed:
                self.skipped += 1
                return None
            fault("after_sending_mark")
        return ledger.with_message_of(conn, row)

    def attempt(self, row: LedgerRow) -> Attempt:
        """Send, retrying temporary failures with backoff (in a worker thread if parallel)."""
        outcome = SendOutcome(ok=False, detail="not tried")
        for n in range(self.max_attempts):
            try:
                outcome = self.outbox.send(row)
            except BatchAbort as exc:
                return exc, n
            except Exception as exc:  # an outbox bug must not lose the row: it stays retryable
                outcome = SendOutcome(ok=False, detail=f"{type(exc).__name__}: {exc}")
            done = outcome.ok or outcome.permanent or self.stop.is_set()
            if done or n + 1 == self.max_attempts:
                return outcome, n + 1
            self.sleep(self.backoff * 2**n)
        return outcome, self.max_attempts

    def record(
        self, row: LedgerRow, attempt: Attempt, conn: sqlite3.Connection | None = None
    ) -> None:
        conn = conn or self.conn
        outcome, tries = attempt
        key = (row.subscriber, row.issue_id)
        with self.lock:
            at = self.clock.now()
            if isinstance(outcome, BatchAbort):
                ledger.restore(conn, row, at, f"not sent: {outcome.message}", attempts=tries)
                self.abort(str(outcome))
                return
            if outcome.ok:
                ledger.mark_sent(conn, *key, at, attempts=tries)
                fault("after_mark_sent")
                result = Delivery(*key, "sent", outcome.detail, outcome.files)
                self.failures_in_a_row = 0
            else:
                result = self._failed(conn, row, outcome, tries, at)
                # A refusal of one mailbox (enhanced status 5.1.x: user unknown, bad
                # address) says nothing about the server and does not count towards a pause;
                # any other failure in a row (4xx, drops, 5.7.1 relaying denied...) does.
                if _mailbox_refused(outcome):
                    self.failures_in_a_row = 0
                else:
                    self.failures_in_a_row += 1
            self.results.append(result)
            if self.progress:
                self.progress(result)
            paused = self.pause_after and self.failures_in_a_row >= self.pause_after
            if paused and not self.paused:
                self.paused = True
                self.stop.set()

    def _failed(
        self, conn, row: LedgerRow, outcome: SendOutcome, tries: int, at: datetime
    ) -> Delivery:
        key = (row.subscriber, row.issue_id)
        if outcome.permanent or at - row.created_at > self.retry_period:
            detail = (
                outcome.detail
                if outcome.permanent
                else (f"gave up after {self.retry_period}: {outcome.detail}")
            )
            ledger.set_state(conn, *key, "perm-failed", at, error=detail, count_attempt=tries)
            return Delivery(*key, "perm-failed", detail)
        retry_in = timedelta(minutes=5 * 2 ** min(row.attempts + tries - 1, 8))
        ledger.set_state(
            conn,
            *key,
            "temp-failed",
            at,
            error=outcome.detail,
            next_attempt_at=at + retry_in,
            count_attempt=tries,
        )
        return Delivery(*key, "temp-failed", outcome.detail)

    def report(self, due: int) -> DeliveryReport:
        return DeliveryReport(
            deliveries=tuple(self.results),
            paused=self.paused,
            aborted=self.aborted,
            left_pending=due - len(self.results) - self.skipped,
            waiting=self.waiting,
        )


class _On:
    """A run writing through another connection: a worker's own."""

    def __init__(self, run: _Run, conn: sqlite3.Connection) -> None:
        self.run, self.conn = run, conn

    def mark_sending(self, row: LedgerRow) -> LedgerRow | None:
        return self.run.mark_sending(row, self.conn)

    def attempt(self, row: LedgerRow) -> Attempt:
        return self.run.attempt(row)

    def record(self, row: LedgerRow, attempt: Attempt) -> None:
        self.run.record(row, attempt, self.conn)
