"""One run at a time across processes: the flock next to the state."""

from __future__ import annotations

import signal
import threading

import pytest

from digest.errors import LockedError
from digest.store.lock import holder, lock_path, run_lock
from tests.support.ops_env import DIGEST, env, python, write_config
from tests.support.replay_server import FakeTime

HOLD = """
import sys, time
from pathlib import Path
from digest.store.lock import run_lock
with run_lock(Path(sys.argv[1] if len(sys.argv) > 1 else 'state.sqlite'), wait=0):
    print('locked', flush=True)
    time.sleep(120)
"""


def hold_in_subprocess(folder):
    proc = python(HOLD, folder)
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_lock_file_sits_next_to_the_state(tmp_path):
    state = tmp_path / "data" / "state.sqlite"
    with run_lock(state, wait=0):
        assert lock_path(state) == tmp_path / "data" / "state.sqlite.lock"
        assert lock_path(state).exists()


def test_second_holder_in_the_same_process_is_refused(tmp_path):
    state = tmp_path / "state.sqlite"
    with run_lock(state, wait=0), pytest.raises(LockedError) as info, run_lock(state, wait=0):
        pass
    assert "another digest run holds the lock" in str(info.value)
    assert info.value.exit_code == 1
    with run_lock(state, wait=0):  # released on exit
        pass


def test_waits_up_to_lock_wait_then_gives_up(tmp_path):
    state = tmp_path / "state.sqlite"
    fake = FakeTime()
    with (
        run_lock(state, wait=0),
        pytest.raises(LockedError),
        run_lock(state, wait=5, sleep=fake.sleep, monotonic=fake.monotonic),
    ):
        pass
    assert fake.sleeps and 4.9 <= sum(fake.sleeps) <= 5.3


def test_gets_the_lock_when_the_holder_finishes_while_waiting(tmp_path):
    state = tmp_path / "state.sqlite"
    first = run_lock(state, wait=0)
    first.__enter__()
    released = []

    def sleep(seconds):  # the other run ends during our first wait
        if not released:
            first.__exit__(None, None, None)
            released.append(seconds)

    with run_lock(state, wait=10, sleep=sleep):
        assert released
        assert holder(state) is not None


def test_holder_reports_the_pid_and_never_creates_the_file(tmp_path):
    state = tmp_path / "state.sqlite"
    assert holder(state) is None
    assert not lock_path(state).exists()
    proc = hold_in_subprocess(tmp_path)
    try:
        assert holder(state) == proc.pid
    finally:
        proc.kill()
        proc.wait()


def test_a_killed_holder_never_blocks_the_next_run(tmp_path):
    state = tmp_path / "state.sqlite"
    proc = hold_in_subprocess(tmp_path)
    with pytest.raises(LockedError) as info, run_lock(state, wait=0):
        pass
    assert f"(pid {proc.pid})" in str(info.value)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=10)
    assert lock_path(state).exists()  # the file stays; the kernel dropped the lock
    assert holder(state) is None
    with run_lock(state, wait=0):
        pass


def test_digest_run_exits_1_with_a_clear_message_while_locked(tmp_path):
    import subprocess

    write_config(tmp_path)
    proc = hold_in_subprocess(tmp_path)
    try:
        result = subprocess.run(  # noqa: S603 - our own digest executable
            [str(DIGEST), "run", "--config", "config.yaml"],
            cwd=tmp_path,
            env=env(),
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        proc.kill()
        proc.wait()
    assert result.returncode == 1, result.stderr
    assert "another digest run holds the lock" in result.stderr
    assert f"pid {proc.pid}" in result.stderr
    assert "Traceback" not in result.stderr


def test_threads_of_one_process_exclude_each_other(tmp_path):
    state = tmp_path / "state.sqlite"
    inside, overlaps = [], []
    gate = threading.Barrier(4)

    def worker():
        gate.wait()
        with run_lock(state, wait=30):
            inside.append(1)
            overlaps.append(len(inside))
            inside.pop()

    threads = [threading.Thread(target=worker) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert overlaps == [1, 1, 1, 1]
