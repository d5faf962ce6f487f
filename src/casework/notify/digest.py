"""The counsellor's daily digest: one mail per counsellor per working day, listing the actions
due, each with its signed link; no mail when nothing is due.

Once only: the `digests` row (unique per login and day) is inserted in the same transaction as
the queued mail. A second process, or a second beat, that tries the same day hits the unique
constraint and rolls back, mail included. A service that was down at the digest hour sends the
day's digest when it comes back, the same day; a day entirely missed is not sent late.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import ColumnElement, Connection, and_, exists, insert, or_, select
from sqlalchemy.exc import IntegrityError

from casework.app import App
from casework.clock import to_local
from casework.models.beneficiary import display_name
from casework.models.tables import CASES, CONTACT_LOGS, DIGESTS, PEOPLE, SHEETS, USERS
from casework.models.user import REFERENT_ROLES
from casework.notify.outbox import Outbox
from casework.notify.render import paris_date

log = logging.getLogger("casework.digest")
MAX_ITEMS = 200  # a longer list is cut (the mail says how many more)


@dataclass(frozen=True)
class DueAction:
    """Rows in `states` wait for the counsellor to fire `trigger`."""

    entity: str
    states: tuple[str, ...]
    trigger: str
    what: str  # what the digest line says, in French
    action: str  # the link's text


DUE_ACTIONS = (
    DueAction(
        "case",
        ("consent_asked", "consent_reminded"),
        "give_consent",
        "Consentement à recueillir",
        "Enregistrer la réponse",
    ),
    # Only the cases not contacted since this month's cycle began (see `_due_rows`).
    DueAction("case", ("follow_up",), "record_contact", "Point mensuel", "Enregistrer le contact"),
    DueAction("case", ("rupture",), "start_reorientation", "Rupture à traiter", "Réorienter"),
    DueAction(
        "liaison", ("feedback_received",), "close", "Retour reçu d'un partenaire", "Clore la fiche"
    ),
    DueAction(
        "liaison",
        ("overdue",),
        "give_feedback",
        "Fiche en retard (appeler le partenaire)",
        "Noter son retour",
    ),
)


class DigestMaker:
    def __init__(self, app: App):
        self.app = app
        self.calendar = app.engine.timers.calendar
        hours, minutes = (int(p) for p in app.settings.mail.digest_time.split(":"))
        self.at = time(hours, minutes)

    def run(self, now: datetime) -> int:
        """Queue today's digests not made yet; returns how many mails were queued."""
        local = to_local(now)
        day = local.date()
        if not self.calendar.is_working_day(day) or local.time() < self.at:
            return 0
        with self.app.db.read() as conn:
            logins = list(
                conn.execute(
                    select(USERS.c.login)
                    .where(
                        # Managers may follow cases too (casework.models.user).
                        USERS.c.role.in_(sorted(REFERENT_ROLES)),
                        USERS.c.active.is_(True),
                        ~exists().where(
                            and_(DIGESTS.c.login == USERS.c.login, DIGESTS.c.day == day)
                        ),
                    )
                    .order_by(USERS.c.login)
                ).scalars()
            )
        queued = 0
        for login in logins:
            try:
                with self.app.db.transaction() as conn:
                    queued += self.make(conn, login, now)
            except IntegrityError:
                log.info("digest for %s on %s already made by another process", login, day)
        return queued

    def make(self, conn: Connection, login: str, now: datetime) -> int:
        day = to_local(now).date()
        items = due_items(conn, login)
        conn.execute(
            insert(DIGESTS),
            {"login": login, "day": day, "actions": len(items), "created_at": now},
        )
        if not items:
            return 0
        more = max(0, len(items) - MAX_ITEMS)
        Outbox.queue_one(
            conn,
            now,
            template="digest/daily",
            recipient_role="counsellor",
            context={"login": login, "items": items[:MAX_ITEMS], "more": more, "links": []},
        )
        log.info("digest for %s: %s actions", login, len(items))
        return 1


def due_items(conn: Connection, login: str) -> list[dict[str, Any]]:
    items = []
    for due in DUE_ACTIONS:
        for row in _due_rows(conn, login, due):
            items.append(
                {
                    "entity": due.entity,
                    "entity_id": row.id,
                    "case_id": row.case_id,
                    "trigger": due.trigger,
                    "entered_version": row.entered_version,
                    "what": due.what,
                    "action": due.action,
                    "who": display_name(row.first_names, row.birth_name),
                    "since": paris_date(row.state_since),
                }
            )
    return items


def waiting(due: DueAction) -> ColumnElement[bool]:
    """The rows (cases, or sheets: `SHEETS`) on which `due` waits for the counsellor."""
    if due.entity == "liaison":
        return SHEETS.c.state.in_(due.states)
    condition = CASES.c.state.in_(due.states)
    if due.trigger == "record_contact":  # not contacted since this month's cycle began
        contacted = exists().where(
            and_(CONTACT_LOGS.c.case_id == CASES.c.id, CONTACT_LOGS.c.at >= CASES.c.state_since)
        )
        condition = and_(condition, ~contacted)
    return condition


def case_is_due() -> ColumnElement[bool]:
    """A case on which something waits for its counsellor now: what their digest lists
    (`casework case list --due`)."""
    on_cases = [waiting(due) for due in DUE_ACTIONS if due.entity == "case"]
    on_sheets = or_(*(waiting(due) for due in DUE_ACTIONS if due.entity == "liaison"))
    return or_(*on_cases, exists().where(SHEETS.c.case_id == CASES.c.id, on_sheets))


def _due_rows(conn: Connection, login: str, due: DueAction) -> list[Any]:
    people = (PEOPLE.c.first_names, PEOPLE.c.birth_name)
    if due.entity == "case":
        query = (
            select(
                CASES.c.id,
                CASES.c.id.label("case_id"),
                CASES.c.entered_version,
                CASES.c.state_since,
                *people,
            )
            .join(PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id)
            .where(CASES.c.referent == login, waiting(due))
        )
        return list(conn.execute(query.order_by(CASES.c.state_since, CASES.c.id)))
    query = (
        select(
            SHEETS.c.id, SHEETS.c.case_id, SHEETS.c.entered_version, SHEETS.c.state_since, *people
        )
        .join(CASES, CASES.c.id == SHEETS.c.case_id)
        .join(PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id)
        .where(CASES.c.referent == login, waiting(due))
    )
    return list(conn.execute(query.order_by(SHEETS.c.state_since, SHEETS.c.id)))
