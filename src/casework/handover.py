"""Handing cases over to another referent: one case (`casework case reassign`), all of a
person's (`casework cases handover`, and deactivating a user who still has some).

A handover is the case workflow's internal `reassign` transition, fired through the engine like
any other: the guard checks the new referent (`successor_refusal`), the handler changes
`cases.referent` and revokes the previous referent's working links for the case; the engine
writes the audit event (`from`, `to`, `reason`), checks the version, and batches many cases in
one transaction (`fire_many`). Nothing else writes `cases.referent` after a case is created.

What follows from it: mails are addressed when they are rendered (`notify/render.py` reads
`cases.referent` then), so every mail rendered after the handover goes to the new referent —
mails queued before it and not yet sent included. A mail already rendered and waiting for a
retry keeps its address (its links, the previous referent's, are revoked). The new referent gets
the actions waiting on the case through their daily digest, with fresh links.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, and_, or_, select

from casework.actors import Actor
from casework.errors import CaseworkError, TransitionRefused
from casework.labels import ROLE
from casework.models.tables import CASES, USERS
from casework.models.user import REFERENT_ROLES
from casework.notify.revocation import revoke_links
from casework.states.requirements import requires

if TYPE_CHECKING:  # the case workflow's handlers import this module
    from casework.app import App
    from casework.states.catalog import WorkflowSet

TRIGGER = "reassign"
# A handover fires it with the new referent's login and the reason (`cases start` too).
requires(
    "case",
    by="le changement de référent (handover.py)",
    triggers={TRIGGER: {"to": "text", "reason": "text"}},
)
# What the revocation events say (the reassignment's own event holds the person's reason).
REVOKE_REASON = "changement de référent"


class HandoverRefused(CaseworkError):
    """A handover that cannot be done, said in French; nothing was written."""


@dataclass
class Handover:
    """What a handover did: the cases moved, and those left because they had ended meanwhile."""

    moved: list[int] = field(default_factory=list)
    ended: list[int] = field(default_factory=list)


def final_states(workflows: WorkflowSet) -> frozenset[str]:
    return frozenset(
        name
        for definition in workflows
        if definition.entity == "case"
        for name, state in definition.states.items()
        if state.final
    )


def is_open(workflows: WorkflowSet) -> ColumnElement[bool]:
    """A case still followed: not in a final state (closed, exited). These are a referent's
    caseload, and what a handover moves."""
    finals = final_states(workflows)
    cases = [d for d in workflows if d.entity == "case"]
    if not any(name in d.states and not d.states[name].final for d in cases for name in finals):
        return CASES.c.state.not_in(sorted(finals))  # a final state is final wherever it is
    # A state final in one programme but not in another: each workflow its own final states.
    return or_(
        *(
            and_(
                CASES.c.workflow_name == d.name,
                CASES.c.workflow_version == d.version,
                CASES.c.state.not_in(sorted(n for n, s in d.states.items() if s.final)),
            )
            for d in cases
        )
    )


def successor_refusal(conn: Connection, login: str) -> str | None:
    """Why `login` cannot take cases over (in French), or None if they can: an active
    counsellor or manager."""
    # FOR SHARE: a deactivation of this person (FOR UPDATE) waits until the cases given here
    # are committed, and hands them over; or, first, leaves them inactive for this check.
    user = conn.execute(
        select(USERS.c.role, USERS.c.active)
        .where(USERS.c.login == login)
        .with_for_update(read=True)
    ).first()
    if user is None:
        return f"« {login} » n'est pas un utilisateur de casework"
    if not user.active:
        return f"« {login} » est un utilisateur désactivé"
    if user.role not in REFERENT_ROLES:
        role = ROLE.get(user.role, user.role)
        return f"« {login} » ne peut pas suivre de dossiers (rôle : {role})"
    return None


def revoke_previous_links(
    conn: Connection, login: str, case_id: int, by: Actor, now: datetime
) -> int:
    """Revoke the working links the previous referent holds for one case (with an event on
    its timeline, written by `revoke_links`)."""
    email = conn.execute(select(USERS.c.email).where(USERS.c.login == login)).scalar()
    if email is None:  # a referent who was never a user has no links
        return 0
    return revoke_links(
        conn, user_email=email, case_id=case_id, by=by, reason=REVOKE_REASON, now=now
    )


def open_cases_of(conn: Connection, workflows: WorkflowSet, login: str) -> list[int]:
    query = select(CASES.c.id).where(CASES.c.referent == login, is_open(workflows))
    return list(conn.execute(query.order_by(CASES.c.id)).scalars())


def reassign(
    app: App,
    case_id: int,
    to: str,
    by: Actor,
    reason: str = "",
    expected_version: int | None = None,
) -> Any:
    """Give one case to `to`; returns the engine's `Transitioned`. Raises TransitionRefused
    (with the guard's French reason) or VersionConflict, having written nothing."""
    data = {"to": to, **({"reason": reason} if reason else {})}
    return app.engine.fire_case(case_id, TRIGGER, by, expected_version, **data)


def hand_over(
    app: App,
    conn: Connection,
    source: str,
    to: str,
    by: Actor,
    reason: str = "",
) -> Handover:
    """Give every open case of `source` to `to`, in the caller's transaction (one batch)."""
    if source == to:
        raise HandoverRefused(f"« {to} » ne peut pas reprendre ses propres dossiers.")
    refusal = successor_refusal(conn, to)
    if refusal is not None:
        raise HandoverRefused(f"{refusal[0].upper()}{refusal[1:]}.")
    ids = open_cases_of(conn, app.workflows, source)
    data = {"to": to, **({"reason": reason} if reason else {})}
    result = app.engine.fire_many("case", ids, TRIGGER, by, data, conn=conn)
    done = Handover(moved=sorted(t.entity_id for t in result.applied))
    for refused in result.refused:
        if refused.reason != "state":  # the guard said no: the caller's transaction rolls back
            raise refused
        done.ended.append(refused.entity_id)  # closed between the list and the batch
    return done


def reassign_refused(error: TransitionRefused) -> str:
    """A refused reassignment, as people read it: the guard's reason, or the case has ended."""
    if error.reason == "guards" and error.detail:
        return f"Dossier {error.entity_id} : {error.detail}."
    if error.reason == "state":
        return f"Dossier {error.entity_id} : il est clos ; son référent ne change plus."
    return error.french()
