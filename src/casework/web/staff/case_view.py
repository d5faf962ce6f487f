"""What the staff case page shows of one case, read in the caller's transaction: who the young
person is, the contract, the group and referent, the state by its label, the liaison sheets
with their next deadlines, and a timeline of everything, newest first — audit events in the
words of `casework history` (`wording.event`), mails sent with their delivery status, replies
received, alerts. It only reads; the caller has checked the scope.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, or_, select

from casework import wording
from casework.app import App
from casework.clock import format_local, to_local
from casework.labels import (
    ASSIGNMENT_METHOD,
    GROUP,
    INBOUND_STATUS,
    LEARNER_STATUS,
    MAIL_RECIPIENT,
    MAIL_STATUS,
    NEED_CATEGORY,
    RUPTURE_INITIATIVE,
)
from casework.models import TimerStatus
from casework.models.beneficiary import age_on, display_name
from casework.models.contract import UNKNOWN_EMPLOYER
from casework.models.tables import ALERTS, CONTACT_LOGS, INBOUND, OUTBOX, TIMERS, USERS
from casework.notify.render import paris_date
from casework.partners.directory import partner_names
from casework.queries import CaseDetail, case_detail, timeline

TIMELINE_PER_PAGE = 50


def when(at: datetime | None) -> str:
    """« 04/03/2026 à 14:05 », in Paris."""
    return format_local(at).replace(" ", " à ", 1) if at is not None else "—"


@dataclass
class Entry:
    """One line of the timeline."""

    at: datetime
    kind: str  # "event", "mail", "reply", "alert": the line's heading
    title: str
    detail: str = ""
    anchor: str = ""  # an id the dashboard links to ("alerte-3")
    unread_alert: int | None = None  # an alert not read yet: its number, for its button

    @property
    def at_text(self) -> str:
        return when(self.at)


@dataclass
class CaseView:
    detail: CaseDetail
    identity: list[tuple[str, str]]
    contract: list[tuple[str, str]]
    follow_up: list[tuple[str, str]]
    sheets: list[dict[str, Any]]
    entries: list[Entry] = field(default_factory=list)
    contacts: tuple[int, int] = (0, 0)  # how many, minutes in all
    timeline_page: int = 1
    older: bool = False  # a page of older lines follows

    def show_timeline_page(self, page: int) -> None:
        """Keep one page of the timeline, newest first. The first page also keeps every alert
        not read yet, however old: the dashboard links to it there (`#alerte-N`)."""
        start = (page - 1) * TIMELINE_PER_PAGE
        kept = self.entries[start : start + TIMELINE_PER_PAGE]
        if page == 1:
            kept += [e for e in self.entries[TIMELINE_PER_PAGE:] if e.unread_alert]
        self.older = len(self.entries) > start + TIMELINE_PER_PAGE
        self.timeline_page = page
        self.entries = kept


def read_case(app: App, conn: Connection, case_id: int) -> CaseView:
    detail = case_detail(conn, case_id)
    c, b, k = detail.case, detail.beneficiary, detail.contract
    definition = app.workflows.definition(c.workflow_name, c.workflow_version)
    today = to_local(app.clock.now()).date()
    if b.birth_date is None:  # anonymised (`casework.privacy`): the year only
        born = f"en {b.birth_year or 'année inconnue'} (données anonymisées)"
    else:
        age = age_on(b.birth_date, today)
        born = f"{paris_date(b.birth_date)} ({age} ans{', mineur(e)' if age < 18 else ''})"
    place = " ".join(p for p in (b.postcode, b.commune) if p)
    identity = [
        ("Nom", display_name(b.first_names, b.birth_name)),
        ("Prénoms", b.first_names),
        ("Naissance", born),
        ("Téléphone", b.phone or "non renseigné"),
        ("Courriel", b.email or "non renseigné"),
        ("Adresse", ", ".join(p for p in (b.address_line, place) if p) or "non renseignée"),
    ]
    if b.guardian_name:
        identity.append(
            ("Représentant légal", f"{b.guardian_name}, tél. {b.guardian_phone or '—'}")
        )
    contract = [
        ("Employeur", k.employer_name or UNKNOWN_EMPLOYER),
        ("Métier", k.employer_trade or "non renseigné"),
        (
            "Contrat",
            f"n° {k.cma_number}, du {paris_date(k.start_date)} au {paris_date(k.planned_end_date)}",
        ),
        ("Centre de formation", k.training_centre_name or "non renseigné"),
        ("Diplôme préparé", k.diploma or "non renseigné"),
        ("Statut", LEARNER_STATUS.get(k.learner_status or "", "non renseigné")),
    ]
    if k.rupture_date:
        initiative = RUPTURE_INITIATIVE.get(k.rupture_initiative or "", "initiative inconnue")
        contract.append(("Rupture", f"le {paris_date(k.rupture_date)} ({initiative})"))
    state = wording.state(definition, c.state)
    if c.cycle and "cycles" in definition.states[c.state].tags:
        state += f" (point {c.cycle} sur {definition.parameters.get('follow_up_cycles', '?')})"
    follow_up = [
        ("État", f"{state}, depuis le {paris_date(c.state_since)}"),
        (
            "Groupe",
            f"{GROUP.get(c.group, c.group)}, cohorte {c.cohort} "
            f"({ASSIGNMENT_METHOD.get(c.assignment_method, c.assignment_method)})",
        ),
        ("Référent(e)", _referent(conn, c.referent)),
        ("Programme", definition.label or definition.name),
    ]
    view = CaseView(detail, identity, contract, follow_up, _sheets(app, conn, detail))
    view.entries = sorted(
        _events(app, conn, detail)
        + _mails(conn, case_id)
        + _replies(conn, detail)
        + _alerts(conn, case_id),
        key=lambda e: e.at,
        reverse=True,
    )
    n, minutes = conn.execute(
        select(func.count(), func.coalesce(func.sum(CONTACT_LOGS.c.duration_min), 0)).where(
            CONTACT_LOGS.c.case_id == case_id
        )
    ).one()
    view.contacts = (int(n), int(minutes))
    return view


def _referent(conn: Connection, login: str | None) -> str:
    if login is None:
        return "aucun"
    user = conn.execute(select(USERS.c.name, USERS.c.active).where(USERS.c.login == login)).first()
    if user is None:
        return login
    return f"{user.name} ({login}{'' if user.active else ', désactivé(e)'})"


def _sheets(app: App, conn: Connection, detail: CaseDetail) -> list[dict[str, Any]]:
    """Each sheet with its state and its coming deadlines (its pending timers)."""
    if not detail.sheets:
        return []
    ids = [s.id for s in detail.sheets]
    pending = conn.execute(
        select(TIMERS.c.entity_id, TIMERS.c.trigger, TIMERS.c.due_at)
        .where(
            TIMERS.c.case_id == detail.case.id,
            TIMERS.c.entity == "liaison",
            TIMERS.c.entity_id.in_(ids),
            TIMERS.c.status == TimerStatus.PENDING.value,
        )
        .order_by(TIMERS.c.due_at)
    ).all()
    shown = []
    for s in detail.sheets:
        definition = app.workflows.find(s.workflow_name, s.workflow_version)
        shown.append(
            {
                "row": s,
                "need": NEED_CATEGORY.get(s.need_category, s.need_category),
                "partner": s.partner_name,
                "state": wording.state(definition, s.state),
                "since": paris_date(s.state_since),
                "sent": paris_date(s.sent_at) if s.sent_at else None,
                "description": s.description,
                "deadlines": [
                    (wording.action(definition, t.trigger), when(t.due_at))
                    for t in pending
                    if t.entity_id == s.id
                ],
            }
        )
    return shown


def _events(app: App, conn: Connection, detail: CaseDetail) -> list[Entry]:
    """The audit events of the case and its sheets, in `casework history`'s words."""
    events = timeline(conn, detail.case.id)
    named = set().union(*(wording.partner_ids(e.data or {}) for e in events))
    partners = partner_names(conn, named)
    case = app.workflows.find(detail.case.workflow_name, detail.case.workflow_version)
    sheets = [s for s in app.workflows if s.entity == "liaison"]
    definitions = {"case": case, "liaison": sheets[-1] if sheets else None}
    versions = {d.name: app.workflows.versions(d.name) for d in definitions.values() if d}
    entries = []
    for e in events:
        words = wording.event(e, definitions, versions, partners)
        on = "" if e.entity == "case" else f"Fiche n° {e.entity_id} : "
        entries.append(
            Entry(
                e.at,
                "Action",
                f"{on}{words.action}{words.step}",
                f"Par {words.who}" + (f" — {words.data}" if words.data else ""),
            )
        )
    return entries


def _mails(conn: Connection, case_id: int) -> list[Entry]:
    rows = conn.execute(
        select(
            OUTBOX.c.id,
            OUTBOX.c.created_at,
            OUTBOX.c.sent_at,
            OUTBOX.c.subject,
            OUTBOX.c.status,
            OUTBOX.c.recipients,
            OUTBOX.c.recipient_role,
        ).where(OUTBOX.c.case_id == case_id)
    ).all()
    entries = []
    for m in rows:
        to = ", ".join(m.recipients or []) or MAIL_RECIPIENT.get(m.recipient_role, "—")
        status = MAIL_STATUS.get(m.status, m.status)
        sent = f", le {when(m.sent_at)}" if m.sent_at else ""
        entries.append(
            Entry(
                m.sent_at or m.created_at,
                "Courriel envoyé",
                f"« {m.subject} »" if m.subject else "Courriel pas encore rédigé",
                f"À {to} : {status}{sent}.",
            )
        )
    return entries


def _replies(conn: Connection, detail: CaseDetail) -> list[Entry]:
    sheets = [s.id for s in detail.sheets]
    about = INBOUND.c.case_id == detail.case.id
    if sheets:
        about = or_(about, INBOUND.c.sheet_id.in_(sheets))
    rows = conn.execute(
        select(
            INBOUND.c.id,
            INBOUND.c.received_at,
            INBOUND.c.sender,
            INBOUND.c.subject,
            INBOUND.c.status,
            INBOUND.c.sheet_id,
        ).where(about, INBOUND.c.id.not_in(select(ALERTS.c.inbound_id)))
    ).all()
    return [
        Entry(
            r.received_at,
            "Réponse reçue",
            f"« {r.subject or 'sans objet'} », envoyée par {r.sender or 'un expéditeur inconnu'}",
            (f"Fiche n° {r.sheet_id} : " if r.sheet_id else "")
            + f"{INBOUND_STATUS.get(r.status, r.status)}.",
        )
        for r in rows
    ]


def _alerts(conn: Connection, case_id: int) -> list[Entry]:
    rows = conn.execute(
        select(
            ALERTS.c.id,
            ALERTS.c.created_at,
            ALERTS.c.sender,
            ALERTS.c.seen_at,
            ALERTS.c.seen_by,
            INBOUND.c.subject,
            INBOUND.c.text,
        )
        .join(INBOUND, INBOUND.c.id == ALERTS.c.inbound_id)
        .where(ALERTS.c.case_id == case_id)
    ).all()
    return [
        Entry(
            a.created_at,
            "Alerte d'un partenaire",
            f"« {a.subject or 'sans objet'} », envoyée par {a.sender}",
            (a.text or "")[:2000],
            anchor=f"alerte-{a.id}",
            unread_alert=None if a.seen_at else a.id,
        )
        for a in rows
    ]
