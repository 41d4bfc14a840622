"""Fan-out: render + build the complete MIME message of a personalised 15-paper digest.

fast  = Renderer.render_digest (MJML compiled once, cards cached) + message.build_message
naive = Renderer.render_digest_naive (Jinja -> MJML -> mjml2html per subscriber)
        + message.build_message_stdlib (EmailMessage, default encodings)
Both get the same subscribers (name, address, token, selection of 15 of 40 papers).

Rates are per CPU second of this one thread (time.process_time: "on one core", and far less
sensitive to other processes on a shared machine than wall time); wall rates are shown too.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from benchmarks.common import Result
from benchmarks.fanout import FanOut, jobs

BUDGET_RATE = 2000.0
BUDGET_RATIO = 10.0


def _measure(fn, items, repeat: int) -> tuple[float, float, int]:
    """(best CPU seconds, best wall seconds, total bytes) over `repeat` passes."""
    best_cpu = best_wall = float("inf")
    size = 0
    for _ in range(repeat):
        c0, w0 = time.process_time(), time.perf_counter()
        size = 0
        for item in items:
            size += len(fn(item))
        best_cpu = min(best_cpu, time.process_time() - c0)
        best_wall = min(best_wall, time.perf_counter() - w0)
    return best_cpu, best_wall, size


def run(quick: bool) -> list[Result]:
    n_fast, n_naive, repeat = (400, 30, 3) if quick else (3000, 150, 5)
    root = Path(tempfile.mkdtemp(prefix="bench-fanout-"))
    fan = FanOut(root)
    fast_jobs = list(jobs(n_fast))
    naive_jobs = fast_jobs[:n_naive]
    fan.fast(fast_jobs[0])  # first call verifies compiled == naive once; not timed
    sample = fan.fast_parts(fast_jobs[0])
    naive_cpu, naive_wall, _ = _measure(fan.naive, naive_jobs, max(1, repeat - 2))
    fast_cpu, fast_wall, size = _measure(fan.fast, fast_jobs, repeat)
    r_naive, r_fast = n_naive / naive_cpu, n_fast / fast_cpu
    ratio = r_fast / r_naive

    # Where the fast path's time goes: render vs build, measured separately.
    rendered = [(j, fan.links(j)) for j in fast_jobs]
    render_cpu, _, _ = _measure(
        lambda jl: fan.renderer.render_digest(jl[0].digest, jl[1])[1], rendered, repeat
    )
    from digest.message import build_message

    built = []
    for j, links in rendered[:n_fast]:
        s, h, t = fan.renderer.render_digest(j.digest, links)
        built.append((fan.envelope(j, s, links), t, h))
    build_cpu, _, _ = _measure(lambda b: build_message(*b), built, repeat)

    ok = r_fast >= BUDGET_RATE and ratio >= BUDGET_RATIO
    res = Result(
        "fan-out (render + MIME, 15-paper digest, one core)",
        f"{r_fast:,.0f} digests/s vs naive {r_naive:,.0f}/s = {ratio:.1f}x "
        f"(budget >= {BUDGET_RATE:,.0f}/s and >= {BUDGET_RATIO:.0f}x)",
        ok,
    )
    res.details += [
        f"digest: {len(sample[1]):,} B HTML, {len(sample[2]):,} B text, "
        f"{len(sample[3]):,} B message; {n_fast} subscribers fast, {n_naive} naive, "
        f"best of {repeat}",
        f"wall: fast {n_fast / fast_wall:,.0f}/s, naive {n_naive / naive_wall:,.0f}/s "
        f"(CPU-time rates above; the machine is shared)",
        f"split of the fast path: render {n_fast / render_cpu:,.0f}/s alone, "
        f"build_message {n_fast / build_cpu:,.0f}/s alone",
    ]
    res.data.update(
        fast=r_fast,
        naive=r_naive,
        ratio=ratio,
        render=n_fast / render_cpu,
        build=n_fast / build_cpu,
    )
    return [res]
