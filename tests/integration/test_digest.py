"""The daily digest: once per counsellor per working day, only when something is due."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from casework.actors import Actor
from casework.app import App
from casework.clock import FixedClock
from casework.demo.mailcatcher import MailCatcher
from casework.models import Digest, OutboxMail
from casework.notify import digest as digest_module
from casework.notify.digest import DigestMaker
from casework.notify.sender import MailSender
from tests.factories import add_case, add_user

OUTBOX, DIGESTS = OutboxMail.__table__, Digest.__table__
# Paris is UTC+1 in winter: 07:30 UTC is 08:30 in Paris.
THURSDAY_MORNING = datetime(2026, 11, 26, 7, 30, tzinfo=UTC)


def digests(app: App) -> list:
    with app.db.read() as conn:
        return list(conn.execute(select(DIGESTS).order_by(DIGESTS.c.login)).all())


def digest_mails(app: App) -> list:
    with app.db.read() as conn:
        query = select(OUTBOX).where(OUTBOX.c.template == "digest/daily").order_by(OUTBOX.c.id)
        return list(conn.execute(query).all())


def setup(app: App, clock: FixedClock) -> list[int]:
    clock.set(THURSDAY_MORNING.replace(day=20))
    add_user(app, "referente", "claire@ml.example")
    add_user(app, "second", "paul@ml.example")
    add_user(app, "evaluatrice", "eva@ml.example", role="evaluator")
    ids = [add_case(app), add_case(app), add_case(app, referent="second", state="closed")]
    app.engine.fire_many("case", ids[:2], "ask_consent", Actor.system())
    clock.set(THURSDAY_MORNING)
    return ids


def test_one_digest_per_counsellor_per_working_day(app: App, clock: FixedClock) -> None:
    setup(app, clock)
    maker = DigestMaker(app)
    assert maker.run(clock.now()) == 1  # "second" has nothing due: no mail
    (mail,) = digest_mails(app)
    assert mail.context["login"] == "referente"
    assert [i["trigger"] for i in mail.context["items"]] == ["give_consent", "give_consent"]
    assert [(d.login, d.actions) for d in digests(app)] == [("referente", 2), ("second", 0)]
    assert maker.run(clock.now()) == 0  # the same day again: nothing
    clock.set(THURSDAY_MORNING.replace(day=27))
    assert maker.run(clock.now()) == 1  # the next working day: again


def test_no_digest_before_the_hour_on_weekends_or_holidays(app: App, clock: FixedClock) -> None:
    setup(app, clock)
    maker = DigestMaker(app)
    assert maker.run(THURSDAY_MORNING.replace(hour=6, minute=59)) == 0  # 07:59 in Paris
    assert maker.run(datetime(2026, 11, 28, 9, tzinfo=UTC)) == 0  # a Saturday
    assert maker.run(datetime(2026, 11, 11, 9, tzinfo=UTC)) == 0  # Armistice day
    assert digests(app) == []


def test_two_processes_make_one_digest(app: App, clock: FixedClock) -> None:
    setup(app, clock)
    makers = [DigestMaker(app), DigestMaker(app)]
    threads = [threading.Thread(target=m.run, args=(clock.now(),)) for m in makers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(digest_mails(app)) == 1
    assert len(digests(app)) == 2


def test_a_follow_up_already_contacted_this_cycle_is_not_listed(
    app: App, clock: FixedClock
) -> None:
    add_user(app)
    contacted, waiting = add_case(app, state="consented"), add_case(app, state="consented")
    app.engine.fire_many("case", [contacted, waiting], "start_follow_up", Actor.timer())
    app.engine.fire_case(
        contacted,
        "record_contact",
        Actor.person("referente"),
        channel="phone",
        duration_min=20,
    )
    clock.set(THURSDAY_MORNING.replace(month=9, day=3))
    DigestMaker(app).run(clock.now())
    (mail,) = digest_mails(app)
    assert [i["entity_id"] for i in mail.context["items"]] == [waiting]


def test_a_long_digest_says_how_much_it_left_out(
    mail_app: App, clock: FixedClock, catcher: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(digest_module, "MAX_ITEMS", 1)
    setup(mail_app, clock)  # two consents due
    DigestMaker(mail_app).run(clock.now())
    MailSender(mail_app).drain_sync()
    # The consent requests went out too; the digest is the one "Vos actions".
    caught = next(c for c in catcher.wait_for(3) if "Vos actions" in c.message["Subject"])
    assert caught.part("plain").count("https://casework.example/l/") == 1
    assert "… et 1 autre(s)" in caught.part("plain")
