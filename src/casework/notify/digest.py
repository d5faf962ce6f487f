"""The counsellor's daily digest: one mail per counsellor per working day, listing the actions
due, each with its signed link; no mail when nothing is due.

Once only: the `digests` row (unique per login and day) is inserted in the same transaction as
the queued mail. A second process, or a second beat, that tries the same day hits the unique
constraint and rolls back, mail included. A service that was down at the digest hour sends the
day's digest when it comes back, the same day; a day entirely missed is not sent late.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, time
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Select,
    and_,
    exists,
    false,
    insert,
    or_,
    select,
)
from sqlalchemy.exc import IntegrityError

from casework.app import App
from casework.clock import to_local
from casework.models.beneficiary import display_name
from casework.models.tables import CASES, CONTACT_LOGS, DIGESTS, PEOPLE, SHEETS, USERS
from casework.models.user import REFERENT_ROLES
from casework.notify.outbox import Outbox
from casework.notify.render import paris_date
from casework.states.definition import WorkflowDef

log = logging.getLogger("casework.digest")
MAX_ITEMS = 200  # a longer list is cut (the mail says how many more)


@dataclass(frozen=True)
class DueAction:
    """Rows of the workflows `keys` in `states` wait for the counsellor to fire `trigger`: a
    digest line the workflow files declare (`digest:`), shared by the versions that agree."""

    entity: str
    keys: tuple[tuple[str, int], ...]  # (workflow, version)
    states: tuple[str, ...]
    trigger: str
    what: str  # what the digest line says, in French
    action: str  # the link's text
    unless: str | None = None  # a filter of `DIGEST_FILTERS`


def due_actions(workflows: Iterable[WorkflowDef]) -> list[DueAction]:
    """Every digest line, cases' first, each workflow's in its file's order."""
    found: dict[tuple[Any, ...], list[tuple[str, int]]] = {}
    for wf in sorted(workflows, key=lambda wf: (wf.entity != "case", wf.key)):
        for due in wf.digest:
            line = (wf.entity, due.states, due.trigger, due.says, due.link, due.unless)
            found.setdefault(line, []).append(wf.key)
    return [
        DueAction(entity, tuple(keys), states, trigger, what, action, unless)
        for (entity, states, trigger, what, action, unless), keys in found.items()
    ]


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
        items = due_items(conn, login, self.app.workflows)
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


def due_items(
    conn: Connection, login: str, workflows: Iterable[WorkflowDef]
) -> list[dict[str, Any]]:
    return [
        due_item(due, row)
        for due in due_actions(workflows)
        for row in conn.execute(due_query(login, due))
    ]


def due_item(due: DueAction, row: Any) -> dict[str, Any]:
    """One line of the digest: `due`'s action on a row of `due_query`."""
    return {
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


def waiting(due: DueAction) -> ColumnElement[bool]:
    """The rows (cases, or sheets: `SHEETS`) on which `due` waits for the counsellor."""
    table = SHEETS if due.entity == "liaison" else CASES
    condition = and_(
        or_(
            *(
                and_(table.c.workflow_name == name, table.c.workflow_version == version)
                for name, version in due.keys
            )
        ),
        table.c.state.in_(due.states),
    )
    if due.unless == "contacted_in_state":  # this month's check-in is done
        contacted = exists().where(
            and_(CONTACT_LOGS.c.case_id == CASES.c.id, CONTACT_LOGS.c.at >= CASES.c.state_since)
        )
        condition = and_(condition, ~contacted)
    return condition


def case_is_due(workflows: Iterable[WorkflowDef]) -> ColumnElement[bool]:
    """A case on which something waits for its counsellor now: what their digest lists
    (`casework case list --due`)."""
    actions = due_actions(workflows)
    on_cases = [waiting(due) for due in actions if due.entity == "case"]
    on_sheets = [waiting(due) for due in actions if due.entity == "liaison"]
    return or_(
        false(), *on_cases, exists().where(SHEETS.c.case_id == CASES.c.id, or_(false(), *on_sheets))
    )


def due_query(login: str | ColumnElement[str], due: DueAction) -> Select[Any]:
    """The rows (cases or sheets) on which `due` waits for `login` (or a bound parameter: the
    dashboard builds its queries once), oldest first, with their person's names and their
    state (the dashboard tells late ones from it)."""
    people = (PEOPLE.c.first_names, PEOPLE.c.birth_name)
    table = SHEETS if due.entity == "liaison" else CASES
    case_id = CASES.c.id.label("case_id") if table is CASES else SHEETS.c.case_id
    query = select(
        table.c.id,
        case_id,
        table.c.entered_version,
        table.c.state_since,
        table.c.state,
        table.c.workflow_name,
        table.c.workflow_version,
        *people,
    )
    if table is SHEETS:
        query = query.join(CASES, CASES.c.id == SHEETS.c.case_id)
    query = query.join(PEOPLE, PEOPLE.c.id == CASES.c.beneficiary_id)
    return query.where(CASES.c.referent == login, waiting(due)).order_by(
        table.c.state_since, table.c.id
    )
