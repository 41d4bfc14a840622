"""Helpers for the operator tests (schedule, lock, check/preview/status, logs): a config
folder on disk, a state with a chosen run history, the real `digest` executable."""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import yaml

from digest.config import load

ROOT = Path(__file__).resolve().parents[2]
# The console script of the interpreter running the tests (whatever venv that is).
DIGEST = Path(sys.executable).parent / "digest"
FIXTURES = ROOT / "tests" / "fixtures" / "sources"

BASE: dict[str, Any] = {
    "title": "Ops Test",
    "timezone": "UTC",
    "sources": [{"name": "sample", "type": "sample", "dataset": "trending"}],
    "topics": [{"name": "Everything"}],
    "subscribers": [{"email": "reader@example.org", "name": "Reader", "send_empty": True}],
    "schedule": {"cron": "0 7 * * *", "lock_wait": 0.2},
}


def write_config(folder: Path, **overrides: Any) -> Path:
    """config.yaml in `folder`: BASE with top-level keys replaced by `overrides`."""
    raw = {**BASE, **overrides}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def make_config(folder: Path, **overrides: Any):
    return load(write_config(folder, **overrides))


def record_run(state: Path, started: datetime, status: str = "ok") -> None:
    """A row in the runs table, as a past `digest run` would leave it."""
    from digest.store import runs
    from digest.store.db import open_db

    conn = open_db(state)
    try:
        run_id = runs.start(conn, started)
        if status != "running":
            runs.finish(
                conn, run_id, started, status, {"status": status, "deliveries": [], "errors": []}
            )
    finally:
        conn.close()


def count(state: Path, sql: str) -> int:
    import sqlite3

    conn = sqlite3.connect(state)
    try:
        return int(conn.execute(sql).fetchone()[0])
    finally:
        conn.close()


def env(**extra: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("DIGEST_")}
    return {**base, **extra}


class Proc:
    """`digest ...` in a subprocess; stderr lines collected as they come, to wait on."""

    def __init__(self, *args: str, cwd: Path, extra_env: dict[str, str] | None = None) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        self.proc = subprocess.Popen(  # noqa: S603 - our own digest executable
            [str(DIGEST), *args],
            cwd=cwd,
            env=env(**(extra_env or {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.put(line)

    def wait_for(self, text: str, timeout: float = 30) -> str:
        """Block until a stderr line contains `text` (fails after `timeout` seconds)."""
        while True:
            try:
                line = self.lines.get(timeout=timeout)
            except queue.Empty:
                raise AssertionError(f"no line with {text!r}; got:\n{''.join(self.seen)}") from None
            self.seen.append(line)
            if text in line:
                return line

    def finish(self, timeout: float = 30) -> tuple[int, str, str]:
        code = self.proc.wait(timeout=timeout)
        self._reader.join(timeout=5)
        while not self.lines.empty():
            self.seen.append(self.lines.get())
        out = self.proc.stdout.read() if self.proc.stdout else ""
        return code, out, "".join(self.seen)

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


def python(code: str, cwd: Path) -> subprocess.Popen[str]:
    """A Python subprocess running `code` with the project importable."""
    return subprocess.Popen(  # noqa: S603 - our own interpreter and snippet
        [sys.executable, "-c", code],
        cwd=cwd,
        env=env(),
        stdout=subprocess.PIPE,
        text=True,
    )
