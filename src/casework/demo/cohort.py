"""A demo cohort in the database: partners, apprentices, contracts, and their cases."""

from __future__ import annotations

import math
import random
import tempfile
from pathlib import Path

from sqlalchemy import bindparam, insert, select, update

from casework.actors import Actor
from casework.app import App
from casework.demo.data import insert_partners
from casework.demo.people import COUNSELLOR
from casework.intake.assignment import assign
from casework.intake.importer import Importer
from casework.intake.launch import Referents
from casework.intake.matching import match
from casework.intake.sample_files import write_sample_files
from casework.models import Beneficiary, Case, Partner, Role, User
from casework.models.beneficiary import display_name
from casework.models.tables import PEOPLE

# The share of generated young people on both files (see `casework.intake.synthetic`).
OVERLAP = 0.6

# Where the demo counsellor's mail goes (the local mail catcher takes any address).
COUNSELLOR_EMAIL = "claire.martin@mission-locale.example"


def seed_cohort(app: App, n_cases: int, cohort: int, seed: int) -> dict[int, str]:
    """The cohort as a season makes it: the two organisations' files generated (about
    `n_cases` young people on both), imported, cross-matched, and the matched assigned by
    birth-day parity (the pilot's second year: even, test; odd, control). Returns each case's
    person's name."""
    now = app.clock.now()
    with app.db.transaction() as conn:
        conn.execute(
            insert(User),
            {
                "login": COUNSELLOR.id,
                "name": "Claire Martin",
                "email": COUNSELLOR_EMAIL,
                "role": Role.COUNSELLOR,
                "active": True,
                "created_at": now,
            },
        )
        insert_partners(conn, now)
    importer = Actor.importer("demo")
    with tempfile.TemporaryDirectory(prefix="casework-demo-") as folder:
        files = Path(folder)
        write_sample_files(files, math.ceil(n_cases / OVERLAP), seed=seed, cohort=cohort)
        for source, name in (("cma", "contrats_cma.csv"), ("ml", "jeunes_ml.xlsx")):
            Importer(app).run(
                files / name,
                source,
                actor=importer,
                skip_invalid=True,
                rejected_to=files / f"{source}.rejets.csv",
            )
    match(app, cohort)
    # Started by the simulated people at the service's first beat (on its clock), not here.
    assign(app, cohort, "parity", actor=importer, referents=Referents(COUNSELLOR.id), start=False)
    rng = random.Random(seed)
    with app.db.transaction() as conn:
        people = conn.execute(
            select(Case.id, Beneficiary.id.label("person"), Beneficiary.first_names)
            .add_columns(Beneficiary.birth_name)
            .join(Beneficiary, Beneficiary.id == Case.beneficiary_id)
            .where(Case.cohort == cohort)
            .order_by(Case.id)
        ).all()
        # The files have no phone numbers; the counsellor would have them after the first call.
        if people:
            conn.execute(
                update(PEOPLE)
                .where(PEOPLE.c.id == bindparam("person"))
                .values(phone=bindparam("phone")),
                [
                    {"person": row.person, "phone": f"06{rng.randrange(10**8):08d}"}
                    for row in people
                ],
            )
    return {row.id: display_name(row.first_names, row.birth_name) for row in people}


def demo_cases(app: App) -> tuple[frozenset[int], int | None, int | None]:
    """What `serve --demo` leaves to the person trying it — the first three test-group cases
    and the housing partner, which the simulation never acts for — and the first test-group
    case it does follow (the one the banner and the README show the history of)."""
    with app.db.read() as conn:
        tests = list(
            conn.execute(
                select(Case.id).where(Case.group == "test").order_by(Case.id).limit(4)
            ).scalars()
        )
        housing = conn.execute(
            select(Partner.id).where(Partner.kind == "housing").order_by(Partner.id).limit(1)
        ).scalar()
    example = tests[3] if len(tests) > 3 else None
    return frozenset(tests[:3]), example, housing
