"""Due times: month ends, French public holidays, Alsace-Moselle, daylight-saving changes."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest

from casework.clock import PARIS
from casework.states.definition import Delay
from casework.timers.calendar import Calendar, add_months

FR = Calendar()


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS).astimezone(UTC)


@pytest.mark.parametrize(
    ("day", "months", "expected"),
    [
        (date(2027, 1, 31), 1, date(2027, 2, 28)),
        (date(2028, 1, 31), 1, date(2028, 2, 29)),  # leap year
        (date(2026, 8, 31), 1, date(2026, 9, 30)),
        (date(2026, 10, 31), 4, date(2027, 2, 28)),
        (date(2026, 12, 15), 1, date(2027, 1, 15)),
        (date(2026, 3, 31), -1, date(2026, 2, 28)),
        (date(2026, 9, 1), 12, date(2027, 9, 1)),
    ],
)
def test_months_clamp_to_the_end_of_the_month(day: date, months: int, expected: date) -> None:
    assert add_months(day, months) == expected


def test_french_public_holidays_are_not_working_days() -> None:
    for holiday in (
        date(2026, 1, 1),
        date(2026, 4, 6),
        date(2026, 5, 1),
        date(2026, 5, 8),
        date(2026, 5, 14),
        date(2026, 5, 25),
        date(2026, 7, 14),
        date(2026, 8, 15),
        date(2026, 11, 1),
        date(2026, 11, 11),
        date(2026, 12, 25),
    ):
        assert FR.is_holiday(holiday), holiday
        assert not FR.is_working_day(holiday)
    assert FR.is_working_day(date(2026, 12, 24))
    assert not FR.is_working_day(date(2026, 11, 28))  # a Saturday


def test_alsace_moselle_has_two_more_days() -> None:
    moselle = Calendar(subdivision="57")
    for day in (date(2026, 4, 3), date(2026, 12, 26)):  # Good Friday, St Stephen's Day
        assert moselle.is_holiday(day)
        assert not FR.is_holiday(day)
    assert FR.is_working_day(date(2026, 4, 3))
    assert not moselle.is_working_day(date(2026, 4, 3))


@pytest.mark.parametrize(
    ("start", "count", "expected"),
    [
        (date(2026, 11, 26), 1, date(2026, 11, 27)),  # Thursday → Friday
        (date(2026, 11, 27), 1, date(2026, 11, 30)),  # Friday → Monday
        (date(2026, 11, 9), 3, date(2026, 11, 13)),  # over Armistice Day (Wed 11th)
        (date(2026, 12, 23), 3, date(2026, 12, 29)),  # over Christmas and a weekend
        (date(2026, 5, 7), 5, date(2026, 5, 18)),  # over 8 May and Ascension (14th)
        (date(2026, 11, 28), 0, date(2026, 11, 30)),  # a Saturday: the next working day
        (date(2026, 11, 26), 0, date(2026, 11, 26)),
    ],
)
def test_working_days(start: date, count: int, expected: date) -> None:
    assert FR.add_working_days(start, count) == expected


def test_working_days_between_counts_like_the_charter() -> None:
    assert FR.working_days_between(date(2026, 11, 9), date(2026, 11, 13)) == 3
    assert FR.working_days_between(date(2026, 11, 13), date(2026, 11, 9)) == -3
    assert FR.working_days_between(date(2026, 11, 9), date(2026, 11, 9)) == 0


def test_the_working_day_before_skips_weekends_and_holidays() -> None:
    # The last day of a charter deadline, from its reminder's day.
    assert FR.working_day_before(date(2026, 11, 13)) == date(2026, 11, 12)  # Friday
    assert FR.working_day_before(date(2026, 11, 16)) == date(2026, 11, 13)  # Monday
    assert FR.working_day_before(date(2026, 11, 12)) == date(2026, 11, 10)  # 11th: Armistice
    assert FR.working_day_before(date(2027, 1, 4)) == date(2026, 12, 31)  # New Year's Day


def test_day_based_delays_land_at_nine_in_paris_across_daylight_saving() -> None:
    entered = paris(2026, 3, 26, 16, 30)  # Thursday, winter time (UTC+1)
    due = FR.due_at(Delay(3, "working_days"), entered)
    assert due == paris(2026, 3, 31, 9, 0)  # Tuesday, summer time (UTC+2)
    assert due == datetime(2026, 3, 31, 7, 0, tzinfo=UTC)
    autumn = FR.due_at(Delay(1, "months"), paris(2026, 10, 15, 11, 0))
    assert autumn == datetime(2026, 11, 15, 8, 0, tzinfo=UTC)  # 09:00 UTC+1
    assert FR.due_at(Delay(2, "days"), paris(2026, 10, 24, 23, 30)) == paris(2026, 10, 26, 9, 0)


def test_hours_are_real_durations_across_daylight_saving() -> None:
    entered = paris(2026, 3, 29, 1, 30)  # the clocks jump from 02:00 to 03:00
    due = FR.due_at(Delay(2, "hours"), entered)
    assert due - entered == datetime(2026, 1, 1, 2, tzinfo=UTC) - datetime(2026, 1, 1, tzinfo=UTC)
    assert due.astimezone(PARIS).hour == 4


def test_zero_delays() -> None:
    entered = paris(2026, 11, 28, 15, 0)  # a Saturday
    assert FR.due_at(Delay(0, "days"), entered) == entered  # at once
    assert FR.due_at(Delay(0, "working_days"), entered) == paris(2026, 11, 30, 9, 0)
    monday = paris(2026, 11, 30, 7, 0)
    assert FR.due_at(Delay(0, "working_days"), monday) == paris(2026, 11, 30, 9, 0)
    assert FR.due_at(Delay(0, "working_days"), paris(2026, 11, 30, 14, 0)) == paris(
        2026, 11, 30, 14, 0
    )


def test_delays_from_a_date_field() -> None:
    start = date(2026, 1, 31)
    entered = paris(2026, 7, 1, 10, 0)
    assert FR.due_at(Delay(12, "months"), entered, anchor=start) == paris(2027, 1, 31, 9, 0)
    assert FR.due_at(Delay(1, "months"), entered, anchor=start) == paris(2026, 2, 28, 9, 0)
    assert FR.due_at(Delay(0, "days"), entered, anchor=date(2028, 6, 30)) == paris(
        2028, 6, 30, 9, 0
    )


def test_the_start_of_the_day_is_configurable() -> None:
    early = Calendar(day_start=time(8, 30))
    assert early.due_at(Delay(1, "days"), paris(2026, 11, 26, 12)) == paris(2026, 11, 27, 8, 30)
