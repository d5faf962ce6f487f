"""Replies read from a real IMAP server (Dovecot, started by the tests): a pass, IDLE, a poll
after the connection dropped, and a message marked read only once it is taken in."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable, Iterator

import pytest
from imapclient import IMAPClient
from imapclient.exceptions import IMAPClientError

from casework.app import App
from casework.demo.mailcatcher import MailCatcher
from casework.inbound.imap import ImapReader
from casework.inbound.ingest import Ingestor
from casework.models import LiaisonSheet
from casework.settings import InboundSettings
from tests.dovecot import PASSWORD, USER, Dovecot
from tests.factories import row
from tests.integration.test_ingest import OUTLOOK_BODY, inbound, reply, sent_sheet


@pytest.fixture
def mailbox(dovecot: Dovecot) -> Iterator[IMAPClient]:
    """The platform's mailbox, emptied: what the tests drop mail into, as a mail server would."""
    client = IMAPClient("127.0.0.1", port=dovecot.port, ssl=False)
    client.login(USER, PASSWORD)
    client.select_folder("INBOX")
    client.delete_messages(client.search(["ALL"]))
    client.expunge()
    try:
        yield client
    finally:
        try:
            client.logout()
        except (IMAPClientError, OSError):  # a test cut the connection
            client.shutdown()


def settings_for(dovecot: Dovecot, **changes: object) -> InboundSettings:
    base = InboundSettings(
        imap_enabled=True,
        imap_host="127.0.0.1",
        imap_port=dovecot.port,
        imap_security="none",
        imap_user=USER,
        imap_password=PASSWORD,
        imap_poll_seconds=0.5,
    )
    return dataclasses.replace(base, **changes)  # type: ignore[arg-type]


def wait_for(condition: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("not in time")
        time.sleep(0.05)


def test_a_pass_takes_in_unseen_mail_then_marks_it_read(
    mail_app: App, catcher: MailCatcher, dovecot: Dovecot, mailbox: IMAPClient
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    mailbox.append("INBOX", reply(original, OUTLOOK_BODY))
    reader = ImapReader(Ingestor(mail_app), settings_for(dovecot))
    assert reader.poll_once() == 1
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    (stored,) = inbound(mail_app)
    assert stored.source == "imap:INBOX"
    assert stored.imap_uid is not None
    mailbox.noop()  # this session sees the other session's flags
    assert mailbox.search(["UNSEEN"]) == []
    assert reader.poll_once() == 0


def test_a_message_read_again_after_a_crash_is_recorded_once(
    mail_app: App, catcher: MailCatcher, dovecot: Dovecot, mailbox: IMAPClient
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    mailbox.append("INBOX", reply(original, OUTLOOK_BODY))
    reader = ImapReader(Ingestor(mail_app), settings_for(dovecot))
    reader.poll_once()
    # As if the reader had died after the commit, before flagging: the message is unseen again.
    mailbox.noop()
    mailbox.remove_flags(mailbox.search(["ALL"]), [b"\\Seen"])
    assert reader.poll_once() == 0  # taken in already (same UIDVALIDITY and UID)
    assert len(inbound(mail_app)) == 1
    mailbox.noop()
    assert mailbox.search(["UNSEEN"]) == []
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"


def test_idle_delivers_within_seconds_and_a_poll_takes_over_after_a_drop(
    mail_app: App, catcher: MailCatcher, dovecot: Dovecot, mailbox: IMAPClient
) -> None:
    sheet_id, original = sent_sheet(mail_app, catcher)
    reader = ImapReader(Ingestor(mail_app), settings_for(dovecot))
    reader.start()
    try:
        wait_for(lambda: reader.thread is not None and reader.last_error is None)
        time.sleep(0.5)  # the reader is idling
        mailbox.append("INBOX", reply(original, OUTLOOK_BODY))
        wait_for(lambda: row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged", 10)
        # The server goes away (IDLE drops), comes back; mail that came meanwhile is taken in.
        dovecot.kill()
        wait_for(lambda: reader.last_error is not None)
        dovecot.start()
        feedback = reply(original, "Logement trouvé, entrée le 3 novembre.")
        with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False) as again:
            again.login(USER, PASSWORD)
            again.append("INBOX", feedback)
        wait_for(lambda: row(mail_app, LiaisonSheet, sheet_id).state == "feedback_received")
    finally:
        reader.stop()
    assert (
        row(mail_app, LiaisonSheet, sheet_id).feedback == "Logement trouvé, entrée le 3 novembre."
    )
    assert reader.taken == 2


def test_a_connection_cut_without_a_goodbye_is_noticed_during_idle(
    mail_app: App, catcher: MailCatcher, dovecot: Dovecot, mailbox: IMAPClient
) -> None:
    """A cut connection sends no BYE; imapclient's IDLE check swallows the end of file, so the
    reader must notice by itself, not after `imap_idle_seconds` (10 minutes by default)."""
    sheet_id, original = sent_sheet(mail_app, catcher)
    reader = ImapReader(Ingestor(mail_app), settings_for(dovecot))
    reader.start()
    try:
        wait_for(lambda: reader.thread is not None and reader.last_error is None)
        time.sleep(0.5)  # the reader is idling
        assert dovecot.cut_sessions() >= 1
        wait_for(lambda: reader.last_error is not None, 10)
        with IMAPClient("127.0.0.1", port=dovecot.port, ssl=False) as again:
            again.login(USER, PASSWORD)
            again.append("INBOX", reply(original, OUTLOOK_BODY))
        wait_for(lambda: row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged", 10)
    finally:
        reader.stop()
