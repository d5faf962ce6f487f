"""The demo's clock runs fast and only in working hours (casework/demo/clock.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from casework.clock import PARIS, FixedClock, to_local
from casework.demo.clock import WorkingHoursClock, beat_seconds
from casework.timers.calendar import Calendar


def paris(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=PARIS)


def demo_clock(at: datetime) -> tuple[FixedClock, WorkingHoursClock]:
    fast = FixedClock(at)
    return fast, WorkingHoursClock(fast, Calendar())


def test_each_working_day_runs_from_its_morning_to_its_evening() -> None:
    fast, clock = demo_clock(paris(2026, 12, 1))  # a Tuesday, midnight
    assert to_local(clock.now()) == paris(2026, 12, 1, 8)
    fast.set(paris(2026, 12, 1, 12))
    assert to_local(clock.now()) == paris(2026, 12, 1, 13)
    fast.set(paris(2026, 12, 1, 23, 59, 59))
    assert paris(2026, 12, 1, 17, 59) < to_local(clock.now()) < paris(2026, 12, 1, 18)


def test_a_day_off_stands_still_at_the_last_working_day_s_close() -> None:
    fast, clock = demo_clock(paris(2026, 12, 5, 10))  # Saturday
    assert to_local(clock.now()) == paris(2026, 12, 4, 18)  # Friday's close
    fast.set(paris(2026, 12, 26, 10))  # Saturday after Christmas (a Friday, a holiday)
    assert to_local(clock.now()) == paris(2026, 12, 24, 18)


def test_time_never_goes_back_and_is_always_a_working_hour() -> None:
    fast, clock = demo_clock(paris(2026, 3, 20))  # across the change to summer time
    seen = []
    for _ in range(24 * 30):
        fast.advance(timedelta(hours=1, minutes=7))
        seen.append(to_local(clock.now()))
    assert seen == sorted(seen)
    calendar = Calendar()
    assert all(calendar.is_working_day(t.date()) for t in seen)
    assert all(8 <= t.hour < 18 or (t.hour, t.minute) == (18, 0) for t in seen)


def test_the_service_beats_twice_a_simulated_day() -> None:
    assert beat_seconds(3 * 86_400) == 1 / 6
    assert beat_seconds(3600) == 1.0  # never slower than a real second
