"""Cadence: one digest per local day or week, DST-safe, with one catch-up after a gap."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from digest.cadence import is_due, period_bounds, period_key
from digest.models import Subscriber

NY = "America/New_York"


def sub(**kw) -> Subscriber:
    return Subscriber("r@example.org", **kw)


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_key_is_the_local_date():
    s = sub(timezone=NY)
    assert period_key(s, utc(2026, 12, 1, 4, 59), "UTC") == "2026-11-30"  # 23:59 in NY
    assert period_key(s, utc(2026, 12, 1, 5, 0), "UTC") == "2026-12-01"
    assert period_key(sub(), utc(2026, 12, 1, 4, 59), "UTC") == "2026-12-01"  # config tz


def test_subscriber_timezone_wins_over_the_default():
    assert period_key(sub(timezone="Asia/Tokyo"), utc(2026, 12, 1, 16), NY) == "2026-12-02"
    assert period_key(sub(), utc(2026, 12, 1, 16), "Asia/Tokyo") == "2026-12-02"


def test_weekly_key_is_that_weeks_weekday():
    thursday = sub(cadence="weekly", weekday=3)
    # 2026-12-01 is a Tuesday: the period began on Thursday 2026-11-26.
    assert period_key(thursday, utc(2026, 12, 1, 12), "UTC") == "2026-11-26"
    assert period_key(thursday, utc(2026, 12, 3, 0), "UTC") == "2026-12-03"
    assert period_key(sub(cadence="weekly", weekday=1), utc(2026, 12, 1, 12), "UTC") == "2026-12-01"


@pytest.mark.parametrize(("day", "hours"), [((2024, 3, 10), 23), ((2024, 11, 3), 25)])
def test_dst_days_are_one_period_of_their_true_length(day, hours):
    s = sub(timezone=NY)
    noon = datetime(*day, 17, tzinfo=UTC)
    start, end = period_bounds(s, noon, "UTC")
    assert end - start == timedelta(hours=hours)
    assert start.astimezone(UTC).hour in (4, 5)
    sent = start + timedelta(minutes=30)
    assert not is_due(s, sent, end - timedelta(seconds=1), "UTC")  # last second of the day
    assert is_due(s, sent, end, "UTC")  # local midnight of the next day
    assert period_key(s, end - timedelta(seconds=1), "UTC") == "{:04d}-{:02d}-{:02d}".format(*day)


def test_daily_due_once_per_day():
    s = sub()
    assert is_due(s, None, utc(2026, 12, 1, 7), "UTC")
    assert not is_due(s, utc(2026, 12, 1, 7), utc(2026, 12, 1, 23), "UTC")
    assert is_due(s, utc(2026, 12, 1, 7), utc(2026, 12, 2, 0, 1), "UTC")


def test_ten_day_gap_gives_one_catch_up_digest():
    s = sub(timezone=NY)
    last = utc(2026, 12, 1, 12)
    now = last + timedelta(days=10)
    assert is_due(s, last, now, "UTC")
    # Once that digest is sent, nothing more is due until the next local day.
    assert not is_due(s, now, now + timedelta(hours=3), "UTC")
    assert period_key(s, now, "UTC") == "2026-12-11"


def test_weekly_only_from_the_weekday_on():
    s = sub(cadence="weekly", weekday=3)  # Thursday
    sent_thu = utc(2026, 11, 26, 7)
    for day in range(27, 31):  # Fri..Mon after it: already sent this week
        assert not is_due(s, sent_thu, utc(2026, 11, day, 7), "UTC")
    assert not is_due(s, sent_thu, utc(2026, 12, 2, 23, 59), "UTC")  # Wednesday
    assert is_due(s, sent_thu, utc(2026, 12, 3, 0, 0), "UTC")  # Thursday
    # A missed Thursday is caught up the next day, not a week later.
    assert is_due(s, sent_thu, utc(2026, 12, 4, 7), "UTC")


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        period_key(sub(), datetime(2026, 12, 1), "UTC")
    with pytest.raises(ValueError):
        is_due(sub(), datetime(2026, 12, 1), utc(2026, 12, 2), "UTC")
