"""The steering page over HTTP, on both databases: its exact figures on a small built dataset
(the caseload per counsellor by state, open and overdue sheets per partner, ruptures and exits
this month and last, the service's timers and mails), a manager's territory against an
administrator's whole, no young person's name, and the roles that may not open it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update

from casework.app import App
from casework.clock import FixedClock
from casework.models import Case, Contract
from casework.models.tables import OUTBOX, TIMERS, USERS
from casework.notify.outbox import Outbox
from tests.factories import add_case, add_partner, add_sheet
from tests.integration.test_staff_case_pages import in_territory, signed_in, text_of
from tests.integration.test_staff_sheets import sent
from tests.staff import staff_user


def case_in(app: App, departement: str, **values: Any) -> int:
    case_id = add_case(app, first_names="Inès", **values)
    in_territory(app, case_id, departement)
    return case_id


def broke(app: App, case_id: int, on: date) -> None:
    with app.db.transaction() as conn:
        contract = select(Case.contract_id).where(Case.id == case_id).scalar_subquery()
        conn.execute(update(Contract).where(Contract.id == contract).values(rupture_date=on))


def left(app: App, case_id: int, state: str, kind: str, at: datetime) -> None:
    with app.db.transaction() as conn:
        conn.execute(
            update(Case)
            .where(Case.id == case_id)
            .values(state=state, exit_kind=kind, state_since=at)
        )


def table_rows(page: Any, heading: str) -> list[str]:
    """The rows of the table under `heading`, each as its text."""
    section = page.text[page.text.index(f">{heading}</h2>") :]
    table = section[: section.index("</table>")]
    rows = re.findall(r"<tr[^>]*>(.*?)</tr>", table, re.S)
    return [" ".join(re.sub(r"<[^>]+>", " ", r).split()) for r in rows]


def test_the_figures_of_a_territory_and_of_the_whole(app: App, clock: FixedClock) -> None:
    staff_user(app, "claire")
    staff_user(app, "paul")
    staff_user(app, "sophie", role="manager", territory=["53"])
    staff_user(app, "alex", role="administrator")
    with app.db.transaction() as conn:
        conn.execute(update(USERS).where(USERS.c.login == "paul").values(name="Paul Durand"))
    followed = [
        case_in(app, "53", referent="claire", state="follow_up", cycle=1),
        case_in(app, "53", referent="claire", state="follow_up", cycle=2),
        case_in(app, "53", referent="claire", state="consent_asked"),
        case_in(app, "53", referent="paul", state="follow_up", cycle=1),
        case_in(app, "72", referent="paul", state="consent_asked"),
    ]
    case_in(app, "53", referent=None, group="control", state="outcome_tracking")  # not followed
    case_in(app, "53", referent="claire", state="closed")  # final
    # Ruptures: this month (September 2026) in the test and control groups, last month, and
    # one out of the territory; exits this month and last.
    broke(app, followed[0], date(2026, 9, 1))
    broke(app, followed[1], date(2026, 8, 20))
    broke(app, followed[2], date(2026, 8, 31))
    control = case_in(app, "53", referent=None, group="control", state="rupture_recorded")
    broke(app, control, date(2026, 9, 1))
    broke(app, followed[4], date(2026, 9, 1))
    exits = [case_in(app, "53", referent="claire") for _ in range(3)]
    left(app, exits[0], "positive_exit", "job", datetime(2026, 8, 31, 23, 0, tzinfo=UTC))
    left(app, exits[1], "positive_exit", "training", datetime(2026, 8, 31, 21, 0, tzinfo=UTC))
    left(app, exits[2], "lost_contact", "lost_contact", datetime(2026, 8, 10, tzinfo=UTC))
    # Sheets: one overdue at the housing partner, one not yet; one at the Mission Locale.
    foyer = add_partner(app, name="Foyer de Laval")
    mission = add_partner(app, name="Mission Locale de Laval", kind="mission_locale")
    sent(app, followed[0], foyer)
    clock.advance(timedelta(days=7))
    sent(app, followed[1], foyer)
    add_sheet(app, case_id=followed[3], partner_id=mission)
    sent(app, followed[4], foyer)  # out of the territory
    # The service: a failed timer, a failed mail, a queued one.
    with app.db.transaction() as conn:
        conn.execute(update(TIMERS).where(TIMERS.c.id == 1).values(status="failed"))
        for status in ("failed", "queued"):
            mail = Outbox.queue_one(
                conn, clock.now(), template="digest/daily", recipient_role="counsellor", context={}
            )
            conn.execute(update(OUTBOX).where(OUTBOX.c.id == mail).values(status=status))

    page = signed_in(app, "sophie").get("/pilotage")
    assert page.status_code == 200
    assert table_rows(page, "Dossiers suivis par référent(e)") == [
        "Référent(e) Consentement à recueillir Suivi mensuel Total",
        "Claire Martin 1 2 3",
        "Paul Durand 0 1 1",
        "Total 1 3 4",
    ]
    assert table_rows(page, "Fiches de liaison par partenaire") == [
        "Partenaire Fiches en cours Dont en retard",
        "Foyer de Laval 2 1 en retard",
        "Mission Locale de Laval 1 0",
    ]
    assert f'href="/fiches?partenaire={foyer}&amp;retard=1"' in page.text
    assert table_rows(page, "Ruptures et sorties") == [
        "Ce qui s'est passé Septembre 2026 (en cours) Août 2026",
        "Ruptures, groupe test 1 2",
        "Ruptures, groupe témoin 1 0",
        "Sorties positives 1 1",  # 23:00 UTC on 31 August is September in Paris
        "Sorties sans solution 0 0",
        "Perdus de vue 0 1",
    ]
    read = text_of(page)
    assert "Aucun service n'a encore tourné sur cette base." in read
    assert "Minuteurs en échec 1" in read
    assert "Courriels en attente 4, dont 4 à envoyer maintenant" in read  # the sheets' too
    assert "Courriels en échec 1" in read
    assert "Inès" not in read
    assert "MARTIN" not in read

    whole = signed_in(app, "alex").get("/pilotage")
    assert table_rows(whole, "Dossiers suivis par référent(e)")[-1] == "Total 2 3 5"
    assert "Foyer de Laval 3 1 en retard" in table_rows(whole, "Fiches de liaison par partenaire")
    assert "Ruptures, groupe test 2 2" in table_rows(whole, "Ruptures et sorties")


def test_only_managers_and_administrators_open_it(app: App) -> None:
    staff_user(app, "claire")
    staff_user(app, "eva", role="evaluator")
    staff_user(app, "sophie", role="manager")
    for login in ("claire", "eva"):
        client = signed_in(app, login)
        assert client.get("/pilotage").status_code == 403
        assert 'href="/pilotage"' not in client.get("/").text
    page = signed_in(app, "sophie").get("/")
    assert 'href="/pilotage"' in page.text
    assert "Aucun dossier suivi." in text_of(signed_in(app, "sophie").get("/pilotage"))
