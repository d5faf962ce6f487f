"""A counsellor with more actions than the dashboard lists: the line counted, its first twenty
shown, « Et N autres » opening the case list of the cases where an action waits, both pages
free of serious axe-core violations."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By

from tests.browser.conftest import Site
from tests.browser.test_staff_pages import heading, log_in, serious_violations, submit
from tests.factories import add_case
from tests.staff import staff_user


def test_the_other_actions_are_one_click_away(browser: Any, site: Site, axe_source: str) -> None:
    staff_user(site.app, "bastien")
    for _ in range(22):
        add_case(site.app, referent="bastien", state="consent_asked")
    log_in(browser, site, "bastien")
    assert heading(browser) == "Tableau de bord"
    group = browser.find_element(By.CSS_SELECTOR, "section.actions")
    assert group.find_element(By.TAG_NAME, "h3").text == "Consentement à recueillir (22)"
    assert len(group.find_elements(By.TAG_NAME, "li")) == 20
    assert serious_violations(browser, axe_source) == []
    submit(browser, group.find_element(By.LINK_TEXT, "tous les dossiers où une action vous attend"))
    assert heading(browser) == "Dossiers où une action attend"
    assert browser.find_element(By.ID, "a_faire").is_selected()
    assert len(browser.find_elements(By.CSS_SELECTOR, "table.liste tbody tr")) == 22
    assert serious_violations(browser, axe_source) == []
