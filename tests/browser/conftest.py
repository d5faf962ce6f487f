"""The browser tests' harness: the staff pages served by uvicorn in a thread on a free port,
over a fresh SQLite database with a few people and cases, and one headless chromium (Debian's,
driven through chromium-driver by Selenium) for the whole session.

Nothing is skipped: without chromium, its driver or axe-core the tests fail, saying what to
install (`./scripts/test.sh` installs all three). Each test leaves a screenshot in
`artifacts/screenshots/`.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import update
from starlette.applications import Starlette

from casework.app import App, build_app
from casework.migrate import upgrade
from casework.models import Beneficiary
from casework.notify.links import LinkSigner
from casework.settings import MailSettings, Settings
from casework.web.links import LinkPages
from casework.web.staff.app import StaffPages
from tests.factories import NEW_KEY, OLD_KEY, add_case
from tests.staff import staff_user

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM, DRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"
INSTALL = "./scripts/test.sh installs them (apt-get install chromium chromium-driver)"


@dataclass
class Site:
    url: str
    app: App
    cases: dict[str, int]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="session")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    path = tmp_path_factory.mktemp("browser") / "casework.sqlite3"
    port = _free_port()
    # The links' pages check the Origin against the address mails give (`mail.base_url`).
    base = f"http://127.0.0.1:{port}"
    mail = MailSettings(enabled=False, link_keys=f"{OLD_KEY},{NEW_KEY}", base_url=base)
    app = build_app(Settings(mail=mail).with_database(f"sqlite:///{path}"))
    upgrade(app.db)
    staff_user(app, "claire")
    staff_user(app, "paul")
    staff_user(app, "bruno")  # the one whose password is tried wrongly
    staff_user(app, "sophie", role="manager", territory=["53"])
    cases = {"claire": add_case(app, referent="claire"), "paul": add_case(app, referent="paul")}
    with app.db.transaction() as conn:
        conn.execute(update(Beneficiary).values(departement="53"))
    signer = LinkSigner.from_settings(app.settings.mail)
    # The staff pages and the pages behind mail links, as `casework serve` serves them.
    web = Starlette(routes=[*StaffPages(app, signer).routes(), *LinkPages(app, signer).routes()])
    server = uvicorn.Server(
        uvicorn.Config(web, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False)
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            pytest.fail("the staff pages' server did not start")
        time.sleep(0.05)
    try:
        yield Site(f"http://127.0.0.1:{port}", app, cases)
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        app.close()


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    missing = [p for p in (CHROMIUM, DRIVER) if not Path(p).exists()]
    if missing:
        pytest.fail(f"browser tests need {', '.join(missing)}: {INSTALL}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1280,900",
        "--lang=fr-FR",
    ):
        options.add_argument(argument)
    driver = webdriver.Chrome(service=Service(DRIVER), options=options)
    driver.set_page_load_timeout(30)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(chromium: Any, site: Site, request: pytest.FixtureRequest) -> Iterator[Any]:
    """The session's browser, signed out; a screenshot of where the test left it."""
    chromium.get(f"{site.url}/connexion")
    chromium.delete_all_cookies()
    yield chromium
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    chromium.save_screenshot(str(SCREENSHOTS / f"{request.node.name}.png"))


@pytest.fixture(scope="session")
def axe_source() -> str:
    found = sorted((ROOT / ".cache").glob("axe-core-*/package/axe.min.js"))
    if not found:
        pytest.fail(
            "axe-core is missing: ./scripts/test.sh fetches it (npm pack axe-core, "
            "`ensure_axe` in scripts/setup.sh)"
        )
    return found[-1].read_text(encoding="utf-8")
