"""The Imports and Rapprochement pages in a real browser: a file chosen in the file input, its
dry run, confirmed, in the history; a pair accepted from the review queue; a threshold counted
then accepted; and axe-core on each of these pages (with an error shown too), each page left
as a screenshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from selenium.webdriver.common.by import By

from casework.intake.sample_files import write_sample_files
from tests.browser.conftest import SCREENSHOTS, Site
from tests.browser.test_staff_pages import heading, log_in, serious_violations, submit
from tests.integration.test_staff_review import add_pairs
from tests.staff import staff_user

# The pages this file checks with axe-core, by name (the screenshots' names too).
AXE_PAGES = (
    "imports",
    "imports-erreur",
    "import-simulation",
    "import-refuse",
    "import-lignes-ecartees",
    "rapprochement",
    "rapprochement-seuil",
    "rapprochement-seuil-erreur",
)


def shot(browser: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    browser.save_screenshot(str(SCREENSHOTS / f"intake-{name}.png"))


def main_text(browser: Any) -> str:
    return str(browser.find_element(By.TAG_NAME, "main").text)


def send_file(browser: Any, site: Site, path: Path, skip: bool = True) -> None:
    browser.get(f"{site.url}/imports")
    browser.find_element(By.ID, "fichier").send_keys(str(path))
    browser.find_element(By.ID, "organisation-cma").click()
    if skip:
        browser.find_element(By.ID, "ecarter").click()
    submit(
        browser, browser.find_element(By.XPATH, '//button[normalize-space()="Simuler l\'import"]')
    )


@pytest.fixture(scope="module")
def season(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("imports")
    write_sample_files(folder, 40, seed=41, cohort=2026)  # a seed of this file's own
    return folder / "contrats_cma.csv"


def test_a_file_is_sent_simulated_then_imported(browser: Any, site: Site, season: Path) -> None:
    staff_user(site.app, "ines", role="manager")
    log_in(browser, site, "ines")
    send_file(browser, site, season)
    assert heading(browser) == "Simulation de l'import de contrats_cma.csv"
    read = main_text(browser)
    assert "40 nouvelles lignes" in read
    assert "4 lignes écartées" in read
    shot(browser, "import-simulation")
    submit(
        browser, browser.find_element(By.XPATH, '//button[normalize-space()="Confirmer l\'import"]')
    )
    assert heading(browser) == "Imports"
    notice = browser.find_element(By.ID, "resultat").text
    assert notice.startswith("Import n° ")
    assert (
        "de contrats_cma.csv : 40 nouvelles lignes, aucune ligne mise à jour, 4 lignes écartées"
        in notice
    )
    submit(browser, browser.find_element(By.CSS_SELECTOR, "a[aria-label*='écartées par l']"))
    assert heading(browser).startswith("Lignes écartées par l'import n° ")
    shot(browser, "import-lignes-ecartees")


def test_a_pair_is_accepted_from_the_queue(browser: Any, site: Site) -> None:
    staff_user(site.app, "hugo", role="manager")
    first, second = add_pairs(site.app, [0.91, 0.62], prefix="NAV")
    log_in(browser, site, "hugo")
    submit(browser, browser.find_element(By.LINK_TEXT, "Rapprochement"))
    assert heading(browser) == "Rapprochement"
    pair = browser.find_element(By.XPATH, f"//article[.//h3[contains(., '{first[0]}')]]")
    assert "Date de naissance 04/05/2008 05/04/2008" in pair.text
    shot(browser, "rapprochement")
    submit(browser, pair.find_element(By.XPATH, ".//button[normalize-space()='Même personne']"))
    assert browser.find_element(By.ID, "resultat").text == f"Contrat {first[0]} : même personne."
    queue = browser.find_element(By.XPATH, "//section[@aria-labelledby='titre-paires']").text
    assert first[0] not in queue  # the next pair first
    assert second[0] in queue
    # A threshold counted, then accepted.
    field = browser.find_element(By.ID, "seuil")
    field.send_keys("60")
    submit(
        browser, browser.find_element(By.XPATH, "//button[normalize-space()='Compter les paires']")
    )
    said = browser.find_element(By.ID, "compte-seuil").text
    assert "d'au moins 60 %" in said
    shot(browser, "rapprochement-seuil")
    submit(
        browser,
        browser.find_element(By.XPATH, "//button[starts-with(normalize-space(), 'Accepter')]"),
    )
    assert "acceptée" in browser.find_element(By.ID, "resultat").text


def test_the_intake_pages_pass_axe_core(
    browser: Any, site: Site, axe_source: str, tmp_path: Path
) -> None:
    staff_user(site.app, "yanis", role="administrator")
    add_pairs(site.app, [0.88, 0.7], prefix="AXE")
    found = {}
    log_in(browser, site, "yanis")
    browser.get(f"{site.url}/imports")
    found["imports"] = serious_violations(browser, axe_source)
    shot(browser, "imports")
    browser.find_element(By.ID, "organisation-ml").click()
    browser.execute_script("document.getElementById('fichier').removeAttribute('required')")
    submit(
        browser, browser.find_element(By.XPATH, '//button[normalize-space()="Simuler l\'import"]')
    )
    assert "Choisissez le fichier à importer" in main_text(browser)
    found["imports-erreur"] = serious_violations(browser, axe_source)
    shot(browser, "imports-erreur")
    write_sample_files(tmp_path, 30, seed=43, cohort=2026)
    send_file(browser, site, tmp_path / "contrats_cma.csv")
    found["import-simulation"] = serious_violations(browser, axe_source)
    send_file(browser, site, tmp_path / "contrats_cma.csv", skip=False)
    assert "Rien ne sera importé" in main_text(browser)
    found["import-refuse"] = serious_violations(browser, axe_source)
    shot(browser, "import-refuse")
    submit(
        browser,
        browser.find_element(By.XPATH, '//button[normalize-space()="Abandonner ce fichier"]'),
    )
    send_file(browser, site, tmp_path / "contrats_cma.csv")
    submit(
        browser, browser.find_element(By.XPATH, '//button[normalize-space()="Confirmer l\'import"]')
    )
    submit(browser, browser.find_element(By.CSS_SELECTOR, "a[aria-label*='écartées par l']"))
    found["import-lignes-ecartees"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/rapprochement")
    found["rapprochement"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/rapprochement?seuil=80")
    found["rapprochement-seuil"] = serious_violations(browser, axe_source)
    browser.get(f"{site.url}/rapprochement?seuil=beaucoup")
    found["rapprochement-seuil-erreur"] = serious_violations(browser, axe_source)
    shot(browser, "rapprochement-seuil-erreur")
    assert set(found) == set(AXE_PAGES)
    assert found == {name: [] for name in AXE_PAGES}
