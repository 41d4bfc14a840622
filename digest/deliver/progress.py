"""A progress line for long sends: `\\r`-rewritten counts on stderr, only on a terminal.

bar = Progress(total=len(deliveries.pending(conn)), enabled=not json_output)
report = deliver_pending(conn, outbox, clock, progress=bar)
bar.close()
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from digest.models import Delivery


class Progress:
    def __init__(
        self,
        total: int | None = None,
        *,
        enabled: bool | None = None,
        stream: TextIO | None = None,
        label: str = "sending",
        min_interval: float = 0.1,
    ) -> None:
        self.stream = stream or sys.stderr
        self.enabled = _is_tty(self.stream) if enabled is None else enabled and _is_tty(self.stream)
        self.total, self.label, self.min_interval = total, label, min_interval
        self.counts: dict[str, int] = {}
        self.done = 0
        self._last = 0.0
        self._shown = False

    def __call__(self, delivery: Delivery) -> None:
        self.done += 1
        self.counts[delivery.state] = self.counts.get(delivery.state, 0) + 1
        now = time.monotonic()
        if self.enabled and (now - self._last >= self.min_interval or self.done == self.total):
            self._last = now
            self._draw()

    def line(self) -> str:
        of = f"/{self.total}" if self.total else ""
        failed = self.counts.get("temp-failed", 0) + self.counts.get("perm-failed", 0)
        extra = f", {failed} failed" if failed else ""
        return f"{self.label} {self.done}{of} ({self.counts.get('sent', 0)} sent{extra})"

    def _draw(self) -> None:
        self.stream.write("\r" + self.line() + "\x1b[K")
        self.stream.flush()
        self._shown = True

    def close(self) -> None:
        if self._shown:
            self.stream.write("\n")
            self.stream.flush()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def terminal_progress(total: int | None = None, *, stream: TextIO | None = None) -> Progress:
    """The CLI's progress callback: drawn on stderr when it is a terminal, else silent.
    Call .close() after the run to end the line."""
    return Progress(total=total, stream=stream)
