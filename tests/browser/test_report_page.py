"""The report page in a real browser: an evaluator opens it from the nav, reads the cohorts
and the two forms, asks for an export the server cannot make (no pseudonym key on the test
site) and reads why beside the form; axe-core on each view, screenshots."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from tests.browser.conftest import Site
from tests.browser.test_case_pages import main_text
from tests.browser.test_sheet_pages import shot
from tests.browser.test_staff_pages import heading, log_in, serious_violations, submit
from tests.report_cohort import Person, add_cohort
from tests.staff import staff_user


def test_an_evaluator_opens_the_report_page(browser: Any, site: Site, axe_source: str) -> None:
    staff_user(site.app, "evelyne", role="evaluator")
    add_cohort(site.app, [Person("test"), Person("control"), Person("test")], cohort=2031)
    log_in(browser, site, "evelyne")
    submit(browser, browser.find_element(By.LINK_TEXT, "Rapport d'évaluation"))
    assert heading(browser) == "Rapport d'évaluation"
    text = main_text(browser)
    assert "2031 2 1 3" in text
    assert "Télécharger le rapport" in text
    assert "L'export est impossible : aucune clé de pseudonymisation n'est réglée" in text
    assert serious_violations(browser, axe_source) == []
    shot(browser, "rapport_evaluation")
    export = browser.find_element(By.ID, "form-export")
    export.find_element(By.CSS_SELECTOR, "option[value='2031']").click()
    submit(browser, export.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Rien n'a été exporté" in browser.find_element(By.ID, "refus-export").text
    assert serious_violations(browser, axe_source) == []
