"""The pages behind the links in mails, clicked in a real browser: the form a counsellor opens
from a mail records the step. (With `Referrer-Policy: no-referrer` Chromium sent
`Origin: null` with the page's own form and every such click was refused by the CSRF check;
HTTP clients send no Origin and never showed it.)"""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select

from casework.actors import Actor
from casework.notify.links import LinkRequest, LinkSigner
from tests.browser.conftest import Site
from tests.browser.test_staff_pages import heading, serious_violations, submit
from tests.factories import add_case
from tests.staff import staff_user


def consent_link(site: Site, referent: str) -> str:
    """A link to record a consent, as the consent request mail carries one."""
    app = site.app
    staff_user(app, referent)  # a link answers its recipient only while they are active
    case_id = add_case(app, referent=referent)  # nobody the staff tests count cases of
    done = app.engine.fire_case(case_id, "ask_consent", Actor.system())
    request = LinkRequest(
        "case", case_id, case_id, "give_consent", done.version, f"{referent}@ml.example", "person"
    )
    with app.db.transaction() as conn:
        (token,) = LinkSigner.from_settings(app.settings.mail).create(
            conn, [request], app.clock.now()
        )
    return f"{site.url}/l/{token}"


def test_a_link_page_form_records_the_step_when_clicked(browser: Any, site: Site) -> None:
    link = consent_link(site, "nadia")
    browser.get(link)
    assert heading(browser) == "Consentement recueilli"
    Select(browser.find_element(By.NAME, "given_by")).select_by_value("apprentice")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Merci, c'est enregistré" in browser.find_element(By.TAG_NAME, "body").text
    browser.get(link)  # the link acts once
    assert "Déjà enregistré" in browser.find_element(By.TAG_NAME, "body").text


def test_a_link_page_passes_axe_core_with_and_without_errors(
    browser: Any, site: Site, axe_source: str
) -> None:
    browser.get(consent_link(site, "liens_axe"))
    assert serious_violations(browser, axe_source) == []
    # Posted without its required choice (the browser's own check bypassed): the error shown
    # beside its field, tied to it.
    browser.execute_script("document.querySelector('form').noValidate = true")
    submit(browser, browser.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Merci de corriger" in browser.find_element(By.TAG_NAME, "body").text
    field = browser.find_element(By.NAME, "given_by")
    assert field.get_attribute("aria-invalid") == "true"
    described = browser.find_element(By.ID, field.get_attribute("aria-describedby"))
    assert described.text
    assert serious_violations(browser, axe_source) == []
