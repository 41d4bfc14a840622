"""One run at a time across processes: an flock on a file next to the state.

The kernel drops an flock when its holder dies, so a lock left by a killed process never
blocks the next run; the file itself is only a name to lock on.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from digest.errors import LockedError


def lock_path(state: Path) -> Path:
    return state.with_name(state.name + ".lock")


@contextmanager
def run_lock(
    state: Path,
    wait: float = 10.0,
    *,
    sleep: Callable[[float], None] = time.sleep,
    monotonic: Callable[[], float] = time.monotonic,
) -> Iterator[None]:
    path = lock_path(state)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        deadline = monotonic() + wait
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if monotonic() >= deadline:
                    holder = _read_holder(fd)
                    raise LockedError(
                        f"another digest run holds the lock on {state}{holder}",
                        hint="wait for it to finish; a lock of a killed process frees itself",
                    ) from None
                sleep(min(0.2, max(0.0, deadline - monotonic())))
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        try:
            yield
        finally:
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)


def _read_holder(fd: int) -> str:
    try:
        data = os.pread(fd, 32, 0).decode().strip()
    except OSError:
        return ""
    return f" (pid {data})" if data.isdigit() else ""


def holder(state: Path) -> int | None:
    """The pid of the process holding the run lock now (0: held, pid unknown), or None
    if it is free. Never creates the lock file and never keeps the lock."""
    path = lock_path(state)
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return None
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            data = os.pread(fd, 32, 0).decode(errors="replace").strip()
            return int(data) if data.isdigit() else 0  # held; pid not written yet
        fcntl.flock(fd, fcntl.LOCK_UN)
        return None
    finally:
        os.close(fd)
