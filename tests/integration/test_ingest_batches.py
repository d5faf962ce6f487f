"""Messages taken in by the batch (an IMAP fetch): each as if taken one by one, one failing
message never costs the others, and two readers on the same messages record each once."""

from __future__ import annotations

import threading

import pytest
from sqlalchemy import select

from casework.actors import Actor
from casework.app import App
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.inbound.alerts import AlertDesk
from casework.inbound.ingest import Ingestor
from casework.inbound.parsing import Incoming
from casework.inbound.records import Ingested
from casework.models import InboundStatus, LiaisonSheet, OutboxMail
from casework.notify.sender import MailSender
from tests.factories import add_case, add_contact, add_partner, add_sheet, add_user, events, row
from tests.integration.test_alerts import alert_mail, alerts, cfa
from tests.integration.test_ingest import PARTNER, inbound, reply


def sent_sheets(app: App, catcher: MailCatcher, n: int) -> list[tuple[int, Caught]]:
    """N sheets to one partner, sent; each with the mail its partner received."""
    add_user(app)
    partner_id = add_partner(app)
    add_contact(app, partner_id, PARTNER, name="Sophie Martin")
    sheet_ids = [add_sheet(app, partner_id=partner_id) for _ in range(n)]
    app.engine.fire_many("liaison", sheet_ids, "send", Actor.person("referente"))
    MailSender(app).drain_sync()
    caught = {str(m.message["Message-ID"]): m for m in catcher.wait_for(n)}
    outbox = OutboxMail.__table__
    with app.db.read() as conn:
        sent = conn.execute(select(outbox.c.message_id, outbox.c.entity_id)).all()
    by_sheet = {m.entity_id: caught[m.message_id] for m in sent if m.message_id in caught}
    return [(s, by_sheet[s]) for s in sheet_ids]


def test_a_batch_takes_each_message_as_if_one_by_one(mail_app: App, catcher: MailCatcher) -> None:
    (a, to_a), (b, to_b) = sent_sheets(mail_app, catcher, 2)
    first = reply(to_a, "Bien reçu.", message_id="<ack-a@adlj53.example>")
    batch = [
        first,
        reply(to_b, "C'est fait.", sender="quelquun@ailleurs.example"),
        reply(to_a, "Absente.", headers="Auto-Submitted: auto-replied\r\n"),
        reply(to_a, "Logement trouvé, entrée le 3 novembre."),  # a second answer to sheet A
        first,  # the same message again, in the same batch
        b"\x00\xff not a mail",
        reply(to_b, "Bien reçu pour ce jeune."),
    ]
    results = Ingestor(mail_app).ingest_many([Incoming(raw, "test") for raw in batch])
    assert [r.status for r in results] == [
        InboundStatus.RECORDED,
        InboundStatus.QUARANTINED,
        InboundStatus.IGNORED,
        InboundStatus.RECORDED,
        InboundStatus.RECORDED,
        InboundStatus.QUARANTINED,
        InboundStatus.RECORDED,
    ]
    assert [r.reason for r in results][3] == "retour enregistré"
    assert (results[4].duplicate, results[4].id) == (True, results[0].id)
    assert not any(r.duplicate for r in results[:4])
    # Sheet A was acknowledged, then given its feedback, in the batch's order.
    assert [e.trigger for e in events(mail_app, "liaison", a)][-2:] == [
        "acknowledge",
        "give_feedback",
    ]
    assert row(mail_app, LiaisonSheet, a).feedback == "Logement trouvé, entrée le 3 novembre."
    assert row(mail_app, LiaisonSheet, b).state == "acknowledged"
    # Six records (the copy is none), in the batch's order.
    stored = inbound(mail_app)
    assert len(stored) == 6
    assert [s.id for s in stored] == sorted(r.id for r in results if not r.duplicate)


def test_one_failing_message_is_quarantined_and_the_batch_goes_on(
    mail_app: App, catcher: MailCatcher, monkeypatch: pytest.MonkeyPatch
) -> None:
    ((sheet_id, original),) = sent_sheets(mail_app, catcher, 1)
    cfa(mail_app, counsellor=False)
    add_case(mail_app, state="follow_up", cycle=1)

    def broken(*_args: object) -> None:
        raise RuntimeError("a bug in identifying")

    monkeypatch.setattr(AlertDesk, "identify", broken)
    results = Ingestor(mail_app).ingest_many(
        [
            Incoming(alert_mail("Léa Martin est absente."), "test"),
            Incoming(reply(original, "Bien reçu."), "test"),
        ]
    )
    assert results[0].status == InboundStatus.QUARANTINED
    assert results[0].reason == "erreur en le traitant : RuntimeError: a bug in identifying"
    assert results[1].status == InboundStatus.RECORDED
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    assert alerts(mail_app) == []


def test_two_readers_taking_the_same_messages_record_each_once(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheets = sent_sheets(mail_app, catcher, 8)
    batch = [
        Incoming(reply(mail, "Bien reçu.", message_id=f"<r{sheet_id}@adlj53.example>"), "test")
        for sheet_id, mail in sheets
    ]
    start = threading.Barrier(2)
    results: list[list[Ingested]] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            ingestor = Ingestor(mail_app)
            start.wait()
            results.append(ingestor.ingest_many(batch))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert errors == []
    assert len(inbound(mail_app)) == len(batch)
    for sheet_id, _mail in sheets:
        assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
        triggers = [e.trigger for e in events(mail_app, "liaison", sheet_id)]
        assert triggers.count("acknowledge") == 1
    first, second = results
    assert [r.id for r in first] == [r.id for r in second]
    assert {r.status for r in first + second} == {InboundStatus.RECORDED}
    # Exactly one of the two readers recorded each message; the other found it taken.
    assert all(x.duplicate != y.duplicate for x, y in zip(first, second, strict=True))
