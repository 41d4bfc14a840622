"""Crontab expressions that mean what they mean in crontab(5), as an APScheduler 3 trigger.

APScheduler 3's CronTrigger does not fit: `from_crontab` counts day-of-week 0 as Monday (so
`1-5` runs Tuesday to Saturday), and its day arithmetic is done on wall times, so across a
spring-forward night `0 0 * * *` skips the next day entirely (2024-03-11 in New York) and a
fixed-time job runs twice on the night clocks fall back. With the five fields expanded to
explicit sets (numbers, names, ranges, steps, lists, @daily-style macros), the next fire
time is a short walk over local dates, and crontab's rules are kept:
- 0 and 7 are Sunday;
- when both day-of-month and day-of-week are restricted, either one matching is enough;
- a wall time skipped by the clocks springing forward runs at the instant the old offset
  names (02:30 -> 03:30, once);
- on the night clocks go back, a job at a fixed hour runs once, not in both repeated hours
  (jobs with `*` in the minute or hour field run in both, as cron does).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo

from apscheduler.triggers.base import BaseTrigger

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
# crontab numbering: 0 (and 7) is Sunday
CRON_DAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")

_PART = re.compile(
    r"^(?:(?P<star>\*)|(?P<first>[0-9a-z]+)(?:-(?P<last>[0-9a-z]+))?)(?:/(?P<step>\d+))?$"
)
_TICK = timedelta(microseconds=1)
_HORIZON_DAYS = 8 * 366 + 1  # Feb 29 can be 8 years away (2096 -> 2104)
_HELP = "use five fields: minute hour day-of-month month day-of-week, e.g. '0 7 * * 1-5'"


@dataclass(frozen=True, slots=True)
class _Field:
    name: str
    low: int
    high: int
    names: tuple[str, ...] = ()
    name_base: int = 0  # the number of names[0]


_FIELDS = (
    _Field("minute", 0, 59),
    _Field("hour", 0, 23),
    _Field("day-of-month", 1, 31),
    _Field("month", 1, 12, MONTHS, 1),
    _Field("day-of-week", 0, 7, CRON_DAYS, 0),
)


@dataclass(frozen=True, slots=True)
class CronSpec:
    """A parsed crontab expression. Weekdays use crontab numbering (0 = Sunday, 7 folded
    into 0); `*_star` records a field written starting with `*` (crontab's own rule)."""

    expr: str
    minutes: frozenset[int]
    hours: frozenset[int]
    days: frozenset[int]
    months: frozenset[int]
    weekdays: frozenset[int]
    minute_star: bool
    hour_star: bool
    day_star: bool
    weekday_star: bool


def parse_cron(expr: str) -> CronSpec:
    """Parse a crontab expression. Raises ValueError saying which field is wrong and why."""
    if not isinstance(expr, str) or not expr.strip():
        raise ValueError(f"empty cron expression; {_HELP}")
    text = " ".join(expr.split())
    if text.startswith("@"):
        if text.lower() not in MACROS:
            raise ValueError(
                f"unknown cron macro {text!r}; use one of {', '.join(MACROS)} or five fields"
            )
        text = MACROS[text.lower()]
    parts = text.split(" ")
    if len(parts) != 5:
        raise ValueError(f"cron expression {expr!r} has {len(parts)} fields, not 5; {_HELP}")
    values = [_parse_field(part, field, expr) for part, field in zip(parts, _FIELDS, strict=True)]
    weekdays = frozenset(d % 7 for d in values[4])
    return CronSpec(
        expr=expr,
        minutes=frozenset(values[0]),
        hours=frozenset(values[1]),
        days=frozenset(values[2]),
        months=frozenset(values[3]),
        weekdays=weekdays,
        minute_star=parts[0].startswith("*"),
        hour_star=parts[1].startswith("*"),
        day_star=parts[2].startswith("*"),
        weekday_star=parts[4].startswith("*"),
    )


def validate_cron(expr: str) -> None:
    """Raise ValueError with a clear message if `expr` is not a valid crontab expression."""
    parse_cron(expr)


def _parse_field(text: str, field: _Field, expr: str) -> set[int]:
    found: set[int] = set()
    for part in text.split(","):
        match = _PART.match(part.lower())
        if not match:
            raise ValueError(
                f"cron expression {expr!r}: {field.name} {part!r} is not valid; {_HELP}"
            )
        step = int(match["step"]) if match["step"] else 1
        if step < 1:
            raise ValueError(f"cron expression {expr!r}: {field.name} step must be at least 1")
        if match["star"]:
            first, last = field.low, field.high
        else:
            first = _value(match["first"], field, expr)
            # `5/15` means from 5 to the end in steps of 15, as in cronie
            last = (
                _value(match["last"], field, expr)
                if match["last"]
                else (field.high if match["step"] else first)
            )
        if first > last:
            raise ValueError(
                f"cron expression {expr!r}: {field.name} range {part!r} runs backwards; "
                f"write it as a list, e.g. '{last}-{field.high},{field.low}-{first}'"
                if field.name != "day-of-week"
                else f"cron expression {expr!r}: day-of-week range {part!r} runs backwards; "
                "write it as a list, e.g. 'fri-sat,sun'"
            )
        found.update(range(first, last + 1, step))
    return found


def _value(token: str, field: _Field, expr: str) -> int:
    if token.isdigit():
        number = int(token)
    elif field.names and token[:3] in field.names and len(token) == 3:
        number = field.names.index(token) + field.name_base
    else:
        names = f" or a name ({', '.join(field.names)})" if field.names else ""
        raise ValueError(
            f"cron expression {expr!r}: {field.name} value {token!r} is not a number{names}"
        )
    if not field.low <= number <= field.high:
        raise ValueError(
            f"cron expression {expr!r}: {field.name} value {number} is out of range "
            f"{field.low}-{field.high}"
        )
    return number


class CrontabTrigger(BaseTrigger):
    """An APScheduler trigger with crontab's meaning (see the module docstring)."""

    # BaseTrigger declares empty __slots__; ours need their own.
    __slots__ = ("spec", "timezone", "once_in_repeated_hour", "_hours", "_minutes")

    def __init__(self, expr: str, timezone: tzinfo) -> None:
        self.spec = parse_cron(expr)
        self.timezone = timezone
        self.once_in_repeated_hour = not (self.spec.minute_star or self.spec.hour_star)
        self._hours = sorted(self.spec.hours)
        self._minutes = sorted(self.spec.minutes)

    def get_next_fire_time(self, previous_fire_time, now):
        # APScheduler's convention: from `now`, or just after the previous fire when that
        # is earlier (it enumerates missed fires that way). All in UTC.
        start = now.astimezone(UTC)
        if previous_fire_time is not None:
            previous = previous_fire_time.astimezone(UTC)
            start = min(start, previous + _TICK)
            if start == previous:
                start += _TICK
        local = start.astimezone(self.timezone)
        day = local.date()
        for offset in range(_HORIZON_DAYS):
            if self._runs_on(day):
                # DST moves an instant's wall time by at most an hour: earlier hours of
                # the first day cannot be at or after `start`.
                min_hour = max(0, local.hour - 1) if offset == 0 else 0
                for fire in self._fires(day, min_hour):
                    if fire >= start:
                        return fire.astimezone(self.timezone)
            day += timedelta(days=1)
        return None

    def _runs_on(self, day: date) -> bool:
        spec = self.spec
        if day.month not in spec.months:
            return False
        by_date = day.day in spec.days
        by_weekday = day.isoweekday() % 7 in spec.weekdays  # crontab: 0 = Sunday
        if spec.day_star or spec.weekday_star:
            return by_date and by_weekday
        return by_date or by_weekday  # both restricted: either one is enough

    def _fires(self, day: date, min_hour: int) -> list[datetime]:
        """The day's fire instants (UTC, ascending). A wall time skipped by the clocks
        springing forward maps to the instant the old offset gives (02:30 -> 03:30); a
        wall time repeated when they fall back fires once, or twice for `*` jobs."""
        found: set[datetime] = set()
        for hour in self._hours:
            if hour < min_hour:
                continue
            for minute in self._minutes:
                wall = datetime(day.year, day.month, day.day, hour, minute, tzinfo=self.timezone)
                found.add(wall.astimezone(UTC))
                again = wall.replace(fold=1).astimezone(UTC)
                # a later second instant: the wall time repeats (a skipped one maps earlier)
                if not self.once_in_repeated_hour and again > wall.astimezone(UTC):
                    found.add(again)
        return sorted(found)

    def __str__(self) -> str:
        return f"crontab[{self.spec.expr}]"

    def __repr__(self) -> str:
        return f"<CrontabTrigger {self.spec.expr!r} timezone={self.timezone}>"


def make_trigger(expr: str, timezone: tzinfo) -> CrontabTrigger:
    return CrontabTrigger(expr, timezone)


def next_fire(trigger: BaseTrigger, after: datetime) -> datetime | None:
    """The first fire time strictly after `after`."""
    return trigger.get_next_fire_time(None, after.astimezone(UTC) + _TICK)


def previous_fire(
    trigger: BaseTrigger, at: datetime, horizon: timedelta = timedelta(days=3000)
) -> datetime | None:
    """The last fire time at or before `at` (None if there is none within `horizon`).

    APScheduler only computes forwards, so look back over a window that doubles until it
    holds a fire time, then walk forwards to the last one not after `at`."""
    at_utc = at.astimezone(UTC)
    window = timedelta(hours=1)
    while window <= horizon:
        fire = trigger.get_next_fire_time(None, at_utc - window)
        if fire is not None and fire.astimezone(UTC) <= at_utc:
            while True:
                following = trigger.get_next_fire_time(fire, fire)
                if following is None or following.astimezone(UTC) > at_utc:
                    return fire
                fire = following
        window *= 2
    return None


def fire_times(trigger: BaseTrigger, start: datetime, end: datetime) -> list[datetime]:
    """Every fire time in [start, end): what the scheduler would run over that span."""
    out: list[datetime] = []
    fire = trigger.get_next_fire_time(None, start)
    while fire is not None and fire.astimezone(UTC) < end.astimezone(UTC):
        out.append(fire)
        fire = trigger.get_next_fire_time(fire, fire)
    return out


def describe(at: datetime, zone: tzinfo | None = None) -> str:
    """`Mon 2024-03-11 07:00 EDT (UTC-04:00)`: local time with its offset, for log lines."""
    local = at.astimezone(zone) if zone else at
    offset = local.strftime("%z")
    offset = f"{offset[:3]}:{offset[3:]}" if offset else "+00:00"
    return f"{local:%a %Y-%m-%d %H:%M} {local.tzname()} (UTC{offset})"
