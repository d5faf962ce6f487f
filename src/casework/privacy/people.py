"""Which young person a privacy command is about: by their number, or by one of their cases'.

Rights are a person's, not a case's (one person may have had several contracts, so several
cases); counsellors know case numbers, so both are accepted.
"""

from __future__ import annotations

from sqlalchemy import Connection, select

from casework.errors import CaseworkError
from casework.models.tables import CASES, PEOPLE


class UnknownPerson(CaseworkError):
    def __init__(self, person_id: int | None = None, case_id: int | None = None):
        self.person_id, self.case_id = person_id, case_id
        super().__init__(f"no person {person_id}" if case_id is None else f"no case {case_id}")

    def french(self) -> str:
        if self.case_id is not None:
            return f"Aucun dossier n° {self.case_id}."
        return f"Aucune personne n° {self.person_id}."


def find_person(conn: Connection, person_id: int | None, case_id: int | None) -> int:
    """The person's number, checked: given as is, or as that of the case's young person."""
    if case_id is not None:
        found = conn.execute(
            select(CASES.c.beneficiary_id).where(CASES.c.id == case_id)
        ).scalar_one_or_none()
        if found is None:
            raise UnknownPerson(case_id=case_id)
        return int(found)
    exists = conn.execute(select(PEOPLE.c.id).where(PEOPLE.c.id == person_id)).first()
    if exists is None:
        raise UnknownPerson(person_id=person_id)
    return int(person_id)  # type: ignore[arg-type]


def cases_of(conn: Connection, person_id: int) -> list[int]:
    """The person's cases, oldest first."""
    rows = conn.execute(
        select(CASES.c.id).where(CASES.c.beneficiary_id == person_id).order_by(CASES.c.id)
    )
    return [int(r) for r in rows.scalars()]
