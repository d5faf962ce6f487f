"""The demo's service makes the daily digest every working day, at a working hour: its clock
crosses the digest's hour each working day, and its beat is quick enough to see each day.

Before the working-hours clock, a fast clock seen once a real second at three days a second
showed the service the same time of day at every beat (here 03:00): no digest, ever."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select

from casework.actors import Actor
from casework.app import App
from casework.clock import PARIS, FixedClock, to_local
from casework.demo.clock import WorkingHoursClock, beat_seconds
from casework.models import Digest, OutboxMail
from casework.notify.digest import DigestMaker
from tests.factories import add_case, add_user

SPEED = 3 * 86_400  # the demo's: three days a real second


def test_the_demo_sends_the_digest_every_working_day_in_working_hours(
    app: App, clock: FixedClock
) -> None:
    start = datetime(2026, 11, 30, 3, tzinfo=PARIS)  # a Monday, 03:00
    clock.set(start)
    add_user(app)
    app.engine.fire_case(add_case(app), "ask_consent", Actor.system())  # something due, every day
    fast = FixedClock(start)
    demo = WorkingHoursClock(fast, app.engine.timers.calendar)
    maker = DigestMaker(app)
    step = timedelta(seconds=beat_seconds(SPEED) * SPEED)  # what one beat of the service sees
    while fast.now() < start + timedelta(days=28):
        fast.advance(step)
        maker.run(demo.now())
    with app.db.read() as conn:
        days = list(conn.execute(select(Digest.day).order_by(Digest.day)).scalars())
        sent = [
            to_local(t)
            for t in conn.execute(
                select(OutboxMail.created_at).where(OutboxMail.template == "digest/daily")
            ).scalars()
        ]
    calendar = app.engine.timers.calendar
    working = [
        d
        for d in (date(2026, 11, 30) + timedelta(days=n) for n in range(29))
        if calendar.is_working_day(d)
    ]
    assert days == working  # Christmas Day and the weekends skipped
    assert [t.date() for t in sent] == working
    assert all(8 <= t.hour < 18 for t in sent)
