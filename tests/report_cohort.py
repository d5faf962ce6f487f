"""Cohorts with exactly known marginals, for the report's tests: people, contracts and cases
written straight into the tables (test set-up only; the report only reads)."""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime

from sqlalchemy import insert

from casework.app import App, build_app
from casework.clock import Clock
from casework.models import Beneficiary, Case, Contract
from casework.settings import EvaluationSettings, Settings

_numbers = itertools.count(1)
COHORT = 2026


@dataclass(frozen=True)
class Person:
    group: str = "test"
    start: date = date(2026, 9, 1)
    birth: date = date(2008, 3, 1)
    sex: str | None = "F"
    level: int | None = 3
    status: str | None = "apprentice"
    diploma: str | None = "CAP Boulanger"
    departement: str | None = "53"
    rupture: date | None = None
    end: date = date(2028, 8, 31)
    state: str | None = None
    exit_kind: str | None = None
    state_since: datetime | None = None


def add_cohort(app: App, people: list[Person], cohort: int = COHORT) -> list[int]:
    """The cases' ids, in order."""
    now = app.clock.now()
    ids = []
    with app.db.transaction() as conn:
        for p in people:
            n = next(_numbers)
            person = conn.execute(
                insert(Beneficiary).returning(Beneficiary.id),
                {
                    "birth_name": f"Nom{n}",
                    "first_names": "Camille",
                    "birth_date": p.birth,
                    "sex": p.sex,
                    "departement": p.departement,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            contract = conn.execute(
                insert(Contract).returning(Contract.id),
                {
                    "beneficiary_id": person,
                    "cma_number": f"R-{n}",
                    "start_date": p.start,
                    "planned_end_date": p.end,
                    "rupture_date": p.rupture,
                    "diploma_level": p.level,
                    "learner_status": p.status,
                    "diploma": p.diploma,
                    "created_at": now,
                    "updated_at": now,
                },
            ).scalar_one()
            state = p.state or (
                ("rupture" if p.group == "test" else "rupture_recorded")
                if p.rupture
                else ("follow_up" if p.group == "test" else "outcome_tracking")
            )
            ids.append(
                conn.execute(
                    insert(Case).returning(Case.id),
                    {
                        "beneficiary_id": person,
                        "contract_id": contract,
                        "cohort": cohort,
                        "group": p.group,
                        "assignment_method": "parity",
                        "workflow_name": "case",
                        "workflow_version": 1,
                        "state": state,
                        "version": 1,
                        "state_since": p.state_since or datetime(2026, 9, 1, tzinfo=UTC),
                        "exit_kind": p.exit_kind,
                        "created_at": now,
                        "updated_at": now,
                    },
                ).scalar_one()
            )
    return ids


@contextmanager
def keyed_app(settings: Settings, clock: Clock, key: str) -> Iterator[App]:
    """An app whose exports are keyed with `key` (`[evaluation] pseudonym_key`)."""
    keyed = build_app(dataclasses.replace(settings, evaluation=EvaluationSettings(key)), clock)
    try:
        yield keyed
    finally:
        keyed.close()
