"""The report page (`/rapport`) over HTTP, on both databases: the cohorts listed, the report
downloaded in each format and the export in both by the roles that may (each download in the
access log, the export in the audit log as `casework export` does), the refusals in French,
counsellors refused, and no file left behind on the server."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlalchemy import select

from casework.app import App
from casework.clock import FixedClock
from casework.models.tables import ACCESS_LOG, EVENTS
from casework.settings import Settings
from tests.integration.test_report import known_cohort
from tests.integration.test_staff_case_pages import signed_in, text_of
from tests.report_cohort import COHORT, add_cohort, keyed_app
from tests.staff import csrf_of, staff_user

KEY = "pseudonym-key-0123456789abcdefghijklmnop"


@pytest.fixture
def keyed(settings: Settings, clock: FixedClock) -> Iterator[App]:
    with keyed_app(settings, clock, KEY) as app:
        yield app


@pytest.fixture
def no_leftovers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The temporary folder the page writes into: empty again once each answer is sent."""
    folder = tmp_path / "temporaire"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


def post(client, path: str, page, **fields: str):
    return client.post(path, data={"csrf": csrf_of(page.text), **fields})


def downloads(app: App) -> list[tuple[str, str]]:
    with app.db.read() as conn:
        rows = conn.execute(
            select(ACCESS_LOG.c.user_login, ACCESS_LOG.c.page)
            .where(ACCESS_LOG.c.page.like("/rapport/%"))
            .order_by(ACCESS_LOG.c.id)
        ).all()
    return [tuple(r) for r in rows]


def exports(app: App) -> list[dict]:
    with app.db.read() as conn:
        rows = conn.execute(
            select(EVENTS.c.actor, EVENTS.c.data).where(EVENTS.c.trigger == "export")
        ).all()
    return [{"by": r.actor, **r.data} for r in rows]


def test_a_manager_lists_the_cohorts_and_downloads_the_report(app: App, no_leftovers: Path) -> None:
    staff_user(app, "sophie", role="manager", territory=["53"])
    add_cohort(app, known_cohort())
    client = signed_in(app, "sophie")
    page = client.get("/rapport")
    assert page.status_code == 200
    said = text_of(page)
    assert "Cohorte Groupe test Groupe témoin Dossiers 2026 21 21 42" in said
    assert "Télécharger le rapport" in said
    assert "Export pour l'évaluation" not in said  # an evaluator's and an administrator's
    got = post(client, "/rapport/rapport", page, cohorte="2026", format="html", arret="2027-06-30")
    assert got.status_code == 200
    assert got.headers["content-type"] == "text/html; charset=utf-8"
    assert got.headers["content-disposition"] == (
        'attachment; filename="rapport-cohorte-2026-2027-06-30.html"'
    )
    assert got.headers["cache-control"] == "no-store"
    assert "Données arrêtées au 30 juin 2027 : 41 dossiers" in got.text
    assert got.text.count("<h2>Tableau ") == 7
    book = post(client, "/rapport/rapport", page, cohorte="2026", format="xlsx", annee="2026")
    assert book.status_code == 200
    assert load_workbook(io.BytesIO(book.content)).sheetnames[0] == "Rapport"
    pdf = post(client, "/rapport/rapport", page, cohorte="2026", format="pdf")
    assert pdf.content.startswith(b"%PDF")
    assert downloads(app) == [("sophie", "/rapport/rapport")] * 3
    assert list(no_leftovers.iterdir()) == []
    refused = post(client, "/rapport/export", page, cohorte="2026", format="csv")
    assert refused.status_code == 403
    assert exports(app) == []


def test_a_report_asked_wrongly_says_why_in_french(app: App, no_leftovers: Path) -> None:
    staff_user(app, "alex", role="administrator")
    add_cohort(app, known_cohort())
    client = signed_in(app, "alex")
    page = client.get("/rapport")
    wrong = post(client, "/rapport/rapport", page, cohorte="2031", format="pdf", arret="30/06")
    assert wrong.status_code == 422
    said = text_of(wrong)
    assert "Choisissez une cohorte de la liste." in said
    assert "La date d'arrêt doit être une date (jour, mois, année)." in said
    year = post(client, "/rapport/rapport", page, cohorte="2026", format="exe", annee="26")
    assert "Choisissez le format du rapport." in text_of(year)
    assert "L'année d'entrée s'écrit en quatre chiffres (2026), ou se laisse vide." in text_of(year)
    assert downloads(app) == []
    assert list(no_leftovers.iterdir()) == []


def test_an_evaluator_downloads_the_export_recorded_as_the_command_records_it(
    keyed: App, no_leftovers: Path
) -> None:
    staff_user(keyed, "eva", role="evaluator")
    add_cohort(keyed, known_cohort())
    client = signed_in(keyed, "eva")
    page = client.get("/rapport")
    assert "Export pour l'évaluation" in text_of(page)
    assert "L'export est impossible" not in text_of(page)
    book = post(client, "/rapport/export", page, cohorte="2026", format="xlsx")
    assert book.status_code == 200
    assert book.headers["content-disposition"] == 'attachment; filename="evaluation-2026.xlsx"'
    workbook = load_workbook(io.BytesIO(book.content), read_only=True)
    assert workbook.sheetnames == ["Dossiers", "Dictionnaire"]
    assert len(list(workbook["Dossiers"].iter_rows())) == 1 + 42
    workbook.close()
    csv = post(client, "/rapport/export", page, cohorte="2026", format="csv")
    assert csv.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(csv.content)) as both:
        assert sorted(both.namelist()) == [
            "evaluation-2026.csv",
            "evaluation-2026.dictionary.csv",
        ]
        assert both.read("evaluation-2026.csv").decode("utf-8-sig").startswith("pseudonyme;")
    assert exports(keyed) == [
        {
            "by": "eva",
            "cohort": COHORT,
            "rows": 42,
            "format": "xlsx",
            "file": "evaluation-2026.xlsx",
        },
        {"by": "eva", "cohort": COHORT, "rows": 42, "format": "csv", "file": "evaluation-2026.csv"},
    ]
    assert downloads(keyed) == [("eva", "/rapport/export")] * 2
    assert list(no_leftovers.iterdir()) == []


def test_without_a_pseudonym_key_nothing_is_exported(app: App, no_leftovers: Path) -> None:
    staff_user(app, "eva", role="evaluator")
    add_cohort(app, known_cohort())
    client = signed_in(app, "eva")
    page = client.get("/rapport")
    assert "L'export est impossible : aucune clé de pseudonymisation n'est réglée" in text_of(page)
    refused = post(client, "/rapport/export", page, cohorte="2026", format="xlsx")
    assert refused.status_code == 422
    assert (
        "Rien n'a été exporté : aucune clé de pseudonymisation n'est réglée sur le serveur"
        in text_of(refused)
    )
    assert exports(app) == []
    assert downloads(app) == []
    assert list(no_leftovers.iterdir()) == []


def test_a_counsellor_may_not_open_the_page_nor_download(app: App) -> None:
    staff_user(app, "claire")
    add_cohort(app, known_cohort())
    client = signed_in(app, "claire")
    assert client.get("/rapport").status_code == 403
    dashboard = client.get("/")
    assert "Rapport d'évaluation" not in dashboard.text  # not in her nav
    for path in ("/rapport/rapport", "/rapport/export"):
        assert post(client, path, dashboard, cohorte="2026", format="html").status_code == 403
    assert downloads(app) == []
