"""Timing helpers shared by the benchmarks: best-of-N timing, a result record, peak RSS.

Every figure is reported next to a baseline measured in the same run, as a ratio: the machine
is shared and noisy, so absolute numbers move while ratios hold.
"""

from __future__ import annotations

import gc
import resource
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Result:
    name: str  # the budget, e.g. "fan-out"
    figure: str  # what was measured, human-readable
    passed: bool | None  # None: informational only
    details: list[str] = field(default_factory=list)
    data: dict[str, Any] = field(default_factory=dict)

    def line(self) -> str:
        verdict = {True: "PASS", False: "FAIL", None: "info"}[self.passed]
        return f"[{verdict}] {self.name}: {self.figure}"


def best_of(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The fastest wall time of `repeat` calls (seconds) and the last call's value."""
    best = float("inf")
    value = None
    for _ in range(repeat):
        gc.collect()
        t0 = time.perf_counter()
        value = fn()
        best = min(best, time.perf_counter() - t0)
    return best, value


def peak_rss_mb() -> float:
    """This process's peak resident set size, in MB. VmHWM from /proc: ru_maxrss survives
    exec, so a child started by a large parent would report the parent's peak."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024.0
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def rate(n: int, seconds: float) -> float:
    return n / seconds if seconds > 0 else float("inf")


def fmt_rate(value: float, unit: str = "/s") -> str:
    return f"{value:,.0f}{unit}"
