"""Mail readers that nothing stops: a message the database refuses is set aside alone, the IMAP
reader survives any failure and says so on /health and in `casework status`, and LMTP accepts
a poison message instead of answering 451 forever. Real Dovecot, real databases.

To make the database refuse what no check foresaw, the tests give it a trigger that refuses
some rows (or all): the database itself says no, as it would on a value it cannot hold."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner
from imapclient import IMAPClient
from sqlalchemy import insert, text

from casework.app import App
from casework.cli import main
from casework.demo.mailcatcher import MailCatcher, free_port
from casework.inbound.imap import ImapReader
from casework.inbound.ingest import Ingestor
from casework.inbound.lmtp import LmtpReceiver
from casework.inbound.parsing import Incoming
from casework.inbound.reader_state import ReaderState
from casework.models import InboundStatus, LiaisonSheet, ServiceHeartbeat
from casework.settings import InboundSettings
from tests.dovecot import Dovecot
from tests.factories import row
from tests.integration.test_imap import mailbox, settings_for, wait_for  # noqa: F401
from tests.integration.test_ingest import inbound, reply
from tests.integration.test_ingest_batches import sent_sheets
from tests.integration.test_poison_mail import nul_reply


@contextmanager
def refusing(app: App, when: str = "1 = 1") -> Iterator[None]:
    """While inside: the database refuses every inbound record for which `when` holds."""
    if app.db.is_sqlite:
        create = [
            f"CREATE TRIGGER refuse BEFORE INSERT ON inbound_mails WHEN {when}"
            " BEGIN SELECT RAISE(ABORT, 'refused by the test'); END"
        ]
        drop = ["DROP TRIGGER refuse"]
    else:
        create = [
            f"""CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN IF {when} THEN RAISE EXCEPTION 'refused by the test'; END IF;
                RETURN NEW; END $$""",
            "CREATE TRIGGER refuse BEFORE INSERT ON inbound_mails "
            "FOR EACH ROW EXECUTE FUNCTION refuse()",
        ]
        drop = ["DROP TRIGGER refuse ON inbound_mails", "DROP FUNCTION refuse"]
    with app.db.transaction() as conn:
        for statement in create:
            conn.execute(text(statement))
    try:
        yield
    finally:
        with app.db.transaction() as conn:
            for statement in drop:
                conn.execute(text(statement))


def test_a_batch_the_database_refuses_is_taken_one_by_one(
    mail_app: App, catcher: MailCatcher
) -> None:
    (a, to_a), (b, to_b), (c, to_c) = sent_sheets(mail_app, catcher, 3)
    batch = [reply(to_a, "Bien reçu."), reply(to_b, "POISON"), reply(to_c, "Vu, merci.")]
    with refusing(mail_app, "NEW.text LIKE '%POISON%'"):
        results = Ingestor(mail_app).ingest_many([Incoming(raw, "test") for raw in batch])
    assert [r.status for r in results] == [
        InboundStatus.RECORDED,
        InboundStatus.QUARANTINED,
        InboundStatus.RECORDED,
    ]
    assert "la base de données a refusé ce message" in (results[1].reason or "")
    assert [row(mail_app, LiaisonSheet, s).state for s in (a, b, c)] == [
        "acknowledged",
        "sent",
        "acknowledged",
    ]
    kept = {r.id: r for r in inbound(mail_app)}[results[1].id]
    assert kept.raw == batch[1]  # the message itself is kept, for a person to look at


def test_the_imap_reader_takes_a_poison_message_with_the_others_and_marks_all_read(
    mail_app: App,
    catcher: MailCatcher,
    dovecot: Dovecot,
    mailbox: IMAPClient,  # noqa: F811
) -> None:
    (a, to_a), (b, to_b) = sent_sheets(mail_app, catcher, 2)
    mailbox.append("INBOX", nul_reply(to_a))
    mailbox.append("INBOX", reply(to_b, "POISON"))
    mailbox.append("INBOX", reply(to_b, "Vu, merci."))
    reader = ImapReader(Ingestor(mail_app), settings_for(dovecot))
    with refusing(mail_app, "NEW.text LIKE '%POISON%'"):
        assert reader.poll_once() == 3
    statuses = sorted(str(r.status) for r in inbound(mail_app))
    assert statuses == ["quarantined", "recorded", "recorded"]
    assert row(mail_app, LiaisonSheet, a).state == "acknowledged"  # its NUL did not matter
    assert row(mail_app, LiaisonSheet, b).state == "acknowledged"
    mailbox.noop()
    assert mailbox.search(["UNSEEN"]) == []


def test_the_imap_reader_survives_a_database_that_refuses_everything(
    mail_app: App,
    catcher: MailCatcher,
    dovecot: Dovecot,
    mailbox: IMAPClient,  # noqa: F811
) -> None:
    ((sheet_id, original),) = sent_sheets(mail_app, catcher, 1)
    state = ReaderState("imap")
    reader = ImapReader(Ingestor(mail_app), settings_for(dovecot), state)
    with refusing(mail_app):
        mailbox.append("INBOX", reply(original, "Bien reçu."))
        reader.start()
        try:
            wait_for(lambda: state.failing_since is not None)
            assert state.running
            assert state.last_error is not None
            assert "refused by the test" not in state.last_error  # the kind, not the text
            mailbox.noop()
            assert len(mailbox.search(["UNSEEN"])) == 1  # nothing lost: still to be read
        except BaseException:
            reader.stop()
            raise
    try:
        # The database accepts again: the reader's next attempt takes the message in.
        wait_for(lambda: row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged", 30)
        wait_for(lambda: state.failing_since is None)
        assert state.summary()["healthy"] is True
    finally:
        reader.stop()
    assert state.summary()["running"] is False
    assert state.summary()["stopped_since"] is not None


def test_lmtp_accepts_a_poison_message_instead_of_failing_it_forever(
    mail_app: App, catcher: MailCatcher
) -> None:
    ((sheet_id, original),) = sent_sheets(mail_app, catcher, 1)
    settings = InboundSettings(lmtp_enabled=True, lmtp_port=free_port())
    receiver = LmtpReceiver(Ingestor(mail_app), settings)
    receiver.start()
    try:
        to = str(original.message["Reply-To"])
        with smtplib.LMTP(settings.lmtp_host, settings.lmtp_port) as server:
            assert server.sendmail("x@adlj53.example", [to], nul_reply(original)) == {}
    finally:
        receiver.stop()
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    assert receiver.state.taken == 1


# -- what `casework status` says of each process ---------------------------------------------


def heartbeat(app: App, seen_ago: timedelta, **values: object) -> None:
    now = datetime.now(UTC)
    with app.db.transaction() as conn:
        conn.execute(
            insert(ServiceHeartbeat.__table__),
            {
                "host": "srv1",
                "pid": 4242,
                "started_at": now - timedelta(hours=3),
                "last_seen_at": now - seen_ago,
                "last_sweep": {},
                **values,
            },
        )


@pytest.mark.parametrize(
    ("seen_ago", "shown"),
    [
        (timedelta(seconds=3), "(en marche)"),
        (timedelta(minutes=12), "(arrêté ; dernier signe il y a 12 min)"),
        (timedelta(hours=2, minutes=5), "(arrêté ; dernier signe il y a 2 h 05)"),
    ],
)
def test_status_calls_a_silent_service_stopped(
    app: App, db_url: str, seen_ago: timedelta, shown: str
) -> None:
    heartbeat(app, seen_ago)
    output = CliRunner().invoke(main, ["--database", db_url, "status"]).output
    assert f"Service srv1:4242 {shown}" in output


def test_status_shows_each_mail_reader(app: App, db_url: str) -> None:
    since = datetime(2026, 11, 30, 9, 15, tzinfo=UTC).isoformat()
    readers = {
        "imap": {
            "running": True,
            "healthy": False,
            "taken": 12,
            "last_fetch_at": since,
            "failing_since": since,
            "last_error": "base de données : \x1b[2JOperationalError",
        },
        "lmtp": {"running": False, "taken": 3, "stopped_since": since},
    }
    heartbeat(app, timedelta(seconds=2), readers=readers)
    output = CliRunner().invoke(main, ["--database", db_url, "status"]).output
    assert (
        "Lecture IMAP : en échec depuis le 30/11/2026 10:15 "
        "(base de données : OperationalError), dernier passage le 30/11/2026 10:15"
    ) in output
    assert "Réception LMTP : arrêtée depuis le 30/11/2026 10:15 (3 courriel(s) reçu(s)" in output
    assert "\x1b" not in output


def test_a_message_over_the_size_limit_is_quarantined_by_its_headers_and_left_in_the_box(
    mail_app: App,
    catcher: MailCatcher,
    dovecot: Dovecot,
    mailbox: IMAPClient,  # noqa: F811
) -> None:
    ((sheet_id, original),) = sent_sheets(mail_app, catcher, 1)
    huge = reply(original, "Pièce jointe énorme.\r\n" + "x" * 200_000)
    mailbox.append("INBOX", huge)
    mailbox.append("INBOX", reply(original, "Bien reçu."))
    reader = ImapReader(Ingestor(mail_app), settings_for(dovecot, max_message_bytes=50_000))
    assert reader.poll_once() == 2
    small, big = inbound(mail_app)  # the ones within the limit are taken first
    assert big.status == "quarantined"
    assert "message trop volumineux" in (big.reason or "")
    assert len(big.raw) < 5_000  # its headers only
    assert big.imap_uid is not None
    assert small.status == "recorded"
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    mailbox.noop()
    assert mailbox.search(["UNSEEN"]) == []
    assert len(mailbox.search(["ALL"])) == 2  # the big one is still there for a person
