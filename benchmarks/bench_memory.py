"""Memory: a fan-out streams. Each size runs in a fresh subprocess that renders and builds
every subscriber's message (the fast path) and writes it to a counting sink; the child
reports its peak RSS (getrusage ru_maxrss). Peak must stay under 300 MB and not grow with N.

A second child measures the pipeline's own shape: every digest planned in the delivery ledger
(SQLite, with its bytes), then `deliver_pending` sending them all to an outbox that counts
and discards: rows are listed without their bytes and each message is loaded when its turn
comes, so RSS must not grow with the number of planned digests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks.common import Result

BUDGET_MB = 300.0
ROOT = Path(__file__).resolve().parent.parent


class CountingSink:
    def __init__(self) -> None:
        self.messages = 0
        self.bytes = 0

    def write(self, data: bytes) -> None:
        self.messages += 1
        self.bytes += len(data)


def child_fanout(n: int) -> dict:
    from benchmarks.common import peak_rss_mb
    from benchmarks.fanout import FanOut, jobs

    fan = FanOut(Path(tempfile.mkdtemp(prefix="bench-mem-")))
    base = peak_rss_mb()
    sink = CountingSink()
    t0 = time.perf_counter()
    for job in jobs(n):
        sink.write(fan.fast(job))
    return {
        "n": n,
        "messages": sink.messages,
        "bytes": sink.bytes,
        "base_mb": base,
        "peak_mb": peak_rss_mb(),
        "seconds": time.perf_counter() - t0,
    }


def child_ledger(n: int) -> dict:
    from benchmarks.common import peak_rss_mb
    from benchmarks.fanout import AT, FanOut, jobs
    from digest.clock import FixedClock
    from digest.deliver import deliver_pending
    from digest.store import deliveries
    from digest.store.db import open_db

    tmp = Path(tempfile.mkdtemp(prefix="bench-ledger-"))
    fan = FanOut(tmp)
    conn = open_db(tmp / "state.sqlite")
    conn.execute("PRAGMA synchronous=OFF")  # the plan loop is not what is measured here
    for job in jobs(n):
        msg = fan.fast(job)
        deliveries.plan(
            conn,
            subscriber=job.digest.subscriber.key,
            issue_id=job.digest.issue.id,
            method="smtp",
            message_id="x",
            paper_ids=job.digest.paper_ids,
            message=msg,
            at=AT,
        )
    before = peak_rss_mb()
    report = deliver_pending(conn, _CountingOutbox(), FixedClock(AT))
    after = peak_rss_mb()
    return {
        "n": n,
        "rows": report.count("sent"),
        "before_mb": before,
        "after_mb": after,
        "per_1000_mb": (after - before) / n * 1000,
    }


class _CountingOutbox:
    method = "smtp"
    connections = 1

    def __init__(self) -> None:
        self.bytes = 0

    def send(self, row):
        from digest.deliver import SendOutcome

        self.bytes += len(row.message or b"")
        return SendOutcome(ok=True)

    def close(self) -> None:
        pass


def _spawn(kind: str, n: int) -> dict:
    out = subprocess.run(
        [sys.executable, "-m", "benchmarks.bench_memory", kind, str(n)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(quick: bool) -> list[Result]:
    small, large = (1_000, 5_000) if quick else (10_000, 100_000)
    a = _spawn("fanout", small)
    b = _spawn("fanout", large)
    growth = b["peak_mb"] - a["peak_mb"]
    ok = b["peak_mb"] < BUDGET_MB and growth < 0.1 * a["peak_mb"] and b["messages"] == large
    res = Result(
        "memory (streaming fan-out, peak RSS)",
        f"{a['peak_mb']:.0f} MB at {small:,} vs {b['peak_mb']:.0f} MB at {large:,} subscribers "
        f"(+{growth:.1f} MB; budget < {BUDGET_MB:.0f} MB, flat)",
        ok,
    )
    res.details.append(
        f"{b['messages']:,} messages, {b['bytes'] / 1e9:.2f} GB written to a counting sink in "
        f"{b['seconds']:.0f} s; RSS after start-up {b['base_mb']:.0f} MB"
    )
    n_ledger = 1_000 if quick else 10_000
    c = _spawn("ledger", n_ledger)
    res.details.append(
        f"delivery from the ledger: deliver_pending over {c['rows']:,} planned digests adds "
        f"{c['after_mb'] - c['before_mb']:.1f} MB to peak RSS ({c['before_mb']:.0f} MB before)"
    )
    ok = ok and c["rows"] == n_ledger and c["after_mb"] - c["before_mb"] < 50
    res.passed = ok
    res.data.update(small=a, large=b, ledger=c)
    return [res]


if __name__ == "__main__":
    kind, n = sys.argv[1], int(sys.argv[2])
    print(json.dumps(child_fanout(n) if kind == "fanout" else child_ledger(n)))
