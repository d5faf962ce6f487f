"""Alerts by mail: a training centre or a social worker writes to the platform's alert address
about an apprentice; the case's counsellor gets an alert.

Confidence before anything is tied to a case:
- the sender must be a known partner contact (`partner_contacts`), never just anyone;
- the mail must name a *followed* apprentice (test group, case not closed): the birth name and
  one of the first names, in any order, in the subject or the body, folded (`casework.names`:
  accents, case and hyphens do not matter);
- exactly one such apprentice. Several (namesakes): the one the sender's partner works with
  (a liaison sheet to that partner, or the partner is the apprentice's training centre), else
  the one whose birth date the mail gives; still several, or none: the quarantine, where a
  person attaches it to a case (`casework inbound alert`) or rejects it.

Control-group cases are never candidates: they are not followed, and an alert would make the
counsellor act on them.

Cost at scale: the birth names are looked up by the indexed `beneficiaries.name_key`, with the
keys of every run of up to four words of the mail (a few hundred keys for a long mail), so a
million cases cost an index probe, not a scan.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from datetime import date, datetime
from email.message import Message
from typing import Any

from sqlalchemy import Connection, insert, select

from casework import wording
from casework.actors import Actor
from casework.app import App
from casework.chunks import chunks
from casework.errors import CaseworkError
from casework.inbound.authentication import Proof, without_links
from casework.inbound.parsing import body_text
from casework.inbound.records import Ingested, store
from casework.models import Group, InboundKind, InboundStatus
from casework.models.tables import (
    ALERTS,
    CASES,
    CONTACTS,
    CONTRACTS,
    EVENTS,
    INBOUND,
    PARTNERS,
    PEOPLE,
    SHEETS,
)
from casework.names import name_key, word_runs
from casework.notify.outbox import Outbox
from casework.states.definition import NO_CONTACT_TAG
from casework.text_limits import NOTE, fitted

log = logging.getLogger("casework.inbound")
TEMPLATE = "case/partner_alert"
# What is read of a mail to find names in, and what the counsellor's notice quotes of it.
READ_CHARS, QUOTED_CHARS = 20_000, 3_000
_DATES = re.compile(r"\b(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})\b")


class AlertError(CaseworkError):
    """A person's request about an alert that cannot be done (said in French)."""


@dataclass(frozen=True)
class Identified:
    """The case a mail is about (None: not identified, with the reason in French)."""

    case_id: int | None
    partner_id: int | None
    reason: str | None = None


class AlertDesk:
    def __init__(self, app: App):
        self.app = app
        local = app.settings.inbound.alert_local
        self.address = f"{local}@{app.settings.mail.domain}".lower() if local else None
        # States where a case is not followed: final ones, and the control group's.
        self.unfollowed = {
            (d.name, d.version, name)
            for d in app.workflows
            if d.entity == "case"
            for name, state in d.states.items()
            if state.final or NO_CONTACT_TAG in state.tags
        }

    def is_for_us(self, addresses: list[str]) -> bool:
        return self.address is not None and any(
            a.strip().lower() == self.address for a in addresses
        )

    # -- identifying ---------------------------------------------------------------------------

    def identify(self, conn: Connection, sender: str | None, text: str) -> Identified:
        """Which followed case the mail from `sender` is about, and for which partner."""
        partners = self.partners_of(conn, sender)
        if not partners:
            return Identified(None, None, f"alerte de {sender or 'inconnu'} : expéditeur inconnu")
        partner_id = partners[0] if len(partners) == 1 else None
        text = text[:READ_CHARS]
        keys = word_runs(text)
        named = [c for c in self._named(conn, keys) if self._followed(c)]
        if not named:
            return Identified(None, partner_id, "alerte : aucun apprenti suivi n'est nommé")
        if len(named) > 1:
            linked = self._linked(conn, named, partners)
            if len(linked) == 1:
                named = linked
            else:
                dates = _dates_in(text)
                born = [c for c in (linked or named) if c.birth_date in dates]
                if len(born) == 1:
                    named = born
        if len(named) > 1:
            cases = ", ".join(f"n° {c.case_id}" for c in named[:10])
            return Identified(
                None, partner_id, f"alerte : plusieurs apprentis possibles (dossiers {cases})"
            )
        return Identified(named[0].case_id, partner_id)

    @staticmethod
    def partners_of(conn: Connection, sender: str | None) -> list[int]:
        """The partners `sender` is a contact of."""
        if not sender:
            return []
        query = select(CONTACTS.c.partner_id).where(CONTACTS.c.email == sender.lower())
        return sorted(conn.execute(query).scalars())

    @staticmethod
    def _named(conn: Connection, keys: set[str]) -> list[Any]:
        """The cases of the people whose birth name and one first name are both in `keys`."""
        columns = (
            CASES.c.id.label("case_id"),
            CASES.c.group,
            CASES.c.state,
            CASES.c.workflow_name,
            CASES.c.workflow_version,
            PEOPLE.c.first_names,
            PEOPLE.c.birth_name,
            PEOPLE.c.birth_date,
            CONTRACTS.c.training_centre_uai,
        )
        found = []
        for part in chunks(sorted(keys)):
            found += conn.execute(
                select(*columns)
                .join(CASES, CASES.c.beneficiary_id == PEOPLE.c.id)
                .join(CONTRACTS, CONTRACTS.c.id == CASES.c.contract_id)
                .where(PEOPLE.c.name_key.in_(part))
                .order_by(CASES.c.id)
            ).all()
        named = []
        for c in found:
            firsts = [k for k in map(name_key, c.first_names.split()) if k in keys]
            if firsts:
                named.append((c, name_key(c.birth_name), max(firsts, key=len)))
        # "Jean-Pierre Le Gall" also contains "Pierre Gall": a name found only as a fragment
        # of a longer one found is not a second candidate.
        return [
            c
            for c, birth, first in named
            if not any((birth, first) != (b, f) and birth in b and first in f for _, b, f in named)
        ]

    def _followed(self, case: Any) -> bool:
        return case.group == Group.TEST and (
            (case.workflow_name, case.workflow_version, case.state) not in self.unfollowed
        )

    @staticmethod
    def _linked(conn: Connection, named: list[Any], partners: list[int]) -> list[Any]:
        """Those the sender's partners work with: a sheet went to them, or they train them."""
        ids = [c.case_id for c in named]
        with_sheet = set(
            conn.execute(
                select(SHEETS.c.case_id).where(
                    SHEETS.c.case_id.in_(ids), SHEETS.c.partner_id.in_(partners)
                )
            ).scalars()
        )
        uais = set(
            conn.execute(
                select(PARTNERS.c.uai).where(
                    PARTNERS.c.id.in_(partners), PARTNERS.c.uai.is_not(None)
                )
            ).scalars()
        )
        return [c for c in named if c.case_id in with_sheet or c.training_centre_uai in uais]

    # -- raising -------------------------------------------------------------------------------

    def take(
        self,
        conn: Connection,
        record: dict[str, Any],
        message: Message,
        text: str,
        now: datetime,
        proof: Proof,
    ) -> Ingested:
        """A mail to the alert address: an alert on the case it names, or the quarantine.
        Names are looked for in the whole body (a forwarded mail is often the alert itself);
        people are shown the text without quotes, or the whole body when that is all there is.
        A sender not proven (`proof`) is held in the quarantine for a person, whatever the mail
        names: its text reaches no counsellor until a person attaches it."""
        body = body_text(message)
        shown = text.strip() or fitted(NOTE, body)
        found = self.identify(conn, record["sender"], f"{record['subject'] or ''}\n{body}")
        record["case_id"] = found.case_id
        if found.case_id is not None and not proof.counts:
            reason = f"alerte sur le dossier n° {found.case_id} retenue : {proof.reason}"
            return store(conn, record, InboundKind.ANSWER, shown, InboundStatus.QUARANTINED, reason)
        if found.case_id is None:
            reason = found.reason or "alerte non identifiée"
            return store(conn, record, InboundKind.ANSWER, shown, InboundStatus.QUARANTINED, reason)
        stored = store(
            conn,
            record,
            InboundKind.ANSWER,
            shown,
            InboundStatus.RECORDED,
            f"alerte sur le dossier n° {found.case_id}",
        )
        self.raise_alert(
            conn,
            case_id=found.case_id,
            inbound_id=stored.id,
            partner_id=found.partner_id,
            sender=record["sender"],
            subject=record["subject"],
            text=shown,
            identified_by=None,
            now=now,
            proven=proof.proven,
        )
        return stored

    def raise_alert(
        self,
        conn: Connection,
        *,
        case_id: int,
        inbound_id: int,
        partner_id: int | None,
        sender: str,
        subject: str | None,
        text: str,
        identified_by: Actor | None,
        now: datetime,
        proven: bool = False,
    ) -> int:
        """The alert, an event on the case's timeline and a mail to its counsellor, in the
        caller's transaction (with the inbound record: all or nothing). The mail quotes what
        the sender wrote with its links removed unless the sender was `proven` (a person
        attaching a held alert vouches for the case, not for the links)."""
        alert_id = int(
            conn.execute(
                insert(ALERTS).returning(ALERTS.c.id),
                {
                    "case_id": case_id,
                    "inbound_id": inbound_id,
                    "partner_id": partner_id,
                    "sender": sender,
                    "identified_by": str(identified_by) if identified_by else "automatic",
                    "created_at": now,
                },
            ).scalar_one()
        )
        conn.execute(
            insert(EVENTS),
            {
                "case_id": case_id,
                "entity": "case",
                "entity_id": case_id,
                "version": None,
                "trigger": "partner_alert",
                "actor_kind": Actor.partner(sender).kind_value,
                "actor": sender,
                "at": now,
                "data": {
                    "alert_id": alert_id,
                    "inbound_id": inbound_id,
                    **({"attached_by": str(identified_by)} if identified_by else {}),
                },
            },
        )
        quoted = text if proven else without_links(text)
        _queue_alert_mail(conn, case_id, alert_id, partner_id, sender, subject, quoted, now)
        log.info("alert %s on case %s (inbound %s)", alert_id, case_id, inbound_id)
        return alert_id

    # -- the counsellor's side ----------------------------------------------------------------

    def check_can_alert(self, conn: Connection, case_id: int) -> None:
        """A person attaching a mail as an alert: the case must be one that is followed."""
        case = conn.execute(
            select(
                CASES.c.id.label("case_id"),
                CASES.c.group,
                CASES.c.state,
                CASES.c.workflow_name,
                CASES.c.workflow_version,
            ).where(CASES.c.id == case_id)
        ).first()
        if case is None:
            raise AlertError(f"dossier n° {case_id} inconnu")
        if case.group != Group.TEST:
            raise AlertError(f"le dossier n° {case_id} n'est pas suivi (groupe témoin)")
        if not self._followed(case):
            definition = self.app.workflows.find(case.workflow_name, case.workflow_version)
            state = wording.state(definition, case.state)  # its label, not its code
            raise AlertError(f"le dossier n° {case_id} n'est plus suivi (état : {state})")

    def mark_seen(self, alert_id: int, actor: Actor) -> None:
        with self.app.db.transaction() as conn:
            seen = conn.execute(select(ALERTS.c.seen_at).where(ALERTS.c.id == alert_id)).first()
            if seen is None:
                raise AlertError(f"alerte n° {alert_id} inconnue")
            if seen.seen_at is not None:
                return
            conn.execute(
                ALERTS.update()
                .where(ALERTS.c.id == alert_id, ALERTS.c.seen_at.is_(None))
                .values(seen_at=self.app.clock.now(), seen_by=actor.id)
            )


def open_alerts_query(login: str | None = None, everything: bool = False) -> Any:
    """Alerts with what the counsellor needs to read them, newest first."""
    inbound = INBOUND
    query = (
        select(
            ALERTS.c.id,
            ALERTS.c.case_id,
            ALERTS.c.sender,
            ALERTS.c.created_at,
            ALERTS.c.seen_at,
            ALERTS.c.seen_by,
            inbound.c.subject,
            inbound.c.text,
            PEOPLE.c.first_names,
            PEOPLE.c.birth_name,
            CASES.c.referent,
        )
        .join(inbound, inbound.c.id == ALERTS.c.inbound_id)
        .join(CASES, CASES.c.id == ALERTS.c.case_id)
        .join(PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id)
        .order_by(ALERTS.c.id.desc())
    )
    if not everything:
        query = query.where(ALERTS.c.seen_at.is_(None))
    if login is not None:
        query = query.where(CASES.c.referent == login)
    return query


def _dates_in(text: str) -> set[date]:
    found = set()
    for day, month, year in _DATES.findall(text):
        try:
            found.add(date(int(year), int(month), int(day)))
        except ValueError:
            continue
    return found


def _queue_alert_mail(
    conn: Connection,
    case_id: int,
    alert_id: int,
    partner_id: int | None,
    sender: str,
    subject: str | None,
    text: str,
    now: datetime,
) -> None:
    """The mail telling the case's counsellor of the alert: who wrote, and the start of what."""
    partner = None
    if partner_id is not None:
        partner = conn.execute(select(PARTNERS.c.name).where(PARTNERS.c.id == partner_id)).scalar()
    quoted = text if len(text) <= QUOTED_CHARS else text[:QUOTED_CHARS] + " […]"
    Outbox.queue_one(
        conn,
        now,
        case_id=case_id,
        entity="case",
        entity_id=case_id,
        template=TEMPLATE,
        recipient_role="counsellor",
        context={
            "data": {
                "alert_id": alert_id,
                "partner": partner or "",
                "sender": sender,
                "subject": subject or "",
                "text": quoted,
            },
            "links": [],
        },
    )
