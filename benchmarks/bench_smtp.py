"""Sending: the project's path vs a bare client, same server, same connections, same run.

The server (benchmarks/smtp_sink.py, aiosmtpd, accept and discard) runs in its own process.
bare    = N threads, each one persistent smtplib connection (TCP_NODELAY, like the project's),
          sendmail() of pre-serialised bytes from a shared queue.
outbox  = digest.deliver.smtp.SmtpOutbox.send() called from N threads (pooled connections).
deliver = digest.deliver.deliver_pending(): the real path, ledger writes (SQLite, WAL,
          synchronous=NORMAL as open_db sets it) around every send, N worker threads.
Budget: deliver >= 90% of bare with smtp.connections > 1.
"""

from __future__ import annotations

import os
import queue
import smtplib
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.common import Result
from benchmarks.fanout import AT, SENDER, FanOut, jobs

ROOT = Path(__file__).resolve().parent.parent
BUDGET = 0.90
FROM_ADDR = "digest@digest.example.org"


class Sink:
    def __enter__(self) -> Sink:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.smtp_sink"],
            cwd=ROOT,
            text=True,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.port = int(self.proc.stdout.readline())
        return self

    def count(self) -> int:
        self.proc.stdin.write("count\n")
        self.proc.stdin.flush()
        return int(self.proc.stdout.readline())

    def __exit__(self, *exc) -> None:
        self.proc.stdin.close()
        self.proc.wait(timeout=30)


def bare(port: int, messages: list[tuple[str, bytes]], connections: int) -> float:
    work: queue.SimpleQueue = queue.SimpleQueue()
    for m in messages:
        work.put(m)
    clients = []
    for _ in range(connections):
        c = smtplib.SMTP("127.0.0.1", port, timeout=30)
        c.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        c.ehlo()
        clients.append(c)

    def worker(c: smtplib.SMTP) -> None:
        while True:
            try:
                to, data = work.get_nowait()
            except queue.Empty:
                return
            c.sendmail(FROM_ADDR, [to], data)

    threads = [threading.Thread(target=worker, args=(c,)) for c in clients]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    for c in clients:
        c.quit()
    return seconds


def _config(root: Path, port: int, connections: int):
    from digest.config import parse

    return parse(
        {
            "title": "Trending Papers",
            "output": {"dir": str(root / "out")},
            "delivery": {"method": "smtp", "from": SENDER},
            "smtp": {
                "host": "127.0.0.1",
                "port": port,
                "security": "none",
                "connections": connections,
            },
        },
        root=root,
    )


def _rows(messages):
    from digest.store.deliveries import LedgerRow

    return [
        LedgerRow(to, "2026-12-01", "planned", "smtp", "id", (), data, 0, None, AT, AT, None)
        for to, data in messages
    ]


def outbox_direct(root: Path, port: int, messages, connections: int) -> float:
    from digest.clock import FixedClock
    from digest.deliver.smtp import SmtpOutbox

    box = SmtpOutbox(_config(root, port, connections), FixedClock(AT))
    rows = _rows(messages)
    work: queue.SimpleQueue = queue.SimpleQueue()
    for r in rows:
        work.put(r)
    for _ in range(connections):  # open the pool up front, as bare does
        box._idle.put(box._connect())

    def worker() -> None:
        while True:
            try:
                row = work.get_nowait()
            except queue.Empty:
                return
            assert box.send(row).ok

    threads = [threading.Thread(target=worker) for _ in range(connections)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    seconds = time.perf_counter() - t0
    box.close()
    return seconds


def plan_all(conn, messages) -> None:
    """The ledger as the pipeline leaves it: one planned row (with its bytes) per message."""
    from digest.store import deliveries

    for to, data in messages:
        deliveries.plan(
            conn,
            subscriber=to,
            issue_id="2026-12-01",
            method="smtp",
            message_id=f"id-{to}",
            paper_ids=("a", "b"),
            message=data,
            at=AT,
        )


def deliver(root: Path, port: int, messages, connections: int, synchronous: str | None = None):
    from digest.clock import FixedClock
    from digest.deliver import deliver_pending
    from digest.deliver.smtp import SmtpOutbox
    from digest.store.db import open_db

    folder = Path(tempfile.mkdtemp(dir=root))
    conn = open_db(folder / "state.sqlite")
    plan_all(conn, messages)
    if synchronous:
        conn.execute(f"PRAGMA synchronous={synchronous}")
    box = SmtpOutbox(_config(root, port, connections), FixedClock(AT))
    t0 = time.perf_counter()
    report = deliver_pending(conn, box, FixedClock(AT))
    seconds = time.perf_counter() - t0
    assert report.count("sent") == len(messages), report.summary()
    conn.close()
    return seconds


class NullOutbox:
    """Accepts instantly: what deliver_pending costs without any network (the ledger)."""

    method = "smtp"
    connections = 4

    def send(self, row):
        from digest.deliver import SendOutcome

        return SendOutcome(ok=True, detail="null")

    def close(self) -> None:
        pass


def ledger_only(root: Path, messages) -> tuple[float, float]:
    """(seconds for deliver_pending with NullOutbox, seconds of deliveries.pending() alone)."""
    from digest.clock import FixedClock
    from digest.deliver import deliver_pending
    from digest.store import deliveries
    from digest.store.db import open_db

    conn = open_db(Path(tempfile.mkdtemp(dir=root)) / "state.sqlite")
    plan_all(conn, messages)
    t0 = time.perf_counter()
    deliveries.pending(conn, with_message=False)
    load = time.perf_counter() - t0
    t0 = time.perf_counter()
    deliver_pending(conn, NullOutbox(), FixedClock(AT))
    total = time.perf_counter() - t0
    conn.close()
    return total, load


def run(quick: bool) -> list[Result]:
    n, repeat, connections = (300, 2, 4) if quick else (2000, 3, 4)
    root = Path(tempfile.mkdtemp(prefix="bench-smtp-"))
    fan = FanOut(root)
    messages = [(j.digest.subscriber.email, fan.fast(j)) for j in jobs(n)]
    size = sum(len(m) for _, m in messages) / n
    results = {}
    with Sink() as sink:
        for _rep in range(repeat):  # interleaved, so drift in load hits every path alike
            for name, fn in (
                ("bare", lambda: bare(sink.port, messages, connections)),
                ("outbox", lambda: outbox_direct(root, sink.port, messages, connections)),
                ("deliver", lambda: deliver(root, sink.port, messages, connections)),
                ("bare-1", lambda: bare(sink.port, messages, 1)),
            ):
                results[name] = min(results.get(name, float("inf")), fn())
        accepted = sink.count()
    null_total, null_load = ledger_only(root, messages)
    rate = {k: n / v for k, v in results.items()}
    ratio = rate["deliver"] / rate["bare"]
    res = Result(
        f"sending (smtp.connections={connections}, aiosmtpd in its own process)",
        f"deliver_pending {rate['deliver']:,.0f} msg/s vs bare smtplib {rate['bare']:,.0f} msg/s "
        f"= {ratio:.0%} (budget >= {BUDGET:.0%})",
        ratio >= BUDGET,
    )
    res.details += [
        f"{n:,} messages of {size / 1024:.0f} KB, best of {repeat}; server accepted {accepted:,}",
        f"SmtpOutbox.send alone from {connections} threads: {rate['outbox']:,.0f} msg/s "
        f"= {rate['outbox'] / rate['bare']:.0%} of bare",
        f"ledger alone (deliver_pending with an outbox that accepts instantly): "
        f"{n / null_total:,.0f} rows/s, of which deliveries.pending() "
        f"{null_load * 1000:.0f} ms; per message {null_total / n * 1000:.2f} ms of the "
        f"{1000 / rate['bare']:.2f} ms a bare send takes",
        f"bare client, 1 connection: {rate['bare-1']:,.0f} msg/s",
    ]
    res.data.update(rate=rate, ratio=ratio)
    return [res]
