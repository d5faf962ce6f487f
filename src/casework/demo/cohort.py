"""A demo cohort in the database: partners, apprentices, contracts, and their cases."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from casework.actors import Actor
from casework.app import App
from casework.demo.data import insert_partners, insert_people
from casework.demo.people import COUNSELLOR
from casework.models import Role, User

# Where the demo counsellor's mail goes (the local mail catcher takes any address).
COUNSELLOR_EMAIL = "claire.martin@mission-locale.example"


def seed_cohort(app: App, n_cases: int, cohort: int, seed: int) -> dict[int, str]:
    """Create the cohort's cases in one transaction; returns each case's person's name.

    Groups follow the pilot's second year: birth-day parity (even: test, odd: control)."""
    with app.db.transaction() as conn:
        conn.execute(
            insert(User),
            {
                "login": COUNSELLOR.id,
                "name": "Claire Martin",
                "email": COUNSELLOR_EMAIL,
                "role": Role.COUNSELLOR,
                "active": True,
                "created_at": app.clock.now(),
            },
        )
        insert_partners(conn, app.clock.now())
        people = insert_people(conn, app.clock.now(), n_cases, cohort, seed)
        ids = app.engine.create_cases(
            conn,
            Actor.importer("demo"),
            [
                {
                    "beneficiary_id": p.beneficiary_id,
                    "contract_id": p.contract_id,
                    "cohort": cohort,
                    "group": "test" if p.birth_date.day % 2 == 0 else "control",
                    "assignment_method": "parity",
                    "referent": COUNSELLOR.id,
                }
                for p in people
            ],
        )
    return {case_id: p.name for case_id, p in zip(ids, people, strict=True)}


def wipe_sqlite(app: App) -> None:
    """Start the demo from an empty SQLite file (never touches any other database)."""
    if not app.db.is_sqlite:
        raise ValueError("the demo only wipes SQLite databases")
    app.db.dispose()
    path = app.db.url.database
    if path and path != ":memory:":
        for suffix in ("", "-wal", "-shm"):
            Path(path + suffix).unlink(missing_ok=True)
