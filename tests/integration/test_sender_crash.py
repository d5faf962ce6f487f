"""A sender killed in the middle of a batch loses no mail: after its lease, another sender sends
what it had not marked, with the Message-IDs fixed before the first attempt."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from casework.actors import Actor
from casework.app import App
from casework.clock import FixedClock
from casework.demo.mailcatcher import MailCatcher
from casework.models import MailStatus, OutboxMail
from casework.notify.sender import MARK_EVERY, MailSender
from tests.factories import add_case, add_user

OUTBOX = OutboxMail.__table__
MAILS = 200


def test_killing_the_sender_mid_batch_loses_no_mail(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    add_user(mail_app)
    ids = [add_case(mail_app) for _ in range(MAILS)]
    mail_app.engine.fire_many("case", ids, "ask_consent", Actor.system())
    env = {
        **os.environ,
        "CASEWORK_DATABASE_URL": mail_app.settings.database.url,
        "CASEWORK_MAIL_SMTP_PORT": str(catcher.port),
        "CASEWORK_MAIL_LINK_KEYS": mail_app.settings.mail.link_keys,
        "CASEWORK_MAIL_RATE_PER_SECOND": "100",  # slow enough to be caught mid-batch
        "CASEWORK_MAIL_BATCH_SIZE": "500",
        "CASEWORK_MAIL_LEASE_SECONDS": "300",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "casework", "mail", "send"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 60
        while len(catcher.messages) < 70 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert process.poll() is None, process.stderr.read().decode()  # type: ignore[union-attr]
        process.send_signal(signal.SIGKILL)
    finally:
        process.wait(timeout=30)
        process.stderr.close()  # type: ignore[union-attr]
    sent_before_kill = len(catcher.messages)
    assert 70 <= sent_before_kill < MAILS

    with mail_app.db.read() as conn:
        stored = conn.execute(select(OUTBOX.c.status, OUTBOX.c.message_id)).all()
    assert all(m.message_id for m in stored)  # all rendered before the first attempt
    assert sum(m.status == MailStatus.SENT for m in stored) < MAILS

    # While the dead sender's lease runs, nobody takes its mails; after it, they are due again.
    clock.set(datetime.now(UTC))
    assert MailSender(mail_app).drain_sync().claimed == 0
    clock.set(datetime.now(UTC) + timedelta(seconds=301))
    MailSender(mail_app).drain_sync()

    with mail_app.db.read() as conn:
        stored = conn.execute(select(OUTBOX.c.status, OUTBOX.c.message_id)).all()
    assert {m.status for m in stored} == {MailStatus.SENT}
    received = Counter(c.message["Message-ID"] for c in catcher.wait_for(MAILS))
    assert set(received) == {m.message_id for m in stored}  # every mail arrived
    resent = [mid for mid, n in received.items() if n > 1]
    # At-least-once: only the mails sent but not yet marked when it died came twice (each
    # connection marks its own every MARK_EVERY).
    assert len(resent) <= MARK_EVERY * mail_app.settings.mail.connections
    assert all(n <= 2 for n in received.values())
