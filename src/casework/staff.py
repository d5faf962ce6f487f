"""The people who use casework: adding, changing, deactivating and reactivating them, and what
each one follows.

Each change is an event (`entity = "user"`, no case), append-only like every event: who did it,
when, and why for a deactivation. Deactivating someone who still follows cases hands them over
first (`casework.handover`), in the same transaction as revoking their links and marking them
inactive: either all of it happens, or nothing does. Without a successor it is refused while
they follow any case, saying how many. The last active administrator stays one: neither
deactivated nor given another role, or nobody could administer the staff pages.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, func, insert, select, update

from casework.accounts.sessions import end_sessions
from casework.actors import Actor
from casework.audit import record_event
from casework.handover import Handover, HandoverRefused, hand_over, is_open, open_cases_of
from casework.models import Role
from casework.models.tables import CASES, EVENTS, USERS
from casework.models.user import REFERENT_ROLES
from casework.notify.render import is_usable_address
from casework.notify.revocation import revoke_links

if TYPE_CHECKING:
    from casework.app import App
    from casework.states.catalog import WorkflowSet


class StaffRefused(HandoverRefused):
    """A change to a user that cannot be made, said in French; nothing was written.
    `on_page`: the same said for the staff pages, where there is no command to type."""

    def __init__(self, message: str, on_page: str | None = None):
        super().__init__(message)
        self.on_page = on_page or message


@dataclass(frozen=True)
class Deactivated:
    handover: Handover
    links: int  # working links revoked


def user_row(conn: Connection, login: str, lock: bool = False) -> Any:
    """The user, locked against a concurrent assignment or handover when `lock` (PostgreSQL:
    those take it FOR SHARE; SQLite's write lock already serialises them)."""
    query = select(USERS).where(USERS.c.login == login)
    found = conn.execute(query.with_for_update() if lock else query).first()
    if found is None:
        raise StaffRefused(f"Utilisateur « {login} » inconnu : voir `casework users list`.")
    return found


def any_user(conn: Connection) -> bool:
    """Whether anyone was ever added: only the very first user is added by nobody."""
    return conn.execute(select(USERS.c.id).limit(1)).first() is not None


def add_user(
    conn: Connection,
    *,
    login: str,
    name: str,
    email: str,
    role: Role,
    territory: Sequence[str],
    by: Actor,
    now: datetime,
) -> int:
    if conn.execute(select(USERS.c.active).where(USERS.c.login == login)).first() is not None:
        raise StaffRefused(
            f"« {login} » existe déjà : pour modifier ses informations, "
            f"`casework users update {login}`.",
            on_page=f"« {login} » existe déjà : modifiez ses informations depuis sa page.",
        )
    _check_address(conn, email, login)
    user_id = conn.execute(
        insert(USERS).returning(USERS.c.id),
        {
            "login": login,
            "name": name,
            "email": email.strip(),
            "role": role,
            "territory": list(territory),
            "active": True,
            "created_at": now,
        },
    ).scalar_one()
    details = {"role": role.value, "territory": list(territory)}
    _record(conn, user_id, "add", by, now, details)
    return int(user_id)


def update_user(
    conn: Connection,
    workflows: WorkflowSet,
    login: str,
    changes: Mapping[str, Any],
    *,
    by: Actor,
    now: datetime,
) -> list[str]:
    """Change some of name, email, role and territory; returns the names of the fields that
    changed. Never reactivates (see `reactivate`)."""
    user = user_row(conn, login)
    changed = {k: v for k, v in changes.items() if v is not None and v != getattr(user, k)}
    if "email" in changed:
        _check_address(conn, changed["email"], login)
        changed["email"] = changed["email"].strip()
    if "role" in changed and changed["role"] not in REFERENT_ROLES:
        _refuse_while_following(conn, workflows, login, successor_option=False)
    if "role" in changed:
        _refuse_last_administrator(conn, user, "lui donner un autre rôle")
    if "territory" in changed:
        changed["territory"] = list(changed["territory"])
    if changed:
        conn.execute(update(USERS).where(USERS.c.id == user.id).values(**changed))
        # Which fields changed, and their values but the address: an address is personal data,
        # and is in the users table.
        details = {k: (str(v) if k == "role" else v) for k, v in changed.items() if k != "email"}
        _record(conn, user.id, "update", by, now, {"fields": sorted(changed), **details})
    return sorted(changed)


def deactivate(
    app: App,
    conn: Connection,
    login: str,
    *,
    successor: str | None,
    reason: str,
    by: Actor,
) -> Deactivated:
    """Hand the person's open cases to `successor` (or refuse while they have some), revoke
    every working link sent to them, and mark them inactive, in the caller's transaction."""
    now = app.clock.now()
    # Locked first: an assignment or a handover giving them cases meanwhile waits for this
    # transaction, then finds them inactive; one that got there first is seen below.
    user = user_row(conn, login, lock=True)
    if not user.active:
        raise StaffRefused(f"« {login} » est déjà désactivé(e).")
    _refuse_last_administrator(conn, user, "le désactiver")
    others = select(USERS.c.id).where(USERS.c.active.is_(True), USERS.c.id != user.id)
    if conn.execute(others.limit(1)).first() is None:
        raise StaffRefused(
            f"« {login} » est le dernier utilisateur actif : nul ne pourrait plus agir. "
            "Ajoutez d'abord qui prendra la suite."
        )
    if successor is None:
        _refuse_while_following(conn, app.workflows, login, successor_option=True)
    # Every working link first, with the person's reason (the handover then finds none left).
    links = revoke_links(conn, user_email=user.email, by=by, reason=reason, now=now)
    handover = Handover()
    if successor is not None:
        handover = hand_over(app, conn, login, successor, by, reason)
    conn.execute(update(USERS).where(USERS.c.id == user.id).values(active=False))
    # Signed in on the staff pages: signed out now (an inactive user's session is refused
    # anyway; ended, it stays so after a reactivation).
    end_sessions(conn, user.id, now)
    details = {"reason": reason, "to": successor, "cases": len(handover.moved), "links": links}
    _record(conn, user.id, "deactivate", by, now, details)
    return Deactivated(handover, links)


def reactivate(conn: Connection, login: str, *, reason: str, by: Actor, now: datetime) -> None:
    """The person may act and receive mail again; the links revoked when they left stay so."""
    user = user_row(conn, login)
    if user.active:
        raise StaffRefused(f"« {login} » est déjà actif(ve).")
    conn.execute(update(USERS).where(USERS.c.id == user.id).values(active=True))
    _record(conn, user.id, "reactivate", by, now, {"reason": reason})


# -- looking -----------------------------------------------------------------------------------


def caseloads(conn: Connection, workflows: WorkflowSet) -> dict[str, int]:
    """Open cases per referent (through the referent-and-state index)."""
    query = (
        select(CASES.c.referent, func.count())
        .where(CASES.c.referent.is_not(None), is_open(workflows))
        .group_by(CASES.c.referent)
    )
    return {login: int(n) for login, n in conn.execute(query)}


def users_with_caseload(
    conn: Connection, workflows: WorkflowSet, role: Role | None = None
) -> list[tuple[Any, int]]:
    """Every user (active first, then by login), with their open cases."""
    query = select(USERS).order_by(USERS.c.active.desc(), USERS.c.login)
    if role is not None:
        query = query.where(USERS.c.role == role)
    loads = caseloads(conn, workflows)
    return [(u, loads.get(u.login, 0)) for u in conn.execute(query)]


def caseload_by_state(conn: Connection, workflows: WorkflowSet, login: str) -> list[Any]:
    """(state, group, count, workflow_name, workflow_version) of a referent's open cases, most
    frequent state first (a state is a state of its own workflow)."""
    n = func.count().label("n")
    by = (CASES.c.state, CASES.c.group, CASES.c.workflow_name, CASES.c.workflow_version)
    query = (
        select(CASES.c.state, CASES.c.group, n, *by[2:])
        .where(CASES.c.referent == login, is_open(workflows))
        .group_by(*by)
        .order_by(n.desc(), *by)
    )
    return list(conn.execute(query))


def user_events(conn: Connection, user_id: int) -> list[Any]:
    query = select(EVENTS).where(EVENTS.c.entity == "user", EVENTS.c.entity_id == user_id)
    return list(conn.execute(query.order_by(EVENTS.c.id)))


# -- internals -----------------------------------------------------------------------------------


def _check_address(conn: Connection, email: str, login: str) -> None:
    """A usable address, and nobody else's: links are revoked and a link's person found by
    address, so two users sharing one would act and leave as one."""
    if not is_usable_address(email):
        raise StaffRefused(f"« {email.strip()[:80]} » n'est pas une adresse électronique.")
    other = conn.execute(
        select(USERS.c.login).where(
            func.lower(USERS.c.email) == email.strip().lower(), USERS.c.login != login
        )
    ).scalar()
    if other is not None:
        raise StaffRefused(f"« {email.strip()[:80]} » est déjà l'adresse de « {other} ».")


def _refuse_while_following(
    conn: Connection, workflows: WorkflowSet, login: str, successor_option: bool
) -> None:
    count = len(open_cases_of(conn, workflows, login))
    if not count:
        return
    cases, them = ("dossiers en cours", "les") if count > 1 else ("dossier en cours", "le")
    command = f"`casework cases handover --from {login} --to IDENTIFIANT`"
    todo = f"transférez-{them} d'abord ({command})"
    on_page = f"confiez-{them} d'abord à un conseiller ou un responsable"
    if successor_option:
        todo = f"indiquez qui {them} reprend (--to IDENTIFIANT), ou {todo}"
        on_page = f"choisissez qui {them} reprend"
    said = f"« {login} » suit encore {count} {cases} : "
    raise StaffRefused(f"{said}{todo}.", on_page=f"{said}{on_page}.")


def _refuse_last_administrator(conn: Connection, user: Any, what: str) -> None:
    """The last active administrator stays one (`what`: what would leave none, said of the
    account: « le désactiver »)."""
    if user.role != Role.ADMINISTRATOR or not user.active:
        return
    others = select(USERS.c.id).where(
        USERS.c.role == Role.ADMINISTRATOR, USERS.c.active.is_(True), USERS.c.id != user.id
    )
    if conn.execute(others.limit(1)).first() is None:
        raise StaffRefused(
            f"« {user.login} » est le seul compte administrateur actif : {what} laisserait la "
            "plateforme sans administrateur. Nommez d'abord un autre administrateur."
        )


def _record(
    conn: Connection, user_id: int, what: str, by: Actor, now: datetime, data: dict[str, Any]
) -> None:
    record_event(conn, "user", user_id, what, by, now, data)
