"""Crontab expressions mean what they mean in crontab(5), DST days included."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger

from digest.cron import describe, fire_times, make_trigger, next_fire, previous_fire, validate_cron

NY = ZoneInfo("America/New_York")
WEEK = (datetime(2024, 6, 2, tzinfo=UTC), datetime(2024, 6, 9, tzinfo=UTC))  # Sun..Sat


def weekdays(expr: str, zone=UTC) -> list[str]:
    return [f.strftime("%a") for f in fire_times(make_trigger(expr, zone), *WEEK)]


def test_1_to_5_is_monday_to_friday():
    assert weekdays("0 7 * * 1-5") == ["Mon", "Tue", "Wed", "Thu", "Fri"]


def test_apscheduler_from_crontab_would_shift_the_week():
    # The reason digest.cron exists: APScheduler 3 counts 0 as Monday.
    trigger = CronTrigger.from_crontab("0 7 * * 1-5", timezone=UTC)
    got, fire = [], trigger.get_next_fire_time(None, WEEK[0])
    while fire < WEEK[1]:
        got.append(fire.strftime("%a"))
        fire = trigger.get_next_fire_time(fire, fire)
    assert got == ["Tue", "Wed", "Thu", "Fri", "Sat"]


@pytest.mark.parametrize("expr", ["0 7 * * 0", "0 7 * * 7", "0 7 * * sun", "0 7 * * SUN"])
def test_zero_and_seven_are_sunday(expr):
    assert weekdays(expr) == ["Sun"]


@pytest.mark.parametrize(
    ("expr", "days"),
    [
        ("0 7 * * mon-fri", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("0 7 * * */2", ["Sun", "Tue", "Thu", "Sat"]),  # 0,2,4,6 in crontab numbering
        ("0 7 * * 5-7", ["Sun", "Fri", "Sat"]),
        ("0 7 * * 6,0", ["Sun", "Sat"]),
        ("0 7 * * 1/2", ["Sun", "Mon", "Wed", "Fri"]),  # 1,3,5,7: to the end (7 = Sunday)
        ("0 7 * * *", ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]),
    ],
)
def test_weekday_forms(expr, days):
    assert weekdays(expr) == days


def test_day_of_month_or_day_of_week_when_both_are_given():
    # crontab: "0 9 13 * 5" runs on the 13th AND on every Friday.
    fires = fire_times(
        make_trigger("0 9 13 * 5", UTC),
        datetime(2024, 10, 1, tzinfo=UTC),
        datetime(2024, 11, 1, tzinfo=UTC),
    )
    assert [f.day for f in fires] == [4, 11, 13, 18, 25]


def test_a_star_day_field_keeps_and_semantics():
    fires = fire_times(
        make_trigger("0 9 */10 * 1", UTC),
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2024, 12, 31, tzinfo=UTC),
    )
    assert fires and all(f.weekday() == 0 and f.day in (1, 11, 21, 31) for f in fires)


@pytest.mark.parametrize(
    ("macro", "expr"),
    [
        ("@daily", "0 0 * * *"),
        ("@weekly", "0 0 * * 0"),
        ("@hourly", "0 * * * *"),
        ("@monthly", "0 0 1 * *"),
        ("@yearly", "0 0 1 1 *"),
    ],
)
def test_macros(macro, expr):
    start, end = datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)
    assert (
        fire_times(make_trigger(macro, UTC), start, end)[:40]
        == fire_times(make_trigger(expr, UTC), start, end)[:40]
    )


def test_month_names_and_steps():
    fires = fire_times(
        make_trigger("0 0 1 jan-dec/3 *", UTC),
        datetime(2024, 1, 1, tzinfo=UTC),
        datetime(2025, 1, 1, tzinfo=UTC),
    )
    assert [f.month for f in fires] == [1, 4, 7, 10]


@pytest.mark.parametrize(
    ("expr", "says"),
    [
        ("0 25 * * *", "hour value 25 is out of range 0-23"),
        ("61 7 * * *", "minute value 61 is out of range 0-59"),
        ("0 7 * * 8", "day-of-week value 8 is out of range 0-7"),
        ("0 7 * * funday", "day-of-week value 'funday' is not a number"),
        ("0 7 32 * *", "day-of-month value 32"),
        ("0 7 * 13 *", "month value 13"),
        ("0 7 * *", "has 4 fields, not 5"),
        ("0 7 * * * *", "has 6 fields, not 5"),
        ("", "empty cron expression"),
        ("@reboot", "unknown cron macro '@reboot'"),
        ("0 7 5-1 * *", "range '5-1' runs backwards"),
        ("*/0 * * * *", "step must be at least 1"),
        ("0 7 L * *", "day-of-month value 'l' is not a number"),
        ("0 7 * * 1#2", "'1#2' is not valid"),
    ],
)
def test_invalid_expressions_say_what_is_wrong(expr, says):
    with pytest.raises(ValueError, match=None) as info:
        validate_cron(expr)
    assert says in str(info.value)


def test_valid_expressions_pass():
    for expr in ("0 7 * * *", " 30  6 * * 1-5 ", "*/15 * * * *", "0 0 1,15 * *", "@daily"):
        validate_cron(expr)


# ---------------------------------------------------------------- daylight saving time
def per_local_day(expr: str, start: datetime, end: datetime) -> Counter:
    return Counter(f.astimezone(NY).date() for f in fire_times(make_trigger(expr, NY), start, end))


def test_spring_forward_day_fires_once_for_a_skipped_time():
    day = datetime(2024, 3, 10, tzinfo=NY)
    fires = fire_times(make_trigger("30 2 * * *", NY), day, day + timedelta(days=1))
    assert len(fires) == 1
    # 02:30 does not exist that night: it runs at the same instant the clock says 03:30.
    assert fires[0].astimezone(UTC) == datetime(2024, 3, 10, 7, 30, tzinfo=UTC)
    assert describe(fires[0], NY) == "Sun 2024-03-10 03:30 EDT (UTC-04:00)"


def test_fall_back_day_fires_once_for_a_repeated_time():
    day = datetime(2024, 11, 3, tzinfo=NY)
    fires = fire_times(make_trigger("30 1 * * *", NY), day, day + timedelta(days=1))
    assert [f.astimezone(UTC) for f in fires] == [datetime(2024, 11, 3, 5, 30, tzinfo=UTC)]


@pytest.mark.parametrize(
    "expr", ["30 1 * * *", "30 2 * * *", "0 7 * * *", "59 23 * * *", "0 0 * * *"]
)
def test_every_day_of_a_year_with_two_dst_changes_fires_exactly_once(expr):
    start, end = datetime(2024, 1, 1, tzinfo=NY), datetime(2025, 1, 1, tzinfo=NY)
    counts = per_local_day(expr, start, end)
    assert len(counts) == 366 and set(counts.values()) == {1}


def test_wildcard_hours_run_in_both_repeated_hours_as_cron_does():
    fall = per_local_day(
        "0 * * * *", datetime(2024, 11, 3, tzinfo=NY), datetime(2024, 11, 4, tzinfo=NY)
    )
    spring = per_local_day(
        "0 * * * *", datetime(2024, 3, 10, tzinfo=NY), datetime(2024, 3, 11, tzinfo=NY)
    )
    assert list(fall.values()) == [25] and list(spring.values()) == [23]


# ---------------------------------------------------------------- next / previous
def test_next_fire_is_strictly_after():
    trigger = make_trigger("0 7 * * *", UTC)
    at = datetime(2024, 5, 1, 7, 0, tzinfo=UTC)
    assert next_fire(trigger, at) == datetime(2024, 5, 2, 7, 0, tzinfo=UTC)
    assert next_fire(trigger, at - timedelta(seconds=1)) == at


def test_next_fire_across_the_repeated_hour():
    trigger = make_trigger("0 * * * *", NY)
    first = datetime(2024, 11, 3, 5, 0, tzinfo=UTC).astimezone(NY)  # 01:00 EDT
    second = next_fire(trigger, first)
    assert second.astimezone(UTC) == datetime(2024, 11, 3, 6, 0, tzinfo=UTC)  # 01:00 EST
    assert next_fire(trigger, second).astimezone(UTC) == datetime(2024, 11, 3, 7, 0, tzinfo=UTC)


def test_previous_fire_includes_the_instant_itself():
    trigger = make_trigger("0 7 * * 1-5", UTC)
    friday = datetime(2024, 6, 7, 7, 0, tzinfo=UTC)
    assert previous_fire(trigger, friday) == friday
    # Monday 06:00: the last one was Friday's, not the weekend's
    assert previous_fire(trigger, datetime(2024, 6, 10, 6, 0, tzinfo=UTC)) == friday


def test_previous_fire_of_a_rare_schedule():
    leap = make_trigger("0 0 29 2 *", UTC)
    assert previous_fire(leap, datetime(2027, 1, 1, tzinfo=UTC)) == datetime(
        2024, 2, 29, tzinfo=UTC
    )


def test_trigger_timezone_is_the_configured_one():
    fires = fire_times(
        make_trigger("0 7 * * *", NY),
        datetime(2024, 7, 1, tzinfo=UTC),
        datetime(2024, 7, 2, tzinfo=UTC),
    )
    assert [f.astimezone(UTC).hour for f in fires] == [11]  # 07:00 EDT
