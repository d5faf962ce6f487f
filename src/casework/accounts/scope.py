"""Who may see which case, as one SQL condition on `cases` and one check for a single case.

- a counsellor: the cases they are the referent of;
- a manager: the cases whose young person lives in a département of their territory (the
  département intake read from the postcode), and those they are the referent of; every case
  when their territory is empty (not limited, `casework.territory`);
- an administrator: every case;
- an evaluator: no named case (aggregates and pseudonymised exports only, elsewhere).

The condition is a subquery on `beneficiaries`, not a join: a list query adds it as it is. A
case outside the scope is said not to exist (the pages answer 404, not 403: a forbidden answer
would confirm that the number is a case).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, Connection, false, func, or_, select, true

from casework.errors import CaseworkError
from casework.models import Role
from casework.models.tables import CASES, PEOPLE

# Every role that may sign in; the pages narrow it down.
STAFF = frozenset(Role)
# Who sees named cases at all.
NAMED_CASES = frozenset({Role.COUNSELLOR, Role.MANAGER, Role.ADMINISTRATOR})
# Who imports the organisations' files and reviews their cross-matching: whole files, before
# any case (no territory narrows them).
INTAKE_STAFF = frozenset({Role.MANAGER, Role.ADMINISTRATOR})


class CaseNotFound(CaseworkError):
    """No such case, or one the person may not see: the same answer."""

    def __init__(self, case_id: object):
        super().__init__(f"case {case_id!r} not found or out of scope")

    def french(self) -> str:
        return "Ce dossier n'existe pas, ou vous n'y avez pas accès."


def visible_cases(user: Any) -> ColumnElement[bool]:
    """A condition on `CASES` true for the cases `user` (a `users` row) may see."""
    role = Role(user.role)
    if role == Role.ADMINISTRATOR:
        return true()
    if role == Role.COUNSELLOR:
        return CASES.c.referent == user.login
    if role == Role.MANAGER:
        if not user.territory:
            return true()
        living_there = select(PEOPLE.c.id).where(PEOPLE.c.departement.in_(list(user.territory)))
        return or_(CASES.c.referent == user.login, CASES.c.beneficiary_id.in_(living_there))
    return false()


def check_case(conn: Connection, user: Any, case_id: int) -> None:
    """CaseNotFound unless `case_id` is a case `user` may see."""
    found = conn.execute(
        select(CASES.c.id).where(CASES.c.id == case_id, visible_cases(user))
    ).first()
    if found is None:
        raise CaseNotFound(case_id)


def count_visible(conn: Connection, user: Any) -> int:
    """How many cases `user` may see (the dashboard's first figure)."""
    query = select(func.count()).select_from(CASES).where(visible_cases(user))
    return int(conn.execute(query).scalar_one())
