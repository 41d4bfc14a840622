"""When a subscriber is due: one digest per period, periods in the subscriber's own time.

A daily period is one local calendar day (midnight to midnight, 23 or 25 hours on DST
days). A weekly period runs from the subscriber's weekday (0 = Monday) to the same weekday
a week later, so a run on that weekday or any later day of the week sends it, and a missed
weekday is caught up on the next run instead of waiting a week. The period's key is its
first local date ("2026-12-01"), which is also the issue id the digest belongs to.

A subscriber is due when nothing was sent to them since their current period began; after
a ten-day gap that is one catch-up digest (covering every paper not yet sent, which the
ledger keeps), not ten. All arithmetic is on aware datetimes; comparisons happen in UTC.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from digest.models import Subscriber


def _zone(subscriber: Subscriber, default_tz: str) -> ZoneInfo:
    return ZoneInfo(subscriber.timezone or default_tz or "UTC")


def period_start_date(subscriber: Subscriber, now: datetime, default_tz: str) -> date:
    """The first local date of the period that contains `now`."""
    if now.tzinfo is None:
        raise ValueError("period_start_date needs an aware datetime")
    today = now.astimezone(_zone(subscriber, default_tz)).date()
    if subscriber.cadence == "weekly":
        return today - timedelta(days=(today.weekday() - subscriber.weekday) % 7)
    return today


def period_start(subscriber: Subscriber, now: datetime, default_tz: str) -> datetime:
    """The instant (UTC) the current period began: local midnight of its first date. Where
    a DST change skips midnight, the first instant of that date."""
    zone = _zone(subscriber, default_tz)
    day = period_start_date(subscriber, now, default_tz)
    local = datetime.combine(day, time(0), tzinfo=zone)
    start = local.astimezone(UTC)
    # zoneinfo maps a skipped midnight forward by the gap; if that lands on the previous
    # date the period would begin a day early, so step back to the date itself.
    if start.astimezone(zone).date() != day:
        start = datetime.combine(day, time(1), tzinfo=zone).astimezone(UTC)
    return start


def period_key(subscriber: Subscriber, now: datetime, default_tz: str) -> str:
    """The issue id of the period containing `now`, e.g. "2026-12-01"."""
    return period_start_date(subscriber, now, default_tz).isoformat()


def is_due(
    subscriber: Subscriber, last_sent: datetime | None, now: datetime, default_tz: str
) -> bool:
    """True when no digest was sent to the subscriber in the current period."""
    if last_sent is None:
        return True
    if last_sent.tzinfo is None:
        raise ValueError("last_sent must be an aware datetime")
    return last_sent < period_start(subscriber, now, default_tz)


def period_bounds(
    subscriber: Subscriber, now: datetime, default_tz: str
) -> tuple[datetime, datetime]:
    """[start, end) of the current period in UTC (end: the next period's start)."""
    start = period_start(subscriber, now, default_tz)
    days = 7 if subscriber.cadence == "weekly" else 1
    zone = _zone(subscriber, default_tz)
    next_day = period_start_date(subscriber, now, default_tz) + timedelta(days=days)
    end = datetime.combine(next_day, time(0), tzinfo=zone).astimezone(UTC)
    return start, end
