"""The liaison sheets' page, the steering page and a manager's dashboard in a real browser:
a counsellor's open sheets overdue first, filtered to the overdue ones, one opened on its case
page; a manager from her dashboard's late counts to the sheets, and her steering page to a
partner's overdue sheets; axe-core on each. Each test has people of its own (logins, a
département) on the session's site."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from selenium.webdriver.common.by import By
from sqlalchemy import select, update

from casework.actors import Actor
from casework.models import Beneficiary, Case
from casework.models.tables import TIMERS
from tests.browser.conftest import SCREENSHOTS, Site
from tests.browser.test_case_pages import main_text
from tests.browser.test_staff_pages import heading, log_in, serious_violations, submit
from tests.factories import add_case, add_partner, add_sheet
from tests.staff import staff_user


def sent_sheet(site: Site, case_id: int, partner_id: int, days_late: int | None = None) -> int:
    """A sheet sent now; `days_late`: its acknowledgement's deadline moved that far back."""
    app = site.app
    sheet_id = add_sheet(app, case_id=case_id, partner_id=partner_id)
    app.engine.fire_sheet(sheet_id, "send", Actor.person("tests"))
    if days_late is not None:
        past = app.clock.now() - timedelta(days=days_late)
        with app.db.transaction() as conn:
            conn.execute(
                update(TIMERS)
                .where(TIMERS.c.entity == "liaison", TIMERS.c.entity_id == sheet_id)
                .values(due_at=past)
            )
    return sheet_id


def shot(browser: Any, name: str) -> None:
    """A screenshot of a page the test passes through (the harness takes the last one)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"{name}.png"))


def living_in(site: Site, departement: str, *case_ids: int) -> None:
    people = select(Case.beneficiary_id).where(Case.id.in_(case_ids))
    with site.app.db.transaction() as conn:
        conn.execute(
            update(Beneficiary).where(Beneficiary.id.in_(people)).values(departement=departement)
        )


def test_a_counsellors_sheets_overdue_first(browser: Any, site: Site, axe_source: str) -> None:
    staff_user(site.app, "sheila")
    case_id = add_case(site.app, referent="sheila", state="follow_up", cycle=1, first_names="Lou")
    foyer = add_partner(site.app, name="Foyer des Lices")
    waiting = sent_sheet(site, case_id, foyer)
    late = sent_sheet(site, case_id, foyer, days_late=3)
    log_in(browser, site, "sheila")
    submit(browser, browser.find_element(By.LINK_TEXT, "Fiches de liaison"))
    assert heading(browser) == "Fiches de liaison"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.liste tbody tr")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == [
        f"En retard Fiche n° {late}",
        f"Fiche n° {waiting}",
    ]
    assert "Lou MARTIN" in rows[0].text
    assert serious_violations(browser, axe_source) == []
    shot(browser, "fiches_de_liaison")
    browser.find_element(By.CSS_SELECTOR, "input[name=retard]").click()
    submit(browser, browser.find_element(By.CSS_SELECTOR, "form.filtre button"))
    assert heading(browser) == "Fiches de liaison en retard"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.liste tbody tr")
    assert len(rows) == 1
    assert serious_violations(browser, axe_source) == []
    submit(browser, browser.find_element(By.LINK_TEXT, f"Fiche n° {late}"))
    assert heading(browser) == f"Dossier n° {case_id} : Lou MARTIN"
    assert browser.current_url.endswith(f"#titre-fiche-{late}")


def test_a_managers_dashboard_and_steering_page(browser: Any, site: Site, axe_source: str) -> None:
    staff_user(site.app, "marion", role="manager", territory=["29"])
    staff_user(site.app, "yann")
    mine = add_case(site.app, referent="yann", state="follow_up", cycle=1)
    reminded = add_case(site.app, referent="yann", state="consent_reminded")
    living_in(site, "29", mine, reminded)
    mission = add_partner(site.app, name="Mission Locale de Quimper", kind="mission_locale")
    sent_sheet(site, mine, mission, days_late=1)
    log_in(browser, site, "marion")
    text = main_text(browser)
    assert "Retards dans votre territoire" in text
    assert "Fiches de liaison en retard : 1" in text
    assert serious_violations(browser, axe_source) == []
    shot(browser, "tableau_de_bord_responsable")
    submit(browser, browser.find_element(By.LINK_TEXT, "Pilotage"))
    assert heading(browser) == "Pilotage"
    text = main_text(browser)
    assert "Claire Martin 1 1 2" in text  # yann, named as the factory names everyone
    assert "Mission Locale de Quimper 1 1 en retard" in text
    assert serious_violations(browser, axe_source) == []
    submit(browser, browser.find_element(By.LINK_TEXT, "1 en retard"))
    assert heading(browser) == "Fiches de liaison en retard : Mission Locale de Quimper"
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.liste tbody tr")) == 1
    browser.get(f"{site.url}/pilotage")  # the screenshot of the steering page
