"""`digest schedule`: the pipeline on the configured crontab schedule, in the foreground.

One APScheduler job per distinct cron expression (`schedule.cron` for daily subscribers,
`schedule.weekly_cron` for weekly ones); every tick simply runs the pipeline, which sends
only to subscribers who are due. Catch-up comes from the state, not the wall clock: on
start, if the last successful run is older than the last scheduled time, one run starts
at once, and the pipeline's ledger makes that one digest cover everything since the last.

One run at a time: a single worker thread, max_instances=1, coalescing, and the run lock
(digest.store.lock) against other processes. A stop request (SIGTERM, SIGINT or the
`stop` event) lets the run in flight finish before the process exits.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from digest.clock import Clock
from digest.config import Config
from digest.cron import CrontabTrigger, describe, make_trigger, next_fire, previous_fire
from digest.errors import EXIT_FAILURE, EXIT_OK, ConfigError, DigestError, LockedError

log = logging.getLogger("digest.schedule")

SUCCESS = ("ok", "partial")  # a run that delivered what it could; failures are retried

# pipeline.run's shape: run(config, clock, cadences=...) returns a RunReport.
RunFunction = Callable[..., Any]


@dataclass(frozen=True)
class ScheduledJob:
    id: str
    cron: str
    cadences: tuple[str, ...]  # which subscribers this cron is for: daily, weekly
    trigger: CrontabTrigger

    @property
    def label(self) -> str:
        return f"{' and '.join(self.cadences)} digests, cron '{self.cron}'"


@dataclass(frozen=True)
class RunHistory:
    """What the state says about past runs (times are aware, UTC)."""

    last_success: datetime | None = None
    first_run: datetime | None = None


def cron_problems(config: Config) -> list[str]:
    """Every invalid cron expression of the config, each naming its key."""
    from digest.cron import validate_cron

    problems = []
    for key, expr in (
        ("schedule.cron", config.schedule.cron),
        ("schedule.weekly_cron", config.schedule.weekly_cron),
    ):
        if expr is None:
            continue
        try:
            validate_cron(expr)
        except ValueError as exc:
            problems.append(f"{key}: {exc}")
    return problems


def plan_jobs(config: Config) -> list[ScheduledJob]:
    """One job per distinct cron expression. Raises ConfigError for an invalid one."""
    problems = cron_problems(config)
    if problems:
        raise ConfigError(
            f"the schedule has {len(problems)} problem{'s' if len(problems) != 1 else ''}:",
            problems,
            hint="crontab syntax: minute hour day-of-month month day-of-week, e.g. '0 7 * * 1-5'",
        )
    crons: dict[str, list[str]] = {}
    crons.setdefault(" ".join(config.schedule.cron.split()), []).append("daily")
    weekly = config.schedule.weekly_cron or config.schedule.cron
    crons.setdefault(" ".join(weekly.split()), []).append("weekly")
    return [
        ScheduledJob(f"digest:{expr}", expr, tuple(cadences), make_trigger(expr, config.zone))
        for expr, cadences in crons.items()
    ]


def next_due(jobs: list[ScheduledJob], now: datetime) -> tuple[datetime, ScheduledJob] | None:
    """The next scheduled run after `now`, and the job it belongs to."""
    upcoming = [(fire, job) for job in jobs if (fire := next_fire(job.trigger, now)) is not None]
    return min(upcoming, key=lambda item: item[0].astimezone(UTC)) if upcoming else None


def last_due(jobs: list[ScheduledJob], now: datetime) -> datetime | None:
    """The last scheduled run time at or before `now`, over every job."""
    past = [fire for job in jobs if (fire := previous_fire(job.trigger, now)) is not None]
    return max(past, key=lambda f: f.astimezone(UTC)) if past else None


def missed_run(history: RunHistory, jobs: list[ScheduledJob], now: datetime) -> datetime | None:
    """The scheduled time a catch-up run stands in for, or None when none is needed.

    Needed when the last successful run started before the last scheduled time (stopped
    process, machine asleep, outage of any length: still one run). A state with no run at
    all is a fresh install: it waits for its first scheduled time instead."""
    due = last_due(jobs, now)
    if due is None:
        return None
    if history.last_success is not None:
        return due if history.last_success < due else None
    if history.first_run is not None and history.first_run < due:
        return due  # runs were attempted, none succeeded since
    return None


def read_history(state: Path) -> RunHistory:
    """Read the run history without creating or changing the state."""
    if not state.exists():
        return RunHistory()
    try:
        conn = sqlite3.connect(f"file:{state}?mode=ro", uri=True)
    except sqlite3.Error:
        return RunHistory()
    try:
        marks = ",".join("?" * len(SUCCESS))
        success = conn.execute(
            f"SELECT started_at FROM runs WHERE status IN ({marks}) ORDER BY id DESC LIMIT 1",  # noqa: S608
            SUCCESS,
        ).fetchone()
        first = conn.execute("SELECT started_at FROM runs ORDER BY id LIMIT 1").fetchone()
    except sqlite3.Error:  # no runs table yet: nothing has run
        return RunHistory()
    finally:
        conn.close()
    return RunHistory(_when(success), _when(first))


def _when(row: Any) -> datetime | None:
    if not row or not row[0]:
        return None
    value = datetime.fromisoformat(row[0])
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def run_once(
    config: Config,
    clock: Clock,
    run: RunFunction,
    reason: str,
    cadences: tuple[str, ...] | None = None,
) -> int:
    """One tick: run the pipeline for the job's cadences (None: every subscriber), log the
    outcome, never raise (the scheduler goes on)."""
    log.info("starting a run (%s)", reason)
    try:
        report = run(config, clock, cadences=cadences)
    except LockedError as exc:
        log.warning("skipped this run: %s (the next run catches up)", exc.message)
        return EXIT_FAILURE
    except DigestError as exc:
        log.error("run failed: %s", exc)
        return exc.exit_code
    except Exception:
        log.exception("run failed with an internal error; the scheduler goes on")
        return EXIT_FAILURE
    sent = getattr(report, "sent", [])
    errors = getattr(report, "errors", [])
    log.info(
        "run finished: %s, %d digest(s) sent, %d problem(s)",
        getattr(report, "status", "ok"),
        len(sent),
        len(errors),
    )
    for error in errors:
        log.warning("%s", error)
    return int(getattr(report, "exit_code", EXIT_OK))


def _pipeline_run(config: Config, clock: Clock, cadences=None) -> Any:
    from digest import pipeline

    return pipeline.run(config, clock, cadences=cadences)


class DigestScheduler:
    """The APScheduler wiring. `clock` decides catch-up and the "next run" lines;
    APScheduler itself keeps real time."""

    def __init__(self, config: Config, clock: Clock, *, run: RunFunction | None = None) -> None:
        from apscheduler.events import EVENT_JOB_MISSED
        from apscheduler.executors.pool import ThreadPoolExecutor
        from apscheduler.schedulers.background import BackgroundScheduler

        self.config = config
        self.clock = clock
        self.jobs = plan_jobs(config)
        self.results: list[int] = []
        self._run = run or _pipeline_run
        self._busy = threading.Lock()
        self._catch_up = False
        self._in_flight = 0
        self.scheduler = BackgroundScheduler(
            timezone=config.zone,
            # One worker: two crons firing together run one after the other.
            executors={"default": ThreadPoolExecutor(max_workers=1)},
            job_defaults={
                "coalesce": True,  # many missed fires -> one run
                "max_instances": 1,
                # APScheduler's default (1 s) silently drops a run after a late wake-up.
                "misfire_grace_time": config.schedule.misfire_grace,
            },
        )
        for job in self.jobs:
            # A job for every cadence serves everyone; a daily-only or weekly-only job (when
            # schedule.weekly_cron differs from schedule.cron) serves only its readers.
            only = None if set(job.cadences) >= {"daily", "weekly"} else tuple(job.cadences)
            self.scheduler.add_job(
                self._tick,
                job.trigger,
                args=(f"scheduled: {job.label}", only),
                id=job.id,
                name=job.label,
            )
        self.scheduler.add_listener(self._missed, EVENT_JOB_MISSED)

    @property
    def in_flight(self) -> bool:
        return self._in_flight > 0

    def start(self, history: RunHistory | None = None) -> datetime | None:
        """Start; run once at once if a scheduled run was missed. Returns the missed time."""
        if history is None:
            history = read_history(self.config.state_path)
        missed = missed_run(history, self.jobs, self.clock.now())
        self.scheduler.start()
        if missed is not None:
            last = (
                describe(history.last_success, self.config.zone) if history.last_success else "none"
            )
            log.info(
                "catching up: the run due %s did not happen (last successful run: %s); "
                "running once now",
                describe(missed, self.config.zone),
                last,
            )
            # The first job becomes due now, then goes on with its own schedule. (A one-off
            # job would be removed after it is submitted, which races a quick shutdown.)
            self._catch_up = True
            self.fire()
        elif history.last_success is None and history.first_run is None:
            log.info("no run recorded yet: the first run is the next scheduled one")
        self.log_next()
        return missed

    def fire(self, job_id: str | None = None) -> None:
        """Make a job due now, as if its time had come (tests drive ticks this way)."""
        job_id = job_id or self.jobs[0].id
        self.scheduler.modify_job(job_id, next_run_time=datetime.now(self.config.zone))

    def shutdown(self) -> None:
        if self.in_flight:
            log.warning("stopping: waiting for the run in flight to finish")
        self.scheduler.shutdown(wait=True)
        log.info("scheduler stopped")

    def log_next(self) -> None:
        found = next_due(self.jobs, self.clock.now())
        if found is None:
            log.warning("no further run is scheduled")
            return
        fire, job = found
        log.info("next run due %s (%s)", describe(fire, self.config.zone), job.label)

    def _tick(self, reason: str, cadences: tuple[str, ...] | None = None) -> None:
        with self._busy:
            self._in_flight += 1
            if self._catch_up:  # a catch-up serves everyone who is due
                self._catch_up, reason, cadences = False, "catch-up", None
        try:
            self.results.append(run_once(self.config, self.clock, self._run, reason, cadences))
        finally:
            with self._busy:
                self._in_flight -= 1
        self.log_next()

    def _missed(self, event: Any) -> None:
        log.warning(
            "the run due %s was missed by more than schedule.misfire_grace (%d s), e.g. the "
            "machine was asleep; the next run includes everything since the last digest",
            describe(event.scheduled_run_time, self.config.zone),
            self.config.schedule.misfire_grace,
        )


class _StopSignal(Exception):
    pass


def run_scheduler(
    config: Config,
    clock: Clock,
    stop: threading.Event,
    *,
    run: RunFunction | None = None,
    handle_signals: bool = False,
    history: RunHistory | None = None,
    on_started: Callable[[DigestScheduler], None] | None = None,
    pending_signal: Callable[[], int | None] | None = None,
) -> int:
    """Run until `stop` is set (or SIGTERM/SIGINT with handle_signals), then let the run in
    flight finish. Returns the exit code: 0 after a clean stop. `pending_signal` tells of a
    stop signal caught while the process was starting (see cli_ops.EarlyStop)."""
    scheduler = DigestScheduler(config, clock, run=run)
    stopping = False

    def on_signal(signum: int, _frame: Any) -> None:
        nonlocal stopping
        if stopping:  # already stopping: the run in flight still finishes
            return
        stopping = True
        # Raised in the main thread while it only waits below, never while it holds a lock
        # (setting an Event from a handler could deadlock on the Event's own lock).
        raise _StopSignal(signum)

    signals = {signal.SIGTERM, signal.SIGINT}
    previous = {}
    if handle_signals:
        # Held back while APScheduler starts (its threads inherit the mask, so signals
        # always reach the main thread); one that came meanwhile is handled on unblock,
        # inside the try below. Blocked first, so on_signal never raises outside it.
        signal.pthread_sigmask(signal.SIG_BLOCK, signals)
        previous = {s: signal.signal(s, on_signal) for s in signals}
    try:
        try:
            try:
                early = pending_signal() if pending_signal else None
                if early is not None:  # stopped while starting: never start at all
                    stopping = True
                    raise _StopSignal(early)
                scheduler.start(history)
                if on_started:
                    on_started(scheduler)
            finally:
                if handle_signals:
                    signal.pthread_sigmask(signal.SIG_UNBLOCK, signals)
            while not stop.wait(1.0):
                pass
        except _StopSignal as exc:
            log.info("received %s: stopping", signal.Signals(exc.args[0]).name)
        stopping = True
        if scheduler.scheduler.running:
            scheduler.shutdown()
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    return EXIT_OK
