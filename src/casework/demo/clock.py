"""The demo's clock: months in a minute, and only in working hours.

A plain fast clock seen by a beat once a real second, at three days a second, sees the same
time of day at every beat: whatever the seeding left it at (often the middle of the night).
Then the digest, due from 08:00 on working days, may never be made, and every mail is dated
03:12. Here the fast clock's calendar days still pass at its speed, but each working day's 24
hours are run through its working hours (08:00 → 18:00), and a day off stands still at the
previous working day's close: every moment the service, the simulated people and the sender
see is a working hour, and each working day is crossed from its morning to its evening.
`beat_seconds` is how often the service must look for each working day to be seen at least
twice (so each gets its digest).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

from casework.clock import PARIS, Clock, ensure_utc, to_local
from casework.timers.calendar import Calendar

OPENS, CLOSES = time(8), time(18)
DAY = timedelta(days=1)


class WorkingHoursClock:
    def __init__(self, fast: Clock, calendar: Calendar, opens: time = OPENS, closes: time = CLOSES):
        self.fast = fast
        self.calendar = calendar
        self.opens, self.closes = opens, closes

    @property
    def speed(self) -> float:
        return float(getattr(self.fast, "speed", 1.0))

    def now(self) -> datetime:
        return ensure_utc(self.at(self.fast.now()))

    def at(self, moment: datetime) -> datetime:
        """The working-hours time standing for `moment` of the fast clock."""
        local = to_local(moment)
        day = local.date()
        if not self.calendar.is_working_day(day):
            return self._paris(self._working_day_before(day), self.closes)
        midnight = self._paris(day, time(0))
        through_day = (local - midnight) / (self._paris(day + DAY, time(0)) - midnight)
        opens, closes = self._paris(day, self.opens), self._paris(day, self.closes)
        return opens + (closes - opens) * through_day

    def _working_day_before(self, day: date) -> date:
        day -= DAY
        while not self.calendar.is_working_day(day):
            day -= DAY
        return day

    @staticmethod
    def _paris(day: date, at: time) -> datetime:
        return datetime.combine(day, at, tzinfo=PARIS)


def beat_seconds(speed: float) -> float:
    """How often (real seconds, at most one) the demo's service beats: twice a simulated day,
    so that every working day has a beat after the digest's hour and before its close."""
    return min(1.0, 0.5 * DAY.total_seconds() / speed)
