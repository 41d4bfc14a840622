"""`digest schedule`: jobs, catch-up from state, one run at a time, graceful stop."""

from __future__ import annotations

import logging
import signal
import threading
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from digest.clock import FixedClock
from digest.errors import ConfigError, LockedError
from digest.schedule import (
    DigestScheduler,
    RunHistory,
    missed_run,
    plan_jobs,
    read_history,
    run_scheduler,
)
from tests.support.ops_env import Proc, count, make_config, record_run, write_config

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)  # a Friday; cron 07:00 fired 2 h ago


def report(status="ok", code=0):
    return SimpleNamespace(status=status, exit_code=code, sent=[], errors=[])


class Recorder:
    """An injected run: records calls; can hold a run in flight until released."""

    def __init__(self, hold: bool = False) -> None:
        self.calls: list[datetime] = []
        self.started = threading.Event()
        self.release = threading.Event()
        self.done = threading.Event()
        self.hold = hold
        self.order: list[str] = []
        self.cadences: list[tuple[str, ...] | None] = []

    def __call__(self, config, clock, cadences=None):
        self.calls.append(clock.now())
        self.cadences.append(cadences)
        self.order.append("run started")
        self.started.set()
        if self.hold:
            assert self.release.wait(30), "the test never released the run"
        self.order.append("run finished")
        self.done.set()
        return report()


# ---------------------------------------------------------------- jobs
def test_one_job_when_weekly_cron_is_the_default(tmp_path):
    jobs = plan_jobs(make_config(tmp_path))
    assert [(j.cron, j.cadences) for j in jobs] == [("0 7 * * *", ("daily", "weekly"))]


def test_one_job_per_distinct_cron(tmp_path):
    config = make_config(tmp_path, schedule={"cron": "0 7 * * 1-5", "weekly_cron": "0  8 * * 1"})
    assert [(j.cron, j.cadences) for j in plan_jobs(config)] == [
        ("0 7 * * 1-5", ("daily",)),
        ("0 8 * * 1", ("weekly",)),
    ]
    same = make_config(tmp_path, schedule={"cron": "0 7 * * *", "weekly_cron": "0  7 * * *"})
    assert len(plan_jobs(same)) == 1


def test_invalid_cron_is_a_config_error_naming_the_key(tmp_path):
    # Loading the config already rejects it, reported with every other problem.
    with pytest.raises(ConfigError) as info:
        make_config(tmp_path, schedule={"cron": "0 7 * * *", "weekly_cron": "0 7 * * 9"})
    assert info.value.exit_code == 2
    assert any(
        p.startswith("schedule.weekly_cron:") and "out of range 0-7" in p
        for p in info.value.problems
    )


def test_apscheduler_jobs_coalesce_one_instance_generous_grace(tmp_path):
    config = make_config(tmp_path, schedule={"cron": "0 7 * * *", "misfire_grace": 7200})
    sched = DigestScheduler(config, FixedClock(T0), run=Recorder())
    sched.scheduler.start(paused=True)  # jobs get their defaults when the scheduler starts
    try:
        (job,) = sched.scheduler.get_jobs()
        assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 7200
        assert job.next_run_time == datetime.now(config.zone).replace(
            hour=7, minute=0, second=0, microsecond=0
        ) + timedelta(days=1 if datetime.now(config.zone).hour >= 7 else 0)
        assert sched.scheduler.timezone == config.zone
    finally:
        sched.scheduler.shutdown(wait=False)


# ---------------------------------------------------------------- catch-up decision
@pytest.mark.parametrize(
    ("history", "expected"),
    [
        (RunHistory(None, None), None),  # fresh install: wait for the first scheduled time
        (RunHistory(T0 - timedelta(hours=1), T0 - timedelta(days=30)), None),  # ran at 08:00
        (RunHistory(T0 - timedelta(hours=2), T0 - timedelta(days=30)), None),  # the 07:00 tick
        (
            RunHistory(T0 - timedelta(hours=2, seconds=1), T0 - timedelta(days=30)),
            T0 - timedelta(hours=2),
        ),
        (RunHistory(T0 - timedelta(hours=3), T0 - timedelta(days=30)), T0 - timedelta(hours=2)),
        (RunHistory(T0 - timedelta(days=10), T0 - timedelta(days=30)), T0 - timedelta(hours=2)),
        (RunHistory(None, T0 - timedelta(days=3)), T0 - timedelta(hours=2)),  # only failures
    ],
)
def test_missed_run(tmp_path, history, expected):
    jobs = plan_jobs(make_config(tmp_path))
    assert missed_run(history, jobs, T0) == expected


def test_missed_run_uses_the_latest_of_every_job(tmp_path):
    config = make_config(tmp_path, schedule={"cron": "0 7 * * *", "weekly_cron": "30 8 * * 5"})
    history = RunHistory(T0 - timedelta(hours=1, minutes=45), T0 - timedelta(days=9))  # 07:15
    assert missed_run(history, plan_jobs(config), T0) == T0 - timedelta(minutes=30)


def test_history_reads_successes_from_the_state(tmp_path):
    config = make_config(tmp_path)
    assert read_history(config.state_path) == RunHistory()
    assert not config.state_path.exists()  # looking creates nothing
    record_run(config.state_path, T0 - timedelta(days=3), "ok")
    record_run(config.state_path, T0 - timedelta(days=2), "partial")
    record_run(config.state_path, T0 - timedelta(days=1), "failed")
    record_run(config.state_path, T0 - timedelta(hours=1), "running")  # killed mid-run
    assert read_history(config.state_path) == RunHistory(
        T0 - timedelta(days=2), T0 - timedelta(days=3)
    )


# ---------------------------------------------------------------- the scheduler
def run_until(config, clock, recorder, *, until, history=None):
    stop, started = threading.Event(), threading.Event()
    result: dict = {}

    def on_started(sched):
        result["sched"] = sched
        started.set()

    def target():
        result["code"] = run_scheduler(
            config, clock, stop, run=recorder, history=history, on_started=on_started
        )

    thread = threading.Thread(target=target)
    thread.start()
    try:
        assert started.wait(30)
        until(result)
    finally:
        stop.set()
        thread.join(30)
    assert not thread.is_alive()
    return result


def results(n):
    """An `until` that waits (for the worker thread, not for a clock) for n finished ticks."""

    def until(result):
        pause = threading.Event()
        for _ in range(3000):
            if len(result["sched"].results) >= n:
                return
            pause.wait(0.01)
        raise AssertionError(f"fewer than {n} ticks finished")

    return until


def test_ten_day_outage_runs_once_at_start(tmp_path):
    config = make_config(tmp_path)
    recorder = Recorder()
    history = RunHistory(T0 - timedelta(days=10), T0 - timedelta(days=40))
    result = run_until(config, FixedClock(T0), recorder, history=history, until=results(1))
    assert result["code"] == 0
    assert recorder.calls == [T0]  # one run, not ten
    assert result["sched"].results == [0]


def test_no_catch_up_when_up_to_date(tmp_path, caplog):
    config = make_config(tmp_path)
    recorder = Recorder()
    caplog.set_level(logging.INFO, logger="digest")
    history = RunHistory(T0 - timedelta(hours=1), T0 - timedelta(days=40))
    run_until(config, FixedClock(T0), recorder, history=history, until=lambda r: None)
    assert recorder.calls == []
    assert "next run due Sat 2026-11-21 07:00 UTC (UTC+00:00)" in caplog.text


def test_next_run_line_names_the_zone_and_offset(tmp_path, caplog):
    config = make_config(tmp_path, timezone="America/New_York")
    caplog.set_level(logging.INFO, logger="digest")
    run_until(
        config,
        FixedClock(datetime(2024, 3, 9, 12, 0, tzinfo=UTC)),
        Recorder(),
        history=RunHistory(),
        until=lambda r: None,
    )
    assert "next run due Sun 2024-03-10 07:00 EDT (UTC-04:00)" in caplog.text


def test_a_tick_fires_through_apscheduler(tmp_path):
    config = make_config(tmp_path)
    recorder = Recorder()

    def until(result):
        result["sched"].fire()  # as if 07:00 had come
        assert recorder.done.wait(30)

    result = run_until(config, FixedClock(T0), recorder, history=RunHistory(), until=until)
    assert len(recorder.calls) == 1 and result["sched"].results == [0]


def test_late_wake_up_within_the_grace_still_runs(tmp_path):
    config = make_config(tmp_path, schedule={"cron": "0 0 1 1 *", "misfire_grace": 6 * 3600})
    recorder = Recorder()

    def until(result):
        sched = result["sched"]
        late = datetime.now(UTC) - timedelta(hours=2)  # the machine slept through it
        sched.scheduler.modify_job(sched.jobs[0].id, next_run_time=late)
        assert recorder.done.wait(30)

    run_until(config, FixedClock(T0), recorder, history=RunHistory(), until=until)
    assert len(recorder.calls) == 1


def test_wake_up_after_the_grace_is_logged_not_run(tmp_path, caplog):
    config = make_config(tmp_path, schedule={"cron": "0 0 1 1 *", "misfire_grace": 60})
    recorder = Recorder()
    caplog.set_level(logging.INFO, logger="digest")
    missed = threading.Event()

    def until(result):
        sched = result["sched"]
        sched.scheduler.add_listener(lambda e: missed.set(), 1 << 14)  # EVENT_JOB_MISSED
        late = datetime.now(UTC) - timedelta(hours=2)
        sched.scheduler.modify_job(sched.jobs[0].id, next_run_time=late)
        assert missed.wait(30)

    run_until(config, FixedClock(T0), recorder, history=RunHistory(), until=until)
    assert recorder.calls == []
    assert "was missed by more than schedule.misfire_grace" in caplog.text


def test_stop_lets_the_run_in_flight_finish(tmp_path, caplog):
    config = make_config(tmp_path)
    recorder = Recorder(hold=True)
    caplog.set_level(logging.INFO, logger="digest")
    stop = threading.Event()
    returned = []

    def target():
        returned.append(
            run_scheduler(
                config,
                FixedClock(T0),
                stop,
                run=recorder,
                history=RunHistory(T0 - timedelta(days=1), T0 - timedelta(days=9)),
            )
        )
        recorder.order.append("scheduler returned")

    thread = threading.Thread(target=target)
    thread.start()
    assert recorder.started.wait(30)
    stop.set()
    # wait until the scheduler says it is waiting for the run, then let the run end
    for _ in range(3000):
        if "waiting for the run in flight" in caplog.text:
            break
        thread.join(0.01)
    assert "waiting for the run in flight" in caplog.text
    recorder.order.append("released")
    recorder.release.set()
    thread.join(30)
    assert recorder.order == ["run started", "released", "run finished", "scheduler returned"]
    assert returned == [0]


def test_a_locked_state_skips_the_tick_and_goes_on(tmp_path, caplog):
    config = make_config(tmp_path)
    caplog.set_level(logging.INFO, logger="digest")
    calls = []

    def locked(config, clock, cadences=None):
        calls.append(1)
        raise LockedError("another digest run holds the lock on state.sqlite (pid 1)")

    result = run_until(
        config,
        FixedClock(T0),
        locked,
        history=RunHistory(None, T0 - timedelta(days=2)),
        until=results(1),
    )
    assert calls == [1] and result["sched"].results == [1]
    assert "skipped this run: another digest run holds the lock" in caplog.text


def test_a_crashing_run_does_not_stop_the_scheduler(tmp_path, caplog):
    config = make_config(tmp_path)
    caplog.set_level(logging.INFO, logger="digest")
    recorder = Recorder()
    broke = threading.Event()

    def broken(config, clock, cadences=None):
        broke.set()
        raise RuntimeError("boom")

    def until(result):
        sched = result["sched"]
        results(1)(result)
        sched._run = recorder  # the next tick works again
        sched.fire()
        assert recorder.done.wait(30)

    result = run_until(
        config,
        FixedClock(T0),
        broken,
        history=RunHistory(None, T0 - timedelta(days=2)),
        until=until,
    )
    assert result["sched"].results == [1, 0]
    assert "run failed with an internal error" in caplog.text


# ---------------------------------------------------------------- with the real pipeline
def deliveries_per_issue(state):
    import sqlite3

    conn = sqlite3.connect(state)
    try:
        return dict(
            conn.execute(
                "SELECT issue_id, COUNT(*) FROM deliveries WHERE state='sent' GROUP BY issue_id"
            ).fetchall()
        )
    finally:
        conn.close()


def test_catch_up_after_an_outage_sends_one_digest(tmp_path):
    from digest import pipeline

    config = make_config(tmp_path)
    day1 = datetime(2026, 11, 10, 7, 0, tzinfo=UTC)
    assert pipeline.run(config, FixedClock(day1)).status == "ok"
    clock = FixedClock(day1 + timedelta(days=10, hours=2))
    sched = DigestScheduler(config, clock)
    assert sched.start() == datetime(2026, 11, 20, 7, 0, tzinfo=UTC)
    try:
        for _ in range(3000):
            if (
                count(config.state_path, "SELECT COUNT(*) FROM runs") == 2
                and not sched.in_flight
                and sched.results
            ):
                break
            threading.Event().wait(0.01)
    finally:
        sched.shutdown()
    assert sched.results == [0]
    assert deliveries_per_issue(config.state_path) == {"2026-11-10": 1, "2026-11-20": 1}


@pytest.mark.parametrize(
    ("expr", "days"),
    [
        ("30 2 * * *", ("2024-03-09", "2024-03-10", "2024-03-11")),
        ("30 1 * * *", ("2024-11-02", "2024-11-03", "2024-11-04")),
    ],
)
def test_dst_days_get_one_digest_each(tmp_path, expr, days):
    from digest import pipeline
    from digest.cron import fire_times

    config = make_config(tmp_path, timezone="America/New_York", schedule={"cron": expr})
    (job,) = plan_jobs(config)
    start = datetime.fromisoformat(days[0]).replace(tzinfo=config.zone)
    fires = fire_times(job.trigger, start, start + timedelta(days=3))
    assert len(fires) == 3
    for fire in fires:  # what the scheduler does: one pipeline run per tick
        pipeline.run(config, FixedClock(fire))
    assert deliveries_per_issue(config.state_path) == dict.fromkeys(days, 1)


# ---------------------------------------------------------------- the real process
def test_sigterm_stops_an_idle_scheduler(tmp_path):
    write_config(tmp_path)
    proc = Proc("schedule", "--config", "config.yaml", cwd=tmp_path)
    try:
        proc.wait_for("next run due")
        proc.proc.send_signal(signal.SIGTERM)
        code, _, err = proc.finish()
    finally:
        proc.kill()
    assert code == 0
    assert "received SIGTERM: stopping" in err and "scheduler stopped" in err


def test_sigterm_finishes_the_send_in_flight(tmp_path):
    from tests.support.replay_server import ReplayServer, Reply

    arrived, release = threading.Event(), threading.Event()
    feed = tmp_path.parent / "feed.xml"
    from tests.support.ops_env import FIXTURES

    body = (FIXTURES / "blog_rss2_bair_berkeley_trimmed_3items.xml").read_bytes()

    def slow():
        arrived.set()
        release.wait(30)
        yield body

    with ReplayServer() as server:
        url = server.route(
            "/feed.xml", Reply(body=slow, headers={"Content-Type": "application/rss+xml"})
        )
        write_config(tmp_path, sources=[{"name": "blog", "type": "feed", "url": url}])
        state = tmp_path / "state.sqlite"
        record_run(state, datetime.now(UTC) - timedelta(days=3))  # a run is overdue
        proc = Proc("-v", "schedule", "--config", "config.yaml", cwd=tmp_path)
        try:
            assert arrived.wait(30), "the catch-up run never fetched the feed"
            proc.proc.send_signal(signal.SIGTERM)
            proc.wait_for("received SIGTERM")
            proc.wait_for("waiting for the run in flight")
            release.set()
            code, _, err = proc.finish()
        finally:
            release.set()
            proc.kill()
    del feed
    assert code == 0, err
    assert "run finished: ok" in err
    assert count(state, "SELECT COUNT(*) FROM runs WHERE status = 'ok'") == 2
    assert count(state, "SELECT COUNT(*) FROM deliveries WHERE state = 'sent'") == 1


def test_a_stop_received_while_starting_means_no_run_at_all(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="digest.schedule")
    recorder = Recorder()
    code = run_scheduler(
        make_config(tmp_path),
        FixedClock(T0),
        threading.Event(),
        run=recorder,
        history=RunHistory(last_success=T0 - timedelta(days=3)),  # a catch-up is due
        pending_signal=lambda: signal.SIGTERM,
    )
    assert code == 0 and recorder.calls == []
    assert "received SIGTERM: stopping" in caplog.text


def test_sigterm_while_starting_up_exits_0(tmp_path):
    """A stop sent while the process is still loading (here: held reading its config from
    a pipe) is honoured once it can be: exit 0, the scheduler never started."""
    import os

    import yaml

    from tests.support.ops_env import BASE

    fifo = tmp_path / "config.yaml"
    os.mkfifo(fifo)
    proc = Proc("schedule", "--config", "config.yaml", cwd=tmp_path)
    try:
        # Opening the pipe for writing returns once `digest schedule` has opened it to read.
        fd = os.open(fifo, os.O_WRONLY)
        try:
            proc.proc.send_signal(signal.SIGTERM)
            os.write(fd, yaml.safe_dump(BASE).encode())
        except BrokenPipeError:
            pass  # the process died of the signal: the assertions below say so
        finally:
            os.close(fd)
        code, _, err = proc.finish()
    finally:
        proc.kill()
    assert code == 0, err
    assert "received SIGTERM: stopping" in err
    assert "next run due" not in err


def test_a_separate_weekly_cron_runs_only_weekly_readers(tmp_path):
    """schedule.weekly_cron is when weekly digests go out: its job serves weekly readers
    only, and the daily job daily readers only."""
    config = make_config(tmp_path, schedule={"cron": "0 7 * * *", "weekly_cron": "30 8 * * 5"})
    recorder = Recorder()
    sched = DigestScheduler(config, FixedClock(T0), run=recorder)
    by_cron = {job.cron: job.id for job in sched.jobs}
    sched.scheduler.start(paused=True)
    try:
        for cron in ("0 7 * * *", "30 8 * * 5"):
            job = sched.scheduler.get_job(by_cron[cron])
            job.func(*job.args)
    finally:
        sched.scheduler.shutdown(wait=False)
    assert recorder.cadences == [("daily",), ("weekly",)]
