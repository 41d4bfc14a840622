"""Crash safety, proved: a delivery run killed with SIGKILL at each named fault point, then
run again, delivers every digest exactly once, except a kill between the server's 250 and
the ledger commit, which resends that one digest with the same Message-ID."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from digest.message import make_message_id
from tests.support.smtp_server import SmtpServer

SCRIPT = Path(__file__).resolve().parent / "support" / "crash_run.py"
ADDRESSES = [f"reader{i}@example.org" for i in range(4)]
IDS = {a: f"<{make_message_id(a, '2026-12-01', 'example.org')}>" for a in ADDRESSES}


def run(state: Path, port: int, fault: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DIGEST_FAULT"}
    if fault:
        env["DIGEST_FAULT"] = fault
    return subprocess.run(  # noqa: S603 - our own script, with sys.executable
        [sys.executable, str(SCRIPT), str(state), str(port), *ADDRESSES],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    ("fault", "duplicated"),
    [
        ("after_plan@2", None),  # two rows planned, nothing sent
        ("after_sending_mark@1", None),  # the first row is `sending`, not sent
        ("after_sending_mark@3", None),  # two sent, the third `sending`
        ("after_smtp_250@2", ADDRESSES[1]),  # the server has the 2nd; the ledger does not know
        ("after_mark_sent@2", None),  # two sent and committed
        ("after_mark_sent@4", None),  # everything committed, killed before the end
    ],
)
def test_killed_run_then_rerun_delivers_each_digest_once(tmp_path, fault, duplicated):
    state = tmp_path / "state.sqlite"
    with SmtpServer() as server:
        first = run(state, server.port, fault)
        assert first.returncode == -signal.SIGKILL, first.stderr
        second = run(state, server.port, None)
        assert second.returncode == 0, second.stdout + second.stderr
        received = server.handler.ids()
    expected = sorted(IDS.values()) + ([IDS[duplicated]] if duplicated else [])
    assert sorted(received) == sorted(expected)
    with sqlite3.connect(state) as conn:
        assert {r[0] for r in conn.execute("SELECT state FROM deliveries")} == {"sent"}
        assert conn.execute("SELECT COUNT(*) FROM sent_papers").fetchone()[0] == len(ADDRESSES)


def test_a_run_without_faults_sends_each_once(tmp_path):
    state = tmp_path / "state.sqlite"
    with SmtpServer() as server:
        assert run(state, server.port, None).returncode == 0
        assert run(state, server.port, None).returncode == 0  # nothing left to send
        assert sorted(server.handler.ids()) == sorted(IDS.values())
