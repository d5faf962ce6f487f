"""The dashboard and the case page in a real browser: the dashboard lists the counsellor's own
cases and their actions, a monthly contact recorded from the case page (with the mouse, and
with the keyboard only), a referral to a proposed partner, and a refused action showing its
reason beside its form. Each test has a counsellor of its own: the site is the session's."""

from __future__ import annotations

from datetime import date
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.select import Select
from sqlalchemy import select

from casework.models.tables import CONTACT_LOGS, SHEETS
from tests.browser.conftest import Site
from tests.browser.navigation import navigate
from tests.browser.test_staff_pages import heading, log_in, submit
from tests.factories import add_case, add_contact, add_partner
from tests.staff import staff_user


def main_text(browser: Any) -> str:
    return str(browser.find_element(By.TAG_NAME, "main").text)


def contacts_of(site: Site, case_id: int) -> list[Any]:
    with site.app.db.read() as conn:
        return list(conn.execute(select(CONTACT_LOGS).where(CONTACT_LOGS.c.case_id == case_id)))


def refuse_a_minors_consent(browser: Any, site: Site, case_id: int) -> None:
    """Post a minor's consent without the guardian's agreement, from the case page."""
    browser.get(f"{site.url}/dossiers/{case_id}#action-give_consent")
    form = browser.find_element(By.ID, "action-give_consent")
    Select(form.find_element(By.NAME, "given_by")).select_by_visible_text("l'apprenti(e)")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))


def test_the_dashboard_lists_the_counsellors_cases(browser: Any, site: Site) -> None:
    staff_user(site.app, "nadine")
    late = add_case(site.app, referent="nadine", state="consent_reminded", first_names="Hugo")
    due = add_case(site.app, referent="nadine", state="follow_up", cycle=2, first_names="Zoé")
    add_case(site.app, referent="paul", state="follow_up", cycle=2, first_names="Jules")
    log_in(browser, site, "nadine")
    assert heading(browser) == "Tableau de bord"
    text = main_text(browser)
    assert "2 dossiers dans votre périmètre" in text
    assert "Jules" not in text
    flagged = browser.find_element(By.CSS_SELECTOR, "li.retard")
    assert "En retard" in flagged.text
    assert "Hugo MARTIN" in flagged.text
    submit(browser, browser.find_element(By.LINK_TEXT, "Suivi mensuel"))
    assert heading(browser) == "Dossiers : Suivi mensuel"
    rows = browser.find_elements(By.CSS_SELECTOR, "table.liste tbody tr")
    assert [r.find_element(By.TAG_NAME, "td").text for r in rows] == [str(due)]
    browser.get(site.url)
    submit(browser, browser.find_element(By.LINK_TEXT, "Enregistrer la réponse"))
    assert browser.current_url.endswith(f"/dossiers/{late}#action-give_consent")


def test_recording_a_monthly_contact(browser: Any, site: Site) -> None:
    staff_user(site.app, "olivia")
    case_id = add_case(site.app, referent="olivia", state="follow_up", cycle=1)
    log_in(browser, site, "olivia")
    submit(browser, browser.find_element(By.LINK_TEXT, "Enregistrer le contact"))
    form = browser.find_element(By.ID, "action-record_contact")
    Select(form.find_element(By.NAME, "channel")).select_by_visible_text("visite")
    form.find_element(By.NAME, "duration_min").send_keys("45")
    form.find_element(By.XPATH, ".//label[normalize-space()='logement']").click()
    form.find_element(By.NAME, "notes").send_keys("Visite chez l'employeur.")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "Enregistré : Enregistrer un contact." in browser.find_element(By.ID, "resultat").text
    assert "1 contact, 45 minutes en tout" in main_text(browser)
    (contact,) = contacts_of(site, case_id)
    assert (contact.channel, contact.duration_min, contact.difficulties) == (
        "visit",
        45,
        ["housing"],
    )


def test_the_contact_form_with_the_keyboard_only(browser: Any, site: Site) -> None:
    staff_user(site.app, "pierre")
    case_id = add_case(site.app, referent="pierre", state="follow_up", cycle=1)
    log_in(browser, site, "pierre")
    # The dashboard's link to the form, reached with Tab, followed with Enter.
    for _ in range(40):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.text == "Enregistrer le contact":
            break
    navigate(browser, lambda: browser.switch_to.active_element.send_keys(Keys.ENTER))
    # From the form's anchor, Tab goes into the form: the channel first.
    browser.switch_to.active_element.send_keys(Keys.TAB)
    focused = browser.switch_to.active_element
    assert focused.get_attribute("id") == "action-record_contact-channel"
    focused.send_keys("t")  # téléphone
    focused.send_keys(Keys.TAB)
    browser.switch_to.active_element.send_keys("15", Keys.TAB)
    browser.switch_to.active_element.send_keys(Keys.SPACE)  # the first difficulty: logement
    for _ in range(20):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.get_attribute("name") == "notes":
            break
    browser.switch_to.active_element.send_keys("Au téléphone.", Keys.TAB)
    assert browser.switch_to.active_element.text == "Enregistrer un contact"
    navigate(browser, lambda: browser.switch_to.active_element.send_keys(Keys.ENTER))
    assert "Enregistré : Enregistrer un contact." in main_text(browser)
    (contact,) = contacts_of(site, case_id)
    assert (contact.channel, contact.duration_min, contact.difficulties, contact.notes) == (
        "phone",
        15,
        ["housing"],
        "Au téléphone.",
    )


def test_referring_to_a_partner(browser: Any, site: Site) -> None:
    staff_user(site.app, "quentin")
    case_id = add_case(site.app, referent="quentin", state="follow_up", cycle=1, postcode="53000")
    partner = add_partner(site.app, name="Foyer des jeunes travailleurs", departements=["53"])
    add_contact(site.app, partner, "accueil@fjt.example")
    log_in(browser, site, "quentin")
    browser.get(f"{site.url}/dossiers/{case_id}#action-refer")
    section = browser.find_element(By.ID, "action-refer")
    Select(section.find_element(By.NAME, "besoin")).select_by_visible_text("logement")
    submit(browser, section.find_element(By.XPATH, ".//button[.='Voir les partenaires proposés']"))
    section = browser.find_element(By.ID, "action-refer")
    choice = section.find_element(By.XPATH, ".//label[contains(., 'Foyer des jeunes')]")
    assert "intervient dans le département du jeune" in choice.text
    choice.click()
    section.find_element(By.NAME, "description").send_keys("Cherche un logement près du CFA")
    section.find_element(By.XPATH, './/label[contains(., "Le jeune est d\'accord")]').click()
    submit(browser, section.find_element(By.XPATH, ".//form[@method='post']//button"))
    assert "La fiche de liaison est créée en brouillon" in main_text(browser)
    with site.app.db.read() as conn:
        sheet = conn.execute(select(SHEETS).where(SHEETS.c.case_id == case_id)).one()
    assert (sheet.partner_id, sheet.state) == (partner, "draft")
    title = browser.find_element(By.ID, f"titre-fiche-{sheet.id}").text
    assert title == f"Fiche n° {sheet.id} : logement, vers Foyer des jeunes travailleurs"


def test_a_refused_action_shows_its_reason(browser: Any, site: Site) -> None:
    staff_user(site.app, "rose")
    case_id = add_case(
        site.app, referent="rose", state="consent_asked", birth_date=date(2011, 3, 4)
    )
    log_in(browser, site, "rose")
    refuse_a_minors_consent(browser, site, case_id)
    reason = browser.find_element(By.ID, "refus-action-give_consent")
    assert reason.text == (
        "Rien n'a été enregistré. L'apprenti(e) est mineur(e) : l'accord du représentant "
        "légal est nécessaire."
    )
    assert heading(browser) == f"Dossier n° {case_id} : Léa MARTIN"
