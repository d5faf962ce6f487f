"""The staff pages in a real browser: signing in (with the mouse and with the keyboard only),
a wrong password then throttling, signing out for good, a case out of scope, and axe-core's
accessibility check of the pages (the dashboard, the case list and the case page with its
forms and a refusal among them)."""

from __future__ import annotations

from datetime import date
from typing import Any

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from tests.browser.conftest import Site
from tests.browser.navigation import navigate
from tests.factories import add_case
from tests.staff import PASSWORD, staff_user

AXE_RUN = """
const done = arguments[arguments.length - 1];
axe.run(document, {resultTypes: ["violations"]})
  .then(r => done(r.violations.map(v => [v.id, v.impact, v.nodes.map(n => n.target.join(" "))])))
  .catch(e => done(String(e)));
"""


def log_in(browser: Any, site: Site, login: str, password: str = PASSWORD) -> None:
    browser.get(f"{site.url}/connexion")
    browser.find_element(By.ID, "identifiant").send_keys(login)
    browser.find_element(By.ID, "mot_de_passe").send_keys(password)
    submit(browser, browser.find_element(By.CSS_SELECTOR, "main button[type=submit]"))


def submit(browser: Any, button: Any) -> None:
    """Click, and wait for the next page (a click does not wait for the navigation)."""
    navigate(browser, button.click)


def heading(browser: Any) -> str:
    return str(browser.find_element(By.TAG_NAME, "h1").text)


def serious_violations(browser: Any, axe_source: str) -> list[Any]:
    browser.execute_script(axe_source)
    found = browser.execute_async_script(AXE_RUN)
    assert isinstance(found, list), found  # an error message otherwise
    return [v for v in found if v[1] in ("serious", "critical")]


def test_logging_in_opens_the_dashboard(browser: Any, site: Site) -> None:
    browser.get(site.url)
    assert browser.current_url == f"{site.url}/connexion"
    log_in(browser, site, "claire")
    assert heading(browser) == "Tableau de bord"
    assert "1 dossier dans votre périmètre" in browser.find_element(By.TAG_NAME, "main").text


def test_a_wrong_password_then_throttling(browser: Any, site: Site) -> None:
    log_in(browser, site, "bruno", "pas le bon mot de passe")
    error = browser.find_element(By.ID, "erreur-connexion")
    assert error.text == "Identifiant ou mot de passe incorrect."
    field = browser.find_element(By.ID, "mot_de_passe")
    assert field.get_attribute("aria-describedby") == "erreur-connexion"
    for _ in range(site.app.settings.web.failures_per_account - 1):
        log_in(browser, site, "bruno", "toujours pas le bon")
    log_in(browser, site, "bruno")  # the right one, too late
    assert "Trop de tentatives" in browser.find_element(By.ID, "erreur-connexion").text
    assert heading(browser) == "Connexion"


def test_logging_out_ends_the_session(browser: Any, site: Site) -> None:
    log_in(browser, site, "claire")
    browser.get(f"{site.url}/dossiers/{site.cases['claire']}")
    assert heading(browser).startswith("Dossier n°")
    submit(browser, browser.find_element(By.XPATH, "//button[normalize-space()='Se déconnecter']"))
    assert heading(browser) == "Connexion"
    assert "Vous êtes déconnecté(e)" in browser.find_element(By.TAG_NAME, "main").text
    browser.back()  # the case page was not kept (no-store), and the session is over
    assert heading(browser) == "Connexion"
    assert "MARTIN" not in browser.page_source
    browser.get(f"{site.url}/")
    assert heading(browser) == "Connexion"


def test_a_counsellor_opening_a_colleagues_case_gets_not_found(browser: Any, site: Site) -> None:
    log_in(browser, site, "claire")
    browser.get(f"{site.url}/dossiers/{site.cases['paul']}")
    assert heading(browser) == "Dossier introuvable"
    assert "MARTIN" not in browser.find_element(By.TAG_NAME, "main").text
    browser.get(f"{site.url}/dossiers/{site.cases['claire']}")
    assert heading(browser) == f"Dossier n° {site.cases['claire']} : Léa MARTIN"


def test_signing_in_with_the_keyboard_only(browser: Any, site: Site) -> None:
    browser.get(f"{site.url}/connexion")
    body = browser.find_element(By.TAG_NAME, "body")
    body.send_keys(Keys.TAB)
    first = browser.switch_to.active_element
    assert first.text == "Aller au contenu"  # the skip link comes first, and shows
    assert first.is_displayed()
    first.send_keys(Keys.ENTER)
    for _ in range(3):
        browser.switch_to.active_element.send_keys(Keys.TAB)
        if browser.switch_to.active_element.get_attribute("id") == "identifiant":
            break
    focused = browser.switch_to.active_element
    assert focused.get_attribute("id") == "identifiant"
    focused.send_keys("paul", Keys.TAB)
    navigate(browser, lambda: browser.switch_to.active_element.send_keys(PASSWORD, Keys.ENTER))
    assert heading(browser) == "Tableau de bord"


def test_the_pages_pass_axe_core(browser: Any, site: Site, axe_source: str) -> None:
    from tests.browser.test_case_pages import refuse_a_minors_consent  # it imports this module

    pages = {}
    browser.get(f"{site.url}/connexion")
    pages["login"] = serious_violations(browser, axe_source)
    log_in(browser, site, "paul", "pas le bon mot de passe")  # with its error shown
    pages["login refused"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/mot-de-passe-oublie")
    pages["forgot"] = serious_violations(browser, axe_source)
    log_in(browser, site, "sophie")
    pages["dashboard"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/dossiers/{site.cases['paul']}")
    pages["case"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/dossiers/999999")
    pages["not found"] = serious_violations(browser, axe_source)
    # A counsellor's pages with something in them: actions (one late), forms, a refusal.
    staff_user(site.app, "axelle")
    followed = add_case(site.app, referent="axelle", state="follow_up", cycle=1)
    minor = add_case(
        site.app, referent="axelle", state="consent_reminded", birth_date=date(2011, 3, 4)
    )
    browser.delete_all_cookies()  # signed out
    log_in(browser, site, "axelle")
    pages["dashboard with actions"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/dossiers")
    pages["case list"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/dossiers/{followed}?besoin=housing")
    pages["case with its forms"] = serious_violations(browser, axe_source)
    refuse_a_minors_consent(browser, site, minor)
    pages["case with a refusal"] = serious_violations(browser, axe_source)
    assert pages == {name: [] for name in pages}
