"""When a timer is due: calendar days, working days, months, hours — in Paris time.

Day-based delays (days, working days, months) land at the start of the working day (09:00 in
Europe/Paris by default), so that reminders reach people at work. Hour- and minute-based delays
are exact durations. Every result is an aware UTC datetime; the conversion from the local date
and time goes through zoneinfo, so 09:00 is 09:00 on both sides of a daylight-saving change.

Working days are Monday to Friday, minus French public holidays (the `holidays` package), with a
département's own days when a subdivision is set ("57" or "6AE": Alsace-Moselle's Good Friday
and St Stephen's Day; "971"…"976": the overseas départements' days).
"""

from __future__ import annotations

import calendar as _calendar
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

import holidays

from casework.clock import PARIS, ensure_utc
from casework.states.definition import Delay

MAX_WORKING_DAY_SEARCH = 370  # a year without a working day is a broken holiday table


def add_months(day: date, months: int) -> date:
    """Same day of the month, `months` later; clamped to the month's last day
    (31 January + 1 month = 28 February, or 29 in a leap year)."""
    index = day.year * 12 + day.month - 1 + months
    year, month = divmod(index, 12)
    last = _calendar.monthrange(year, month + 1)[1]
    return date(year, month + 1, min(day.day, last))


class Calendar:
    def __init__(
        self,
        subdivision: str | None = None,
        day_start: time = time(9, 0),
        tz: ZoneInfo = PARIS,
    ):
        self.subdivision = subdivision or None
        self.day_start = day_start
        self.tz = tz

    # -- days ----------------------------------------------------------------------------------

    def is_holiday(self, day: date) -> bool:
        return day in _holiday_dates(self.subdivision, day.year)

    def is_working_day(self, day: date) -> bool:
        return day.weekday() < 5 and day not in _holiday_dates(self.subdivision, day.year)

    def add_working_days(self, day: date, count: int) -> date:
        """The `count`-th working day after `day` (0: `day` itself if it is a working day,
        else the next one)."""
        current = day
        if count == 0:
            for _ in range(MAX_WORKING_DAY_SEARCH):
                if self.is_working_day(current):
                    return current
                current += timedelta(days=1)
            raise ValueError(f"no working day within a year after {day}")
        remaining = count
        for _ in range(count + MAX_WORKING_DAY_SEARCH):
            current += timedelta(days=1)
            if self.is_working_day(current):
                remaining -= 1
                if remaining == 0:
                    return current
        raise ValueError(f"no {count} working days within reach after {day}")

    def working_day_before(self, day: date) -> date:
        """The last working day before `day`: the day a charter deadline ends when its reminder
        comes the next working morning."""
        current = day
        for _ in range(MAX_WORKING_DAY_SEARCH):
            current -= timedelta(days=1)
            if self.is_working_day(current):
                return current
        raise ValueError(f"no working day within a year before {day}")

    def working_days_between(self, start: date, end: date) -> int:
        """Working days in (start, end]: how late a partner is, in the charter's unit."""
        step = 1 if end >= start else -1
        count, current = 0, start
        while current != end:
            current += timedelta(days=step)
            if self.is_working_day(current):
                count += step
        return count

    # -- instants ------------------------------------------------------------------------------

    def local_date(self, instant: datetime) -> date:
        return ensure_utc(instant).astimezone(self.tz).date()

    def at_day_start(self, day: date) -> datetime:
        """`day` at the start of the working day, local time, as UTC."""
        return ensure_utc(datetime.combine(day, self.day_start, tzinfo=self.tz))

    def due_at(self, delay: Delay, entered_at: datetime, anchor: date | None = None) -> datetime:
        """When a timer with `delay` is due, counted from `anchor` (a date) if given, else from
        when the state was entered.

        A zero delay from entering is due at once; every other day-based delay lands at the
        start of the working day."""
        entered_at = ensure_utc(entered_at)
        if delay.unit in ("minutes", "hours"):
            start = entered_at if anchor is None else self.at_day_start(anchor)
            return start + timedelta(**{delay.unit: delay.amount})
        if delay.amount == 0 and anchor is None and delay.unit != "working_days":
            return entered_at
        day = anchor if anchor is not None else self.local_date(entered_at)
        if delay.unit == "days":
            return self.at_day_start(day + timedelta(days=delay.amount))
        if delay.unit == "months":
            return self.at_day_start(add_months(day, delay.amount))
        if delay.unit == "working_days":
            if delay.amount == 0 and anchor is None and self.is_working_day(day):
                return max(entered_at, self.at_day_start(day))
            return self.at_day_start(self.add_working_days(day, delay.amount))
        raise ValueError(f"unknown delay unit {delay.unit!r}")


@lru_cache(maxsize=256)
def _holiday_dates(subdivision: str | None, year: int) -> frozenset[date]:
    """One year's public holidays, computed once (a frozen set: safe to share between threads)."""
    return frozenset(holidays.France(years=year, subdiv=subdivision))
