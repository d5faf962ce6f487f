"""The LMTP receiver, spoken to by a real LMTP client (the standard library's smtplib.LMTP)."""

from __future__ import annotations

import dataclasses
import smtplib
from collections.abc import Iterator

import pytest

from casework.app import App
from casework.demo.mailcatcher import MailCatcher, free_port
from casework.inbound.ingest import Ingestor
from casework.inbound.lmtp import LmtpReceiver
from casework.models import LiaisonSheet
from casework.service.lifecycle import Service
from casework.settings import InboundSettings
from tests.factories import row
from tests.integration.test_ingest import OUTLOOK_BODY, PARTNER, inbound, reply, sent_sheet


@pytest.fixture
def lmtp(mail_app: App) -> Iterator[tuple[LmtpReceiver, Ingestor]]:
    ingestor = Ingestor(mail_app)
    settings = InboundSettings(lmtp_enabled=True, lmtp_port=free_port(), max_message_bytes=50_000)
    receiver = LmtpReceiver(ingestor, settings)
    receiver.start()
    try:
        yield receiver, ingestor
    finally:
        receiver.stop()


def client(receiver: LmtpReceiver) -> smtplib.LMTP:
    return smtplib.LMTP(receiver.settings.lmtp_host, receiver.settings.lmtp_port)


def test_a_reply_delivered_over_lmtp_moves_the_sheet(
    mail_app: App, catcher: MailCatcher, lmtp: tuple[LmtpReceiver, Ingestor]
) -> None:
    receiver, _ingestor = lmtp
    sheet_id, original = sent_sheet(mail_app, catcher)
    to = str(original.message["Reply-To"])
    with client(receiver) as server:
        refused = server.sendmail(PARTNER, [to], reply(original, OUTLOOK_BODY))
    assert refused == {}
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    (stored,) = inbound(mail_app)
    assert stored.source == "lmtp"


def test_one_recipient_per_transaction_and_oversized_mail_refused(
    mail_app: App, catcher: MailCatcher, lmtp: tuple[LmtpReceiver, Ingestor]
) -> None:
    receiver, _ingestor = lmtp
    _sheet_id, original = sent_sheet(mail_app, catcher)
    to = str(original.message["Reply-To"])
    with client(receiver) as server:
        refused = server.sendmail(
            PARTNER, [to, "alertes@plateforme.example"], reply(original, "Vu.")
        )
    assert refused["alertes@plateforme.example"][0] == 452  # the server sends it again, alone
    with client(receiver) as server, pytest.raises(smtplib.SMTPException) as error:
        server.sendmail(PARTNER, [to], reply(original, "x" * 60_000))
    assert "552" in str(error.value)


def test_an_error_while_taking_in_answers_451_so_the_server_retries(
    mail_app: App, catcher: MailCatcher, lmtp: tuple[LmtpReceiver, Ingestor], monkeypatch
) -> None:
    receiver, ingestor = lmtp
    _sheet_id, original = sent_sheet(mail_app, catcher)

    def broken(*_args: object) -> None:
        raise RuntimeError("database unreachable")

    monkeypatch.setattr(ingestor, "ingest", broken)
    with client(receiver) as server, pytest.raises(smtplib.SMTPDataError) as error:
        server.sendmail(PARTNER, [str(original.message["Reply-To"])], reply(original, "Vu."))
    assert error.value.smtp_code == 451
    assert inbound(mail_app) == []


def test_the_service_runs_the_receiver(mail_app: App) -> None:
    settings = InboundSettings(lmtp_enabled=True, lmtp_port=free_port())
    mail_app.settings = dataclasses.replace(mail_app.settings, inbound=settings)
    service = Service(mail_app, interval=3600)
    service.start()
    try:
        with smtplib.LMTP("127.0.0.1", settings.lmtp_port) as server:
            assert server.noop()[0] == 250
    finally:
        service.stop()


def test_lines_longer_than_rfc_5321_are_taken_up_to_the_setting(
    mail_app: App, catcher: MailCatcher, lmtp: tuple[LmtpReceiver, Ingestor]
) -> None:
    """Real mail has lines over 1,000 bytes (HTML on one line, long headers): taken up to
    `inbound.max_line_bytes`, refused past it (the server keeps the message)."""
    receiver, _ingestor = lmtp
    sheet_id, original = sent_sheet(mail_app, catcher)
    to = str(original.message["Reply-To"])
    long_line = "Bien reçu, " + "nous recevons Léa jeudi " * 200  # about 4,800 bytes
    with client(receiver) as server:
        refused = server.sendmail(PARTNER, [to], reply(original, long_line + "\r\n"))
    assert refused == {}
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    (stored,) = inbound(mail_app)
    assert long_line.strip() in stored.text

    settings = dataclasses.replace(receiver.settings, lmtp_port=free_port(), max_line_bytes=2_000)
    short = LmtpReceiver(_ingestor, settings)
    short.start()
    try:
        with client(short) as server, pytest.raises(smtplib.SMTPDataError) as error:
            server.sendmail(PARTNER, [to], reply(original, long_line + "\r\n"))
        assert error.value.smtp_code == 500
    finally:
        short.stop()
