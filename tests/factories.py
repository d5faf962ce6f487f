"""Test set-up helpers: people, cases and sheets created through the engine."""

from __future__ import annotations

import itertools
from datetime import date
from typing import Any

from sqlalchemy import insert, update

from casework.actors import Actor
from casework.app import App
from casework.models import (
    Beneficiary,
    Case,
    Contract,
    Event,
    LiaisonSheet,
    Partner,
    PartnerContact,
    User,
)

_cma_numbers = itertools.count(1)

# Link keys for the tests, 32 bytes or more as casework requires; the old one signed before a
# rotation, the new one signs now.
OLD_KEY = "test-key-old-0123456789abcdefghijk"
NEW_KEY = "test-key-new-0123456789abcdefghijk"
OTHER_KEY = "someone-else-s-key-0123456789abcd"


def add_person(
    app: App,
    *,
    birth_date: date = date(2000, 5, 4),
    start: date = date(2026, 9, 1),
    birth_name: str = "Martin",
    first_names: str = "Léa Marie",
    training_centre_uai: str | None = None,
    postcode: str | None = None,
) -> tuple[int, int]:
    """A beneficiary and a contract; returns (beneficiary_id, contract_id)."""
    now = app.clock.now()
    with app.db.transaction() as conn:
        beneficiary_id = conn.execute(
            insert(Beneficiary).returning(Beneficiary.id),
            {
                "birth_name": birth_name,
                "first_names": first_names,
                "birth_date": birth_date,
                "sex": "F",
                "phone": "0600000000",
                "postcode": postcode,
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
        contract_id = conn.execute(
            insert(Contract).returning(Contract.id),
            {
                "beneficiary_id": beneficiary_id,
                "cma_number": f"T-{next(_cma_numbers)}",
                "employer_name": "Boulangerie Dupont",
                "training_centre_uai": training_centre_uai,
                "start_date": start,
                "planned_end_date": date(start.year + 2, start.month, 1),
                "created_at": now,
                "updated_at": now,
            },
        ).scalar_one()
    return beneficiary_id, contract_id


def add_case(
    app: App,
    *,
    group: str = "test",
    state: str | None = None,
    cycle: int = 0,
    birth_date: date = date(2000, 5, 4),
    referent: str | None = "referente",
    workflow: str = "case",
    **person: Any,
) -> int:
    """A case created through the engine (in `workflow`, its latest version); `state`/`cycle`
    then set directly (test set-up only). `person` goes to `add_person` (names, training
    centre, postcode)."""
    beneficiary_id, contract_id = add_person(app, birth_date=birth_date, **person)
    with app.db.transaction() as conn:
        case_id = app.engine.create_case(
            conn,
            Actor.importer("tests"),
            beneficiary_id=beneficiary_id,
            contract_id=contract_id,
            cohort=2026,
            group=group,
            assignment_method="parity",
            referent=referent,
            workflow=workflow,
        )
        if state is not None:
            conn.execute(update(Case).where(Case.id == case_id).values(state=state, cycle=cycle))
    return case_id


def add_partner(
    app: App,
    needs: tuple[str, ...] = ("housing",),
    name: str | None = None,
    kind: str = "housing",
    uai: str | None = None,
    **more: Any,
) -> int:
    """A partner; `more` sets other columns (departements, postcodes, ack_days, active…)."""
    with app.db.transaction() as conn:
        return conn.execute(
            insert(Partner).returning(Partner.id),
            {
                "name": name or f"Partenaire {next(_cma_numbers)}",
                "kind": kind,
                "uai": uai,
                "need_categories": list(needs),
                "created_at": app.clock.now(),
                **more,
            },
        ).scalar_one()


def add_user(
    app: App,
    login: str = "referente",
    email: str = "claire.martin@ml.example",
    role: str = "counsellor",
) -> int:
    with app.db.transaction() as conn:
        return conn.execute(
            insert(User).returning(User.id),
            {
                "login": login,
                "name": "Claire Martin",
                "email": email,
                "role": role,
                "active": True,
                "created_at": app.clock.now(),
            },
        ).scalar_one()


def add_contact(
    app: App, partner_id: int, email: str, role: str = "contact", name: str = "Paul Durand"
) -> int:
    with app.db.transaction() as conn:
        return conn.execute(
            insert(PartnerContact).returning(PartnerContact.id),
            {
                "partner_id": partner_id,
                "name": name,
                "email": email,
                "role": role,
                "created_at": app.clock.now(),
            },
        ).scalar_one()


def add_sheet(
    app: App,
    *,
    state: str | None = None,
    consent: bool = True,
    partner_id: int | None = None,
    case_id: int | None = None,
) -> int:
    case_id = case_id or add_case(app, state="follow_up", cycle=1)
    partner_id = partner_id or add_partner(app)
    with app.db.transaction() as conn:
        sheet_id = app.engine.create_sheet(
            conn,
            Actor.person("referente"),
            case_id=case_id,
            partner_id=partner_id,
            need_category="housing",
            description="Cherche un logement près du CFA.",
            consent=consent,
        )
        if state is not None:
            conn.execute(
                update(LiaisonSheet).where(LiaisonSheet.id == sheet_id).values(state=state)
            )
    return sheet_id


def row(app: App, model: Any, entity_id: int) -> Any:
    with app.db.read() as conn:
        return conn.execute(model.__table__.select().where(model.id == entity_id)).one()


def events(app: App, entity: str | None = None, entity_id: int | None = None) -> list[Any]:
    stmt = Event.__table__.select().order_by(Event.id)
    if entity is not None:
        stmt = stmt.where(Event.entity == entity, Event.entity_id == entity_id)
    with app.db.read() as conn:
        return list(conn.execute(stmt).all())


def assign(app: App, cohort: int, method: str, **options: Any) -> Any:
    """An assignment as a season runs it: the test group followed by "referente" (the user is
    added when missing), unless the test says otherwise."""
    from sqlalchemy import select

    from casework.intake.assignment import assign as run
    from casework.intake.launch import Referents

    with app.db.read() as conn:
        known = conn.execute(select(User.id).where(User.login == "referente")).first()
    if known is None:
        add_user(app)
    options.setdefault("referents", Referents("referente"))
    return run(app, cohort, method, **options)
