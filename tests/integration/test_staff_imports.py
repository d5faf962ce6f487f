"""The Imports page over HTTP, on both databases: who may open it, a file sent (multipart,
CSRF-checked, bounded as it streams: 413 beyond `[intake] max_file_bytes`), its dry run
(counts, every rejected row, unused columns; nothing written), then confirmed: exactly what
`casework intake import` writes for the same file, once however many clicks; a file refused
whole; the upload tied to its session and removed after; the history and an import's rejects."""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select
from starlette.testclient import TestClient

from casework.accounts.access_log import read_access_log
from casework.app import App, build_app
from casework.cli import main
from casework.clock import FixedClock
from casework.intake.sample_files import write_sample_files
from casework.migrate import upgrade
from casework.models.tables import FILES, RECORDS, REJECTS
from casework.settings import Settings
from tests.integration.test_staff_case_pages import signed_in, text_of
from tests.integration.test_staff_review import proofread
from tests.staff import csrf_of, log_in, staff_client, staff_user


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    """Uploads wait in this test's own folder, where the test can see them."""
    return replace(settings, web=replace(settings.web, upload_dir=str(tmp_path / "envois")))


@pytest.fixture
def season(tmp_path: Path) -> tuple[Path, Path]:
    """The chamber's CSV (80 good rows, 4 bad) and the Mission Locale's workbook."""
    write_sample_files(tmp_path / "saison", 80, seed=9, cohort=2026)
    return tmp_path / "saison" / "contrats_cma.csv", tmp_path / "saison" / "jeunes_ml.xlsx"


def send(
    client: TestClient, path: Path, source: str = "cma", skip: bool = True, **more: Any
) -> Any:
    page = client.get("/imports")
    fields = {"csrf": csrf_of(page.text), "organisation": source}
    if skip:
        fields["ecarter"] = "oui"
    return client.post(
        "/imports", data=fields, files={"fichier": (path.name, path.read_bytes(), "text/csv")}
    )


def confirm(client: TestClient, dry_run: Any, action: str = "confirmer") -> Any:
    target = re.search(r'action="(/imports/envoi/[^"]+)"', dry_run.text)
    assert target, dry_run.text
    return client.post(target.group(1), data={"csrf": csrf_of(dry_run.text), "action": action})


def waiting(settings: Settings) -> list[Path]:
    folder = Path(settings.web.upload_dir)
    return sorted(folder.iterdir()) if folder.exists() else []


def last_import(app: App) -> int:
    """The latest import's number (on PostgreSQL a dry run uses one up: rolled back)."""
    with app.db.read() as conn:
        return int(conn.execute(select(FILES.c.id).order_by(FILES.c.id.desc())).scalars().first())


def written(app: App) -> dict[str, list[Any]]:
    """What an import leaves in the database, without ids and times."""
    with app.db.read() as conn:
        files = conn.execute(
            select(
                FILES.c.source,
                FILES.c.name,
                FILES.c.sha256,
                FILES.c.described,
                FILES.c.records,
                FILES.c.rejected,
                FILES.c.created,
                FILES.c.updated,
                FILES.c.imported_by,
                FILES.c.header,
            )
        ).all()
        records = conn.execute(
            select(RECORDS.c.source, RECORDS.c.key, RECORDS.c.data, RECORDS.c.line).order_by(
                RECORDS.c.key
            )
        ).all()
        rejects = conn.execute(
            select(REJECTS.c.line, REJECTS.c.cells, REJECTS.c.reasons).order_by(REJECTS.c.line)
        ).all()
    return {
        "files": [tuple(r) for r in files],
        "records": [tuple(r) for r in records],
        "rejects": [tuple(r) for r in rejects],
    }


@pytest.fixture
def manager(app: App) -> TestClient:
    staff_user(app, "sophie", role="manager", territory=["53"])
    return signed_in(app, "sophie")


def test_only_managers_and_administrators_import(app: App, season: tuple[Path, Path]) -> None:
    for login, role in (("claire", "counsellor"), ("eve", "evaluator"), ("alex", "administrator")):
        staff_user(app, login, role=role)
    for login in ("claire", "eve"):
        client = signed_in(app, login)
        assert client.get("/imports").status_code == 403
        assert client.get("/imports/1").status_code == 403
        refused = client.post(
            "/imports",
            data={"csrf": csrf_of(client.get("/").text), "organisation": "cma"},
            files={"fichier": ("contrats_cma.csv", season[0].read_bytes(), "text/csv")},
        )
        assert refused.status_code == 403
    assert signed_in(app, "alex").get("/imports").status_code == 200
    assert written(app)["files"] == []


def test_a_dry_run_then_confirm_writes_what_the_command_line_writes(
    app: App, manager: TestClient, season: tuple[Path, Path], settings: Settings, tmp_path: Path
) -> None:
    cma, _ml = season
    sent = send(manager, cma)
    assert sent.status_code == 303
    dry = manager.get(sent.headers["location"])
    read = text_of(dry)
    assert "Simulation de l'import de contrats_cma.csv" in read
    assert "80 nouvelles lignes" in read
    assert "4 lignes écartées" in read
    assert "Lignes qui seraient écartées (4)" in read
    assert "82 Date de naissance 31/02/2008 cette date n'existe pas" in read
    assert "Confirmer l'import" in read
    assert proofread(dry) == []
    assert written(app)["files"] == []  # a dry run writes nothing
    with app.db.read() as conn:
        assert [e.page for e in read_access_log(conn, login="sophie")] == [
            "/imports/envoi/{upload_id}"
        ]
    done = confirm(manager, dry)
    assert done.status_code == 303
    number = last_import(app)
    assert done.headers["location"] == f"/imports?fait={number}#resultat"
    history = text_of(manager.get(f"/imports?fait={number}"))
    assert (
        f"Import n° {number} de contrats_cma.csv : 80 nouvelles lignes, aucune ligne mise à jour"
        in (history)
    )
    assert waiting(settings) == []  # the file and its copy of the rejects are gone
    # The same file through `casework intake import` into another database: the same rows.
    other_url = f"sqlite:///{tmp_path / 'cli.sqlite3'}"
    other = build_app(Settings().with_database(other_url), FixedClock(app.clock.now()))
    try:
        upgrade(other.db)
        staff_user(other, "sophie", role="manager")
        out = CliRunner().invoke(
            main,
            [
                "--database",
                other_url,
                "intake",
                "import",
                "cma",
                str(cma),
                "--skip-invalid",
                "--rejected",
                str(tmp_path / "rejets.csv"),
                "--as",
                "sophie",
            ],
            catch_exceptions=False,
        )
        assert out.exit_code == 0, out.output
        assert written(app) == written(other)
    finally:
        other.close()


def test_a_second_confirm_imports_nothing_more(
    app: App, manager: TestClient, season: tuple[Path, Path]
) -> None:
    dry = manager.get(send(manager, season[1], source="ml").headers["location"])
    assert "classeur XLSX" in text_of(dry)
    assert confirm(manager, dry).status_code == 303
    before = written(app)
    again = confirm(manager, dry)
    assert again.status_code == 409
    assert "n'est plus en attente" in text_of(again)
    assert written(app) == before
    assert len(before["files"]) == 1
    # The very same file sent again: the dry run says so, and offers no confirmation.
    repeat = text_of(manager.get(send(manager, season[1], source="ml").headers["location"]))
    assert "Ce fichier a déjà été importé le" in repeat
    assert f"(import n° {last_import(app)}) : l'importer à nouveau ne changerait rien" in repeat
    assert "Confirmer l'import" not in repeat


def test_a_file_with_bad_rows_is_refused_whole_with_each_problem(
    app: App, manager: TestClient, season: tuple[Path, Path], tmp_path: Path
) -> None:
    dry = manager.get(send(manager, season[0], skip=False).headers["location"])
    read = text_of(dry)
    assert "Rien ne sera importé. Le fichier a 4 lignes fautives : il serait refusé en entier." in (
        read
    )
    assert "Lignes fautives (4)" in read
    assert "82 Date de naissance 31/02/2008 cette date n'existe pas" in read
    assert "Confirmer l'import" not in read
    assert confirm(manager, dry).status_code == 409  # forced: still nothing to confirm
    # A file whose columns are not the organisation's: said, with nothing read.
    other = tmp_path / "autre.csv"
    other.write_text("Nom;Ville\nMARTIN;Laval\n", encoding="utf-8")
    refused = text_of(manager.get(send(manager, other).headers["location"]))
    assert "Rien ne sera importé. Le fichier ne peut pas être lu : " in refused
    assert str(tmp_path) not in refused  # never a server path
    assert written(app)["files"] == []


def test_a_file_over_the_limit_is_refused_as_it_streams(
    app: App, settings: Settings, season: tuple[Path, Path], clock: FixedClock
) -> None:
    small = replace(settings, intake=replace(settings.intake, max_file_bytes=2_000))
    bounded = build_app(small, clock)
    try:
        staff_user(bounded, "sophie", role="manager")
        client = signed_in(bounded, "sophie")
        too_big = send(client, season[0])
        assert too_big.status_code == 413
        assert "Le fichier envoyé dépasse la taille permise (1 Ko)" in text_of(too_big)
        # Without a Content-Length (chunked), counted as it streams.
        boundary = "limite"
        body = (
            (
                f'--{boundary}\r\nContent-Disposition: form-data; name="csrf"\r\n\r\n'
                f"{csrf_of(client.get('/imports').text)}\r\n--{boundary}\r\n"
                'Content-Disposition: form-data; name="fichier"; filename="gros.csv"\r\n\r\n'
            ).encode()
            + b"x" * 200_000
            + f"\r\n--{boundary}--\r\n".encode()
        )
        chunked = client.post(
            "/imports",
            content=iter([body[i : i + 1000] for i in range(0, len(body), 1000)]),
            headers={"content-type": f"multipart/form-data; boundary={boundary}"},
        )
        assert chunked.status_code == 413
        assert waiting(small) == []
    finally:
        bounded.close()
    assert written(app)["files"] == []


def test_the_form_is_checked(app: App, manager: TestClient, season: tuple[Path, Path]) -> None:
    forged = manager.post(
        "/imports",
        data={"organisation": "cma"},
        files={"fichier": ("contrats_cma.csv", season[0].read_bytes(), "text/csv")},
    )
    assert forged.status_code == 403
    assert "Formulaire expiré" in forged.text
    missing = send(manager, season[0], source="")
    assert missing.status_code == 422
    assert "Choisissez l'organisation qui a envoyé le fichier." in text_of(missing)
    assert 'aria-describedby="erreur-organisation"' in missing.text
    page = manager.get("/imports")
    empty = manager.post(
        "/imports",
        data={"csrf": csrf_of(page.text), "organisation": "cma"},
        files={"fichier": ("vide.csv", b"", "text/csv")},
    )
    assert empty.status_code == 422
    assert 'aria-describedby="erreur-fichier"' in empty.text
    assert written(app)["files"] == []


def test_an_upload_belongs_to_its_session_and_is_removed_when_cancelled(
    app: App, manager: TestClient, season: tuple[Path, Path], settings: Settings
) -> None:
    where = send(manager, season[0]).headers["location"]
    assert len(waiting(settings)) == 1
    elsewhere = staff_client(app)  # the same person, another session
    assert log_in(elsewhere, "sophie").status_code == 303
    assert elsewhere.get(where).status_code == 404
    assert manager.get("/imports/envoi/..%2F..%2Fetc").status_code == 404
    dry = manager.get(where)
    cancelled = confirm(manager, dry, action="annuler")
    assert cancelled.headers["location"] == "/imports?annule=1#resultat"
    assert waiting(settings) == []
    assert manager.get(where).status_code == 404
    assert written(app)["files"] == []


def test_the_history_links_each_imports_rejected_rows(
    app: App, manager: TestClient, season: tuple[Path, Path]
) -> None:
    confirm(manager, manager.get(send(manager, season[0]).headers["location"]))
    number = last_import(app)
    history = manager.get("/imports")
    read = text_of(history)
    assert f"{number} contrats_cma.csv Chambre de métiers et de l'artisanat" in read
    assert " sophie 80 80 0 4" in read
    assert f'href="/imports/{number}"' in history.text
    rejects = manager.get(f"/imports/{number}")
    said = text_of(rejects)
    assert f"Lignes écartées par l'import n° {number}" in said
    assert "4 lignes écartées, gardées avec l'import" in said
    assert "82 Date de naissance : cette date n'existe pas" in said
    assert proofread(rejects) == []
    assert manager.get(f"/imports/{number + 1}").status_code == 404
