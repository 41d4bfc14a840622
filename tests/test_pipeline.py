"""The pipeline's own rules, driven by an injected clock (no real waiting)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import yaml

from digest import config as config_mod
from digest import pipeline
from digest.clock import Clock


class TickingClock(Clock):
    """Every read moves time on (a slow run: fetching and sending take minutes)."""

    def __init__(self, start: datetime, step: timedelta) -> None:
        self.at = start - step
        self.step = step
        super().__init__(self._tick)

    def _tick(self) -> datetime:
        self.at += self.step
        return self.at


def write_config(tmp_path, **extra):
    config = {
        "timezone": "America/Los_Angeles",
        "sources": [{"name": "f", "type": "file", "path": "papers.jsonl"}],
        "topics": [{"name": "LLM", "query": "LLM"}],
        "subscribers": [{"email": "a@example.org"}],
        **extra,
    }
    (tmp_path / "config.yaml").write_text(yaml.safe_dump(config))
    return config_mod.load(tmp_path / "config.yaml")


def papers(tmp_path, day: int) -> None:
    rows = [{"title": f"LLM paper {day}.{i}", "id": f"2612.{day:02d}{i:03d}"} for i in range(3)]
    (tmp_path / "papers.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))


def test_a_run_just_before_midnight_counts_for_its_own_day(tmp_path):
    """Regression: with the clock read several times, a run at 23:58 planned its digest for
    the next day, and the next night's run found that day already served: a daily reader
    got a digest only every other day."""
    config = write_config(tmp_path)
    sent_days = []
    for day in range(1, 5):
        papers(tmp_path, day)
        # 23:58 in Los Angeles; every clock read takes 40 s.
        start = datetime(2026, 12, day, 23, 58, tzinfo=config.zone).astimezone(UTC)
        report = pipeline.run(config, TickingClock(start, timedelta(seconds=40)))
        sent_days += [d.issue_id for d in report.sent]
    assert sent_days == ["2026-12-01", "2026-12-02", "2026-12-03", "2026-12-04"]


def test_weekly_only_runs_leave_daily_readers_alone(tmp_path):
    config = write_config(
        tmp_path,
        subscribers=[
            {"email": "d@example.org"},
            {"email": "w@example.org", "cadence": "weekly", "weekday": "tuesday"},
        ],
    )
    papers(tmp_path, 1)
    start = datetime(2026, 12, 1, 9, tzinfo=config.zone)  # a Tuesday
    report = pipeline.run(config, Clock(lambda: start), cadences=("weekly",))
    assert [d.subscriber for d in report.sent] == ["w@example.org"]
    assert "not part of this run" in report.skipped["d@example.org"]


def test_a_reader_in_another_timezone_sees_their_own_date(tmp_path):
    config = write_config(
        tmp_path, timezone="UTC", subscribers=[{"email": "t@example.org", "timezone": "Asia/Tokyo"}]
    )
    papers(tmp_path, 1)
    at = datetime(2024, 11, 11, 16, tzinfo=UTC)  # Monday in UTC, 01:00 Tuesday in Tokyo
    report = pipeline.run(config, Clock(lambda: at))
    assert [d.issue_id for d in report.sent] == ["2024-11-12"]
    text = (tmp_path / "out" / "mail" / "2024-11-12" / "t@example.org.txt").read_text()
    assert "Tuesday, November 12, 2024" in text and "Monday" not in text
