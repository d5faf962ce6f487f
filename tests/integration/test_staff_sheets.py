"""The liaison sheets' page over HTTP, on both databases: the open sheets of each role's scope
(a counsellor's own, a manager's territory, all for an administrator, none for an evaluator),
overdue first then by nearest charter deadline on a fixed clock, the deadlines as the mails
state them, the filters by partner and overdue only, the pages, and the access log."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from casework.accounts.access_log import read_access_log
from casework.actors import Actor
from casework.app import App
from casework.clock import FixedClock
from tests.factories import add_case, add_partner, add_sheet
from tests.integration.test_staff_case_pages import in_territory, signed_in, text_of
from tests.staff import staff_user


def sent(app: App, case_id: int, partner_id: int, *then: str) -> int:
    sheet_id = add_sheet(app, case_id=case_id, partner_id=partner_id)
    app.engine.fire_sheet(sheet_id, "send", Actor.person("claire"))
    for trigger in then:
        app.engine.fire_sheet(sheet_id, trigger, Actor.partner("accueil@foyer.example"))
    return sheet_id


def listed(page: Any) -> list[int]:
    """The sheets' numbers, in the page's order."""
    return [int(n) for n in re.findall(r"#titre-fiche-(\d+)\">Fiche", page.text)]


@pytest.fixture
def season(app: App, clock: FixedClock) -> dict[str, Any]:
    """Sheets sent on Tuesday 1 September 2026 and Friday 4 September (the charter's 3 working
    days to acknowledge, 10 to report back): seen on Wednesday 9 September."""
    for login in ("claire", "paul"):
        staff_user(app, login)
    foyer = add_partner(app, name="Foyer de Laval")
    mission = add_partner(app, name="Mission Locale de Laval", kind="mission_locale")
    mine = add_case(app, referent="claire", state="follow_up", cycle=1, first_names="Inès")
    theirs = add_case(app, referent="paul", state="follow_up", cycle=1, first_names="Jules")
    in_territory(app, mine, "53")
    in_territory(app, theirs, "72")
    late = sent(app, mine, foyer)  # to acknowledge by Friday 4 September
    clock.advance(timedelta(days=3))
    soon = sent(app, mine, mission)  # by Wednesday 9 September
    taken = sent(app, mine, foyer, "acknowledge")  # report back by 18 September
    draft = add_sheet(app, case_id=mine, partner_id=foyer)
    done = sent(app, mine, mission)
    app.engine.fire_sheet(done, "give_feedback", Actor.person("claire"), feedback="Vu")
    app.engine.fire_sheet(done, "close", Actor.person("claire"))
    other = sent(app, theirs, foyer)
    clock.advance(timedelta(days=5))
    return dict(
        foyer=foyer,
        mission=mission,
        mine=mine,
        theirs=theirs,
        late=late,
        soon=soon,
        taken=taken,
        draft=draft,
        done=done,
        other=other,
    )


def test_a_counsellor_sees_her_open_sheets_overdue_first(app: App, season: dict[str, Any]) -> None:
    s = season
    page = signed_in(app, "claire").get("/fiches")
    assert page.status_code == 200
    assert listed(page) == [s["late"], s["soon"], s["taken"], s["draft"]]
    read = text_of(page)
    assert (
        f"En retard Fiche n° {s['late']} Inès MARTIN Foyer de Laval logement "
        "Envoyée, accusé de réception attendu, depuis le 01/09/2026 au plus tard le 04/09/2026 "
        "dans les 10 jours ouvrés après l'accusé de réception"
    ) in read
    assert f"Fiche n° {s['soon']} Inès MARTIN Mission Locale de Laval" in read
    assert "au plus tard le 09/09/2026" in read
    assert "reçu le 04/09/2026 au plus tard le 18/09/2026" in read
    assert read.count("En retard Fiche") == 1
    assert f'href="/dossiers/{s["mine"]}#titre-fiche-{s["late"]}"' in page.text
    assert "Jules" not in read
    with app.db.read() as conn:
        assert [(r.user_login, r.page) for r in read_access_log(conn)] == [("claire", "/fiches")]


def test_a_deadline_is_past_the_day_after_its_last_working_day(
    app: App, clock: FixedClock, season: dict[str, Any]
) -> None:
    s = season

    def overdue_at(when: datetime) -> list[int]:
        clock.set(when)
        return listed(signed_in(app, "claire").get("/fiches?retard=1"))

    # Friday 17:00 in Paris: the first one's last day; the Saturday after, before the reminder
    # of Monday morning: past.
    assert overdue_at(datetime(2026, 9, 4, 15, 0, tzinfo=UTC)) == []
    assert overdue_at(datetime(2026, 9, 5, 10, 0, tzinfo=UTC)) == [s["late"]]
    # Wednesday 17:00: the second one's last day; Thursday 07:00: past.
    assert overdue_at(datetime(2026, 9, 9, 15, 0, tzinfo=UTC)) == [s["late"]]
    assert overdue_at(datetime(2026, 9, 10, 5, 0, tzinfo=UTC)) == [s["late"], s["soon"]]


def test_filters_by_partner_and_overdue_only(app: App, season: dict[str, Any]) -> None:
    s = season
    client = signed_in(app, "claire")
    page = client.get(f"/fiches?partenaire={s['foyer']}")
    assert listed(page) == [s["late"], s["taken"], s["draft"]]
    assert "<h1>Fiches de liaison : Foyer de Laval</h1>" in page.text
    assert f'<option value="{s["foyer"]}" selected>' in page.text
    late = client.get(f"/fiches?partenaire={s['mission']}&retard=1")
    assert "Aucune fiche en cours en retard chez ce partenaire." in text_of(late)
    for garbage in ("partenaire=x&retard=oui&page=-3", "partenaire=99999"):
        assert client.get(f"/fiches?{garbage}").status_code == 200


def test_each_role_sees_the_sheets_of_its_scope(app: App, season: dict[str, Any]) -> None:
    s = season
    staff_user(app, "sophie", role="manager", territory=["72"])
    staff_user(app, "alex", role="administrator")
    staff_user(app, "eva", role="evaluator")
    assert listed(signed_in(app, "sophie").get("/fiches")) == [s["other"]]
    everything = listed(signed_in(app, "alex").get("/fiches"))
    assert sorted(everything) == sorted([s["late"], s["soon"], s["taken"], s["draft"], s["other"]])
    assert everything[0] == s["late"]
    eva = signed_in(app, "eva")
    assert eva.get("/fiches").status_code == 403
    assert 'href="/fiches"' not in eva.get("/").text


def test_the_list_is_paged(
    app: App, season: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    s = season
    monkeypatch.setattr("casework.web.staff.pages.sheets.PER_PAGE", 2)
    client = signed_in(app, "claire")
    first = client.get(f"/fiches?partenaire={s['foyer']}")
    assert listed(first) == [s["late"], s["taken"]]
    assert f'href="/fiches?partenaire={s["foyer"]}&amp;page=2">Page suivante' in first.text
    second = client.get(f"/fiches?partenaire={s['foyer']}&page=2")
    assert listed(second) == [s["draft"]]
    assert "Page suivante" not in second.text
    assert "Page précédente" in second.text


def test_a_sheet_marked_overdue_keeps_the_deadline_it_missed(
    app: App, clock: FixedClock, season: dict[str, Any]
) -> None:
    s = season
    clock.set(datetime(2026, 10, 1, 8, 0, tzinfo=UTC))
    app.sweeper.drain(clock.now())  # reminders, escalations, then the overdue marks
    page = signed_in(app, "claire").get("/fiches?retard=1")
    assert listed(page) == [s["late"], s["soon"], s["taken"]]
    assert (
        f"En retard Fiche n° {s['late']} Inès MARTIN Foyer de Laval logement En retard, depuis le "
        "01/10/2026 au plus tard le 04/09/2026"
    ) in text_of(page)


def test_a_managers_dashboard_counts_the_late_items_of_her_territory(
    app: App, season: dict[str, Any]
) -> None:
    staff_user(app, "sophie", role="manager", territory=["53"])
    staff_user(app, "alex", role="administrator")
    reminded = add_case(app, referent="paul", state="consent_reminded", first_names="Noé")
    in_territory(app, reminded, "53")
    page = signed_in(app, "sophie").get("/")
    read = text_of(page)
    assert (
        "Retards dans votre territoire Consentement à recueillir (relancé) : 1 "
        "Fiches de liaison en retard : 1 Actions du jour"
    ) in read
    assert 'href="/dossiers?etat=consent_reminded"' in page.text
    assert 'href="/fiches?retard=1"' in page.text
    # Her own actions stay her own: none of her colleagues' cases.
    assert "Aucune action n'attend pour le moment dans vos dossiers." in read
    everything = text_of(signed_in(app, "alex").get("/"))
    assert "Retards sur tous les dossiers Consentement à recueillir (relancé) : 1" in everything
    # A counsellor's dashboard is as it was: her own actions, no count of others'.
    assert "Retards" not in text_of(signed_in(app, "claire").get("/"))


def test_a_sheet_in_an_overdue_state_is_overdue_whatever_its_timers(
    app: App, season: dict[str, Any]
) -> None:
    s = season
    marked = add_sheet(app, case_id=s["mine"], partner_id=s["mission"], state="overdue")
    page = signed_in(app, "claire").get("/fiches")
    assert listed(page) == [s["late"], marked, s["soon"], s["taken"], s["draft"]]
    assert text_of(page).count("En retard Fiche") == 2
    staff_user(app, "alex", role="administrator")
    assert "Fiches de liaison en retard : 2" in text_of(signed_in(app, "alex").get("/"))
