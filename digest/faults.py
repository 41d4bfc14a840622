"""Named fault points for crash tests.

`DIGEST_FAULT=<name>` (or `<name>@N` for the N-th time the point is reached; several may be
given, comma-separated) makes `fault(name)` kill the process with SIGKILL right there: no
`finally`, no atexit, exactly what a power cut or the OOM killer does. Unset, a fault point
costs one dictionary look-up.

Points: after_plan (a delivery row committed as planned), after_sending_mark (the row is
committed as sending, nothing sent yet), after_smtp_250 (the server accepted the message, the
ledger does not know yet), after_mark_sent (the sent state and its papers are committed),
after_disk_write (the .eml is on disk, the ledger does not know yet).
"""

from __future__ import annotations

import os
import signal
import threading

POINTS = (
    "after_plan",
    "after_sending_mark",
    "after_smtp_250",
    "after_mark_sent",
    "after_disk_write",
)

_lock = threading.Lock()
_hits: dict[str, int] = {}


def _armed() -> dict[str, int]:
    armed: dict[str, int] = {}
    for item in os.environ.get("DIGEST_FAULT", "").split(","):
        name, _, nth = item.strip().partition("@")
        if name:
            armed[name] = int(nth) if nth.isdigit() else 1
    return armed


def fault(name: str) -> None:
    """Kill the process here if DIGEST_FAULT names this point (and this is the N-th hit)."""
    if "DIGEST_FAULT" not in os.environ:
        return
    armed = _armed()
    if name not in armed:
        return
    with _lock:
        _hits[name] = _hits.get(name, 0) + 1
        hit = _hits[name]
    if hit == armed[name]:
        os.kill(os.getpid(), signal.SIGKILL)
