"""A young person with one of every kind of record that holds personal data, for the purge's
and the erasure's tests: identity, a followed case with contacts, a sheet, a rupture and its
exit, mails in (with an attachment and an alert) and out, an action link, imported rows, a
rejected row, a cross-matching proposal and decision, an access-log row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import insert, select, update

from casework.actors import Actor
from casework.app import App
from casework.clock import FixedClock
from casework.models import Base, Beneficiary
from casework.models.tables import (
    ACCESS_LOG,
    ALERTS,
    ATTACHMENTS,
    CASES,
    CONTRACTS,
    DECISIONS,
    FILES,
    INBOUND,
    LINKS,
    OUTBOX,
    PROPOSALS,
    RECORDS,
    REJECTS,
)
from tests.factories import add_case, add_partner

PERSON = Actor.person("referente")


@dataclass(frozen=True)
class Secrets:
    """What must be found nowhere once this person is erased."""

    name: str
    first: str
    email: str
    phone: str

    def all(self) -> tuple[str, ...]:
        return (self.name, self.first, self.email, self.phone)


def a_person_with_everything(app: App, clock: FixedClock, s: Secrets, n: int) -> tuple[int, int]:
    """(person id, case id): the case ended (exit without solution) at the clock's now."""
    case_id = add_case(app, birth_name=s.name, first_names=s.first, postcode="53000")
    says = f"{s.first} {s.name} ({s.email}, {s.phone})"
    with app.db.transaction() as conn:
        person, contract = conn.execute(
            select(CASES.c.beneficiary_id, CASES.c.contract_id).where(CASES.c.id == case_id)
        ).one()
        conn.execute(
            update(Beneficiary)
            .where(Beneficiary.id == person)
            .values(
                birth_date=date(2001, 2, 3),
                phone=s.phone,
                email=s.email,
                address_line=f"12 rue {s.name}",
                commune="Laval",
                departement="53",
                ml_id=f"ML-{n}",
                guardian_name=f"Parent {s.name}",
                guardian_phone=s.phone,
                guardian_email=f"parent.{s.email}",
            )
        )
        cma = conn.execute(
            select(CONTRACTS.c.cma_number).where(CONTRACTS.c.id == contract)
        ).scalar_one()
    engine = app.engine
    engine.fire_case(case_id, "ask_consent", Actor.system())
    engine.fire_case(case_id, "give_consent", PERSON, given_by="apprentice")
    engine.fire_case(case_id, "start_follow_up", Actor.timer())
    engine.fire_case(
        case_id, "record_contact", PERSON, channel="phone", duration_min=20, notes=f"Vu {says}"
    )
    partner = add_partner(app, ("housing",))
    engine.fire_case(
        case_id,
        "refer",
        PERSON,
        partner_id=partner,
        need_category="housing",
        description=f"Logement pour {says}",
        consent=True,
        reason=f"Choisi pour {s.first} {s.name}",
    )
    engine.fire_case(
        case_id, "rupture", PERSON, rupture_date="2026-09-20", reason=f"Motif de {says}"
    )
    engine.fire_case(case_id, "start_reorientation", PERSON)
    engine.fire_case(case_id, "exit_without_solution", PERSON)
    _mails_and_files(app, s, says, case_id, partner, cma, n)
    return person, case_id


def _mails_and_files(
    app: App, s: Secrets, says: str, case_id: int, partner: int, cma: str, n: int
) -> None:
    now = app.clock.now()
    with app.db.transaction() as conn:
        inbound = conn.execute(
            insert(INBOUND).returning(INBOUND.c.id),
            {
                "received_at": now,
                "source": "test",
                "message_id": f"<m{n}@cfa.example>",
                "sender": f"cfa{n}@cfa.example",
                "subject": f"Au sujet de {s.first} {s.name}",
                "raw": f"From: cfa\r\n\r\n{says}".encode(),
                "text": says,
                "kind": "answer",
                "status": "recorded",
                "reason": None,
                "case_id": case_id,
            },
        ).scalar_one()
        conn.execute(
            insert(ATTACHMENTS),
            {
                "inbound_id": inbound,
                "filename": f"{s.name}.txt",
                "content_type": "text/plain",
                "size": 10,
                "data": says.encode(),
            },
        )
        conn.execute(
            insert(ALERTS),
            {
                "case_id": case_id,
                "inbound_id": inbound,
                "partner_id": partner,
                "sender": f"cfa{n}@cfa.example",
                "identified_by": "automatic",
                "created_at": now,
            },
        )
        conn.execute(
            insert(OUTBOX),
            {
                "case_id": case_id,
                "template": "case/follow_up_due",
                "recipient_role": "counsellor",
                "recipients": [s.email],
                "context": {"beneficiary_name": f"{s.first} {s.name}", "phone": s.phone},
                "subject": f"Suivi de {s.first} {s.name}",
                "message": f"Bonjour, {says}",
                "status": "sent",
                "attempts": 1,
                "next_attempt_at": now,
                "created_at": now,
                "sent_at": now,
            },
        )
        conn.execute(
            insert(LINKS),
            {
                "token_hash": f"{n:064d}",
                "entity": "case",
                "entity_id": case_id,
                "case_id": case_id,
                "trigger": "record_contact",
                "entered_version": 1,
                "valid_for_entry": 1,
                "recipient": s.email,
                "actor_kind": "person",
                "expires_at": now - timedelta(days=1),
                "revoked_at": now,
                "revoked_by": "referente",
                "revoke_reason": f"Envoyé à {s.email} par erreur",
                "created_at": now - timedelta(days=30),
            },
        )
        file_id = conn.execute(
            insert(FILES).returning(FILES.c.id),
            {
                "source": "cma",
                "name": f"cma-{n}.csv",
                "sha256": f"{n:064d}",
                "described": "CSV",
                "records": 1,
                "rejected": 1,
                "created": 1,
                "updated": 0,
                "imported_at": now,
                "imported_by": "referente",
            },
        ).scalar_one()
        row = {"birth_name": s.name, "first_names": s.first, "email": s.email}
        for source, key in (("cma", cma), ("ml", f"ML-{n}")):
            conn.execute(
                insert(RECORDS),
                {
                    "source": source,
                    "key": key,
                    "data": row,
                    "file_id": file_id,
                    "line": 2,
                    "created_at": now,
                    "updated_at": now,
                },
            )
        conn.execute(
            insert(REJECTS),
            {"file_id": file_id, "line": 3, "cells": [s.name, s.phone], "reasons": ["date"]},
        )
        conn.execute(
            insert(PROPOSALS),
            {
                "cma_key": cma,
                "ml_key": f"ML-{n}",
                "probability": 0.9,
                "band": "review",
                "explanation": [f"nom : {s.name} = {s.name}"],
                "created_at": now,
            },
        )
        conn.execute(
            insert(DECISIONS),
            {
                "cma_key": cma,
                "ml_key": f"ML-{n}",
                "same": True,
                "decided_by": "referente",
                "decided_at": now,
            },
        )
        conn.execute(
            insert(ACCESS_LOG),
            {"user_login": "referente", "page": "case show", "case_id": case_id, "at": now},
        )


def found_anywhere(app: App, secrets: tuple[str, ...]) -> list[str]:
    """Every table.column whose value (as text, bytes decoded, JSON as stored) holds one."""
    found = []
    with app.db.read() as conn:
        for table in Base.metadata.sorted_tables:
            for row in conn.execute(select(table)).mappings():
                for column, value in row.items():
                    if value is None:
                        continue
                    text = (
                        value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
                    )
                    found += [
                        f"{table.name}.{column}: {secret}"
                        for secret in secrets
                        if secret.lower() in text.lower()
                    ]
    return found
