"""Erasure on request (art. 17 RGPD): every category of one person's data at once, in one
transaction, without waiting for the retention durations.

Refused while one of the person's cases is still followed: consent is withdrawn first (the
`withdraw_consent` transition), or the case ends. A case in a final state, in a state where
nobody follows it (tagged `tracked` or `no_contact`: the control group's), or in
`consent_withdrawn` is not followed.

What stays is the exception art. 17.3.d allows: the coded, pseudonymised follow-up data (group,
states and their dates, needs, contacts' durations, assessments' codes, age at the contract's
start, sex, département) for the programme's evaluation; the access log, which names no one but
a case number; and the audit trail's events, without their free text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, delete, select

from casework.actors import Actor
from casework.app import App
from casework.chunks import chunks
from casework.errors import CaseworkError
from casework.models.tables import CASES, CONTRACTS, LINKS, PEOPLE, REJECTS
from casework.names import fold
from casework.privacy import anonymise
from casework.privacy.requests import Request, record_request
from casework.states.definition import WorkflowDef
from casework.steering import NOT_FOLLOWED

# A state C's consent withdrawal leads to: follow-up stopped, case kept for statistics.
CONSENT_WITHDRAWN = "consent_withdrawn"
KEPT = (
    "Les données codées et pseudonymisées du suivi (groupe, états et dates, besoins, durées "
    "des contacts, bilans, âge au début du contrat, sexe, département) sont gardées pour "
    "l'évaluation du dispositif (article 17.3.d du RGPD) ; le journal des consultations ne "
    "nomme que le numéro du dossier."
)


class StillFollowed(CaseworkError):
    def __init__(self, case_id: int, state: str, way_out: str):
        self.case_id, self.state, self.way_out = case_id, state, way_out
        super().__init__(f"case {case_id} is still followed ({state})")

    def french(self) -> str:
        return (
            f"Le dossier n° {self.case_id} est encore en cours (état « {self.state} ») : "
            f"{self.way_out}. Rien n'a été effacé."
        )


@dataclass
class Erasure:
    person_id: int
    cases: list[int]
    inbound: int
    outbox: int


def followed_case(app: App, conn: Connection, person_id: int) -> tuple[int, str, str] | None:
    """One of the person's cases still under way: its number, its state and what ends it now
    (in French, by the labels of the actions its state offers), or None."""
    rows = conn.execute(
        select(CASES.c.id, CASES.c.workflow_name, CASES.c.workflow_version, CASES.c.state)
        .where(CASES.c.beneficiary_id == person_id)
        .order_by(CASES.c.id)
    ).all()
    for row in rows:
        definition = app.workflows.find(row.workflow_name, row.workflow_version)
        state = definition.states.get(row.state) if definition is not None else None
        if row.state == CONSENT_WITHDRAWN or state is None:
            continue  # withdrawn; or a workflow no longer loaded: nothing follows it any more
        if state.final or set(NOT_FOLLOWED) & set(state.tags):
            continue
        return row.id, state.label or row.state, _way_out(definition, row.state)
    return None


# The actions that end a case at the person's request, before and after consent.
_ENDING = ("withdraw_consent", "decline")


def _way_out(definition: WorkflowDef, state: str) -> str:
    """What to do first, by the label of the action the state offers: « Retrait du
    consentement » once consent was given, the refusal before."""
    offered = [
        t.label or t.trigger for t in definition.transitions_from(state) if t.trigger in _ENDING
    ]
    if offered:
        return f"enregistrez d'abord l'action « {offered[0]} » sur ce dossier, puis recommencez"
    return "attendez la fin du dossier"


def _identifiers(conn: Connection, person_id: int) -> list[str]:
    """What names the person in a rejected row of a file: contract numbers, Mission Locale
    number, e-mail, phone (folded); and their birth name, when a first name is beside it."""
    person = conn.execute(select(PEOPLE).where(PEOPLE.c.id == person_id)).one()
    numbers = conn.execute(
        select(CONTRACTS.c.cma_number).where(CONTRACTS.c.beneficiary_id == person_id)
    ).scalars()
    found = [*numbers, person.ml_id, person.email, person.phone, person.guardian_email]
    return [fold(str(v)) for v in found if v]


def _forget_rejects(conn: Connection, identifiers: list[str]) -> None:
    """Rejected rows are kept as written, tied to no person (they were not taken): those that
    hold one of the person's identifiers go. Read whole: a file's rejects are a few rows."""
    if not identifiers:
        return
    gone = [
        row.id
        for row in conn.execute(select(REJECTS.c.id, REJECTS.c.cells))
        if any(fold(str(cell)) in identifiers for cell in row.cells or [])
    ]
    for part in chunks(gone):
        conn.execute(delete(REJECTS).where(REJECTS.c.id.in_(part)))


def erase(app: App, person_id: int, reason: str, actor: Actor, now: datetime) -> Erasure:
    """Anonymise the person's identity, free text, mails and imported rows, and record the
    request, in one transaction; or refuse (`StillFollowed`) and write nothing."""
    with app.db.transaction() as conn:
        followed = followed_case(app, conn, person_id)
        if followed is not None:
            raise StillFollowed(*followed)
        cases = [
            int(i)
            for i in conn.execute(
                select(CASES.c.id).where(CASES.c.beneficiary_id == person_id).order_by(CASES.c.id)
            ).scalars()
        ]
        _forget_rejects(conn, _identifiers(conn, person_id))
        anonymise.anonymise_people(conn, [person_id], now)
        anonymise.purge_notes(conn, cases, now, anonymise.free_text_keys(app.workflows))
        inbound, outbox = anonymise.mails_of(conn, cases) if cases else ([], [])
        for part in chunks(inbound):
            anonymise.purge_inbound(conn, part, now)
        for part in chunks(outbox):
            anonymise.purge_outbox(conn, part, now)
        links = conn.execute(select(LINKS.c.id).where(LINKS.c.case_id.in_(cases))).scalars()
        for part in chunks(list(links)):
            anonymise.purge_links(conn, part)
        record_request(
            conn,
            person_id,
            Request.ERASURE,
            actor,
            now,
            reason=reason,
            cases=cases,
            kept=KEPT,
        )
    return Erasure(person_id, cases, len(inbound), len(outbox))
