"""The quarantine and the directories in a real browser: a quarantined mail attached to a liaison
sheet, an administrator adding a partner's contact and a user, and axe-core on each of these
pages (with their forms, and with a refusal shown). Each test has people of its own: the site
is the session's."""

from __future__ import annotations

from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.support.select import Select
from sqlalchemy import select

from casework.models.tables import CONTACTS, INBOUND, SHEETS, USERS
from tests.browser.conftest import Site
from tests.browser.test_case_pages import main_text
from tests.browser.test_staff_pages import heading, log_in, serious_violations, submit
from tests.factories import add_case, add_contact, add_partner, add_sheet
from tests.integration.test_staff_quarantine import quarantined
from tests.staff import staff_user


def a_waiting_sheet(site: Site, referent: str) -> int:
    case_id = add_case(site.app, referent=referent, state="follow_up", cycle=1)
    return add_sheet(site.app, state="sent", case_id=case_id)


def test_attaching_a_quarantined_mail_to_a_sheet(browser: Any, site: Site) -> None:
    staff_user(site.app, "marius", role="manager")  # no territory: every case
    sheet = a_waiting_sheet(site, "paul")
    mail = quarantined(site.app, "Re: votre fiche", text="Bien reçu, <b>nous appelons</b>.")
    log_in(browser, site, "marius")
    submit(browser, browser.find_element(By.LINK_TEXT, "Quarantaine"))
    assert heading(browser) == "Quarantaine"
    article = browser.find_element(By.ID, f"courriel-{mail}")
    assert "Bien reçu, <b>nous appelons</b>." in article.text  # shown as text, not as HTML
    form = browser.find_element(By.ID, f"courriel-{mail}-fiche")
    form.find_element(By.NAME, "numero").send_keys(str(sheet))
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    notice = browser.find_element(By.ID, "resultat").text
    assert notice == f"Courriel n° {mail} : rattaché à la fiche n° {sheet} par marius."
    with site.app.db.read() as conn:
        assert conn.execute(select(SHEETS.c.state).where(SHEETS.c.id == sheet)).scalar() == (
            "acknowledged"
        )
        assert conn.execute(select(INBOUND.c.status).where(INBOUND.c.id == mail)).scalar() == (
            "recorded"
        )


def test_an_administrator_adds_a_partners_contact(browser: Any, site: Site) -> None:
    staff_user(site.app, "adele", role="administrator")
    partner = add_partner(site.app, name="Résidence Habitat Jeunes", departements=["53"])
    log_in(browser, site, "adele")
    submit(browser, browser.find_element(By.LINK_TEXT, "Partenaires"))
    submit(browser, browser.find_element(By.PARTIAL_LINK_TEXT, "Résidence Habitat Jeunes"))
    form = browser.find_element(By.ID, "contact")
    form.find_element(By.NAME, "courriel").send_keys("accueil@rhj.example")
    form.find_element(By.NAME, "nom").send_keys("Inès Garnier")
    Select(form.find_element(By.NAME, "role")).select_by_value("responsable")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert browser.find_element(By.ID, "resultat").text == "Le contact est enregistré."
    assert "Responsable ajouté : accueil@rhj.example (par adele)" in main_text(browser)
    with site.app.db.read() as conn:
        contact = conn.execute(select(CONTACTS).where(CONTACTS.c.partner_id == partner)).one()
    assert (contact.name, contact.role) == ("Inès Garnier", "manager")


def test_an_administrator_adds_a_user(browser: Any, site: Site) -> None:
    staff_user(site.app, "basile", role="administrator")
    log_in(browser, site, "basile")
    submit(browser, browser.find_element(By.LINK_TEXT, "Utilisateurs"))
    form = browser.find_element(By.ID, "ajouter")
    form.find_element(By.NAME, "identifiant").send_keys("noemie")
    form.find_element(By.NAME, "nom").send_keys("Noémie Lebrun")
    form.find_element(By.NAME, "courriel").send_keys("noemie@ml.example")
    Select(form.find_element(By.NAME, "role")).select_by_visible_text("responsable d'équipe")
    form.find_element(By.NAME, "territoire").send_keys("53, 72")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert heading(browser) == "Noémie Lebrun"
    assert "La personne est ajoutée." in browser.find_element(By.ID, "resultat").text
    with site.app.db.read() as conn:
        added = conn.execute(select(USERS).where(USERS.c.login == "noemie")).one()
    assert (added.role, added.territory, added.active) == ("manager", ["53", "72"], True)


def test_these_pages_pass_axe_core(browser: Any, site: Site, axe_source: str) -> None:
    staff_user(site.app, "celeste", role="administrator")
    quarantined(site.app, "Sans dossier", text="Bonjour,\nune question.")
    partner = add_partner(site.app, name="Point Santé Jeunes", needs=("health",))
    lost = add_contact(site.app, partner, "sante@psj.example")
    with site.app.db.transaction() as conn:
        conn.execute(CONTACTS.update().where(CONTACTS.c.id == lost).values(unreachable=True))
    log_in(browser, site, "celeste")
    pages = {}
    for name, path in (
        ("quarantine", "/quarantaine"),
        ("partners", "/partenaires?besoin=health"),
        ("partner with its forms", f"/partenaires/{partner}"),
        ("users", "/utilisateurs"),
        ("user with its forms", "/utilisateurs/claire"),
    ):
        browser.get(site.url + path)
        pages[name] = serious_violations(browser, axe_source)
    form = browser.find_element(By.ID, "desactiver")  # claire follows a case: refused
    form.find_element(By.NAME, "motif").send_keys("départ")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "choisissez qui le reprend" in browser.find_element(By.ID, "refus-desactiver").text
    pages["user with a refusal"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/quarantaine")
    form = browser.find_elements(By.CSS_SELECTOR, "form[id$='-fiche']")[0]
    form.find_element(By.NAME, "numero").send_keys("999999")
    submit(browser, form.find_element(By.CSS_SELECTOR, "button[type=submit]"))
    assert "introuvable" in main_text(browser)
    pages["quarantine with a refusal"] = serious_violations(browser, axe_source)
    assert pages == {name: [] for name in pages}
