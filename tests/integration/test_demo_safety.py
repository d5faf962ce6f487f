"""The demo never harms what it did not make: it empties only a database it created (marked),
refuses any other before touching it, listens on loopback only, and its mail catcher's pages
carry the link pages' headers and a CSRF-checked, size-bounded reply form."""

from __future__ import annotations

import hashlib
import html
import re
import smtplib
import sqlite3
from email.message import EmailMessage
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.app import App
from casework.cli import main
from casework.demo import DemoDatabaseRefused, prepare_demo_database
from casework.demo.database import DEMO_APPLICATION_ID
from casework.demo.mailcatcher import CSRF_COOKIE, MailCatcher
from casework.models import Case
from tests.factories import add_case


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def cases(app: App) -> int:
    with app.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(Case)).scalar_one())


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


# -- the database ---------------------------------------------------------------------------------


def test_serve_demo_refuses_a_database_it_did_not_create(
    app: App, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # where the demo's own ./var/demo.sqlite3 would go
    add_case(app)
    before = digest(Path(app.db.url.database)) if app.db.is_sqlite else None
    for command in (("serve", "--demo"), ("demo", "--fresh"), ("demo",)):
        refused = run("--database", db_url, *command)
        assert refused.exit_code == 1, refused.output
        assert "La démonstration ne touche pas à la base " in refused.output
        assert "Traceback" not in refused.output
    assert cases(app) == 1
    if app.db.is_sqlite:
        assert "que la démonstration n'a pas créées" in refused.output
        assert digest(Path(app.db.url.database)) == before
    else:
        assert "PostgreSQL vide" in refused.output
    assert not (tmp_path / "var").exists()  # nothing started, nothing created


def test_the_demo_marks_what_it_creates_and_empties_only_that(tmp_path: Path) -> None:
    path = tmp_path / "var" / "demo.sqlite3"
    url = f"sqlite:///{path}"
    prepare_demo_database(url, wipe=True)  # new: created, marked
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA application_id").fetchone()[0] == DEMO_APPLICATION_ID
        conn.execute("CREATE TABLE cases (id integer)")
        conn.execute("INSERT INTO cases VALUES (1)")
    conn.close()
    prepare_demo_database(url, wipe=False)  # ours, kept as it is
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM cases").fetchone()[0] == 1
    conn.close()
    prepare_demo_database(url, wipe=True)  # ours: emptied, and still marked
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0] == 0
        assert conn.execute("PRAGMA application_id").fetchone()[0] == DEMO_APPLICATION_ID
    conn.close()


@pytest.mark.parametrize(
    "content", [b"", b"not a database at all", "sqlite-unmarked", "sqlite-empty-unmarked"]
)
def test_a_file_that_is_not_the_demos_is_refused_untouched(
    tmp_path: Path, content: bytes | str
) -> None:
    path = tmp_path / "mine.sqlite3"
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        with sqlite3.connect(path) as conn:
            if content == "sqlite-unmarked":
                conn.execute("CREATE TABLE notes (text varchar)")
                conn.execute("INSERT INTO notes VALUES ('précieux')")
            else:
                conn.execute("PRAGMA user_version = 1")  # a header, no table
        conn.close()
    before = digest(path)
    if content in (b"", "sqlite-empty-unmarked"):  # holds nothing: the demo may take it
        prepare_demo_database(f"sqlite:///{path}", wipe=True)
        return
    with pytest.raises(DemoDatabaseRefused) as refused:
        prepare_demo_database(f"sqlite:///{path}", wipe=True)
    assert refused.value.french().startswith(
        f"La démonstration ne touche pas à la base sqlite:///{path} :"
    )
    assert digest(path) == before
    assert not Path(f"{path}-wal").exists()


def test_serve_demo_listens_on_loopback_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    refused = run("serve", "--demo", "--host", "0.0.0.0")
    assert refused.exit_code == 1
    assert "La démonstration n'écoute que sur cette machine (127.0.0.1)" in refused.output
    assert "--host 0.0.0.0 n'est pas accepté avec --demo" in refused.output
    assert not (tmp_path / "var").exists()


# -- the mail catcher's pages ---------------------------------------------------------------------


@pytest.fixture
def pages(catcher: MailCatcher) -> tuple[TestClient, list[bytes]]:
    """The catcher's pages with one mail that expects a reply; replies are collected."""
    taken: list[bytes] = []

    def take(raw: bytes) -> object:
        taken.append(raw)
        return SimpleNamespace(status="recorded", reason="accusé de réception enregistré")

    message = EmailMessage()
    message["From"] = "plateforme@plateforme.example"
    message["To"] = "accueil@foyer.example"
    message["Reply-To"] = "reply+1-abc@plateforme.example"
    message["Subject"] = "Fiche de liaison n° 1"
    message["Message-ID"] = "<1@plateforme.example>"
    message.set_content("Bonjour")
    message.add_alternative("<p>Bonjour</p>", subtype="html")
    with smtplib.SMTP("127.0.0.1", catcher.port) as smtp:
        smtp.send_message(message)
    catcher.wait_for(1)
    app = Starlette(routes=catcher.routes(take, max_form_bytes=1024))
    return TestClient(app, base_url="http://127.0.0.1:8000"), taken


def test_the_catcher_pages_have_a_content_security_policy(
    pages: tuple[TestClient, list[bytes]],
) -> None:
    client, _ = pages
    for path in ("/mails", "/mails/0", "/mails/9"):
        page = client.get(path)
        assert "default-src 'none'" in page.headers["content-security-policy"]
        assert page.headers["x-frame-options"] == "DENY"
        assert page.headers["cache-control"] == "no-store"
        assert "<script" not in page.text


def test_the_reply_form_is_checked_before_its_body_is_read(
    pages: tuple[TestClient, list[bytes]],
) -> None:
    client, taken = pages
    bare = client.post("/mails/0/reply", data={"text": "Bien reçu."})  # no cookie: no page seen
    assert bare.status_code == 403
    assert "Rouvrez le courriel" in html.unescape(bare.text)
    page = client.get("/mails/0")
    csrf = re.search(r"name='csrf' value='([^']+)'", page.text)
    assert csrf is not None
    assert client.cookies[CSRF_COOKIE] == csrf.group(1)
    wrong = client.post("/mails/0/reply", data={"csrf": "guess", "text": "Bien reçu."})
    assert wrong.status_code == 403
    foreign = client.post(
        "/mails/0/reply",
        data={"csrf": csrf.group(1), "text": "x"},
        headers={"Origin": "http://evil.example"},
    )
    assert foreign.status_code == 403
    large = client.post("/mails/0/reply", data={"csrf": csrf.group(1), "text": "x" * 2000})
    assert large.status_code == 413
    assert "Formulaire trop volumineux" in html.unescape(large.text)
    assert taken == []
    done = client.post("/mails/0/reply", data={"csrf": csrf.group(1), "text": "Bien reçu."})
    assert done.status_code == 200
    answer = html.unescape(done.text)
    assert "Réponse prise en compte</strong> : accusé de réception enregistré." in answer
    (reply,) = taken
    assert b"Bien re\xc3\xa7u." in reply
    assert b"In-Reply-To: <1@plateforme.example>" in reply
