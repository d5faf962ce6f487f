"""Hostile input against real databases (SQLite and PostgreSQL): what SQLite would store and
PostgreSQL would fail on later — a NUL, a 100,000-character commune — is refused first, said
in French with where, with nothing half-written."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.errors import InvalidTransitionData
from casework.intake.importer import Importer, ImportRefused
from casework.intake.sample_files import CMA_HEADER, contract_rows, write_csv
from casework.intake.synthetic import generate
from casework.models import Case, Event, IntakeFile, IntakeRecord, IntakeReject
from tests.factories import add_case, add_user

AS_REFERENTE = {"CASEWORK_AS": "referente"}  # who acts on the command line

ME = Actor.person("referente")
NNBSP = "\u202f"


def rows_of(app: App, model: type) -> list:
    with app.db.read() as conn:
        return list(conn.execute(select(model.__table__)).all())


def hostile_contracts(tmp_path: Path) -> Path:
    rows = contract_rows(generate(4, seed=2), 2, 2026, bad_rows=False)
    rows[0]["Commune"] = "Laval" * 20_000
    rows[1]["Nom"] = "Mar\x00tin"
    rows[2]["Employeur"] = "Garage\x1b[2J"
    path = tmp_path / "contrats.csv"
    write_csv(rows, CMA_HEADER, path, "utf-8", ";")
    return path


def test_a_nul_or_a_huge_commune_refuses_the_file_with_where_and_nothing_written(
    app: App, tmp_path: Path
) -> None:
    path = hostile_contracts(tmp_path)
    with pytest.raises(ImportRefused) as refused:
        Importer(app).run(path, "cma", actor=ME)
    said = [str(p) for p in refused.value.problems]
    assert said == [
        f"contrats.csv, ligne 2, colonne « Commune » : « {'Laval' * 12}… (100{NNBSP}000 "
        f"caractères) » — trop long (100{NNBSP}000 caractères ; au plus 120)",
        "contrats.csv, ligne 3, colonne « Nom » : « Mar\\x00tin » — caractère de contrôle "
        "interdit (U+0000, position 4)",
        "contrats.csv, ligne 4, colonne « Employeur » : « Garage\\x1b[2J » — caractère de "
        "contrôle interdit (U+001B, position 7)",
    ]
    assert rows_of(app, IntakeFile) == []
    assert rows_of(app, IntakeRecord) == []
    # With --skip-invalid, the good row goes in and the database holds no refused character.
    report = Importer(app).run(path, "cma", actor=ME, skip_invalid=True)
    assert (len(report.created), report.rejected) == (1, 3)
    (record,) = rows_of(app, IntakeRecord)
    assert "\x00" not in str(record.data)


def test_the_command_line_says_it_in_french_without_a_traceback(
    app: App, db_url: str, tmp_path: Path
) -> None:
    add_user(app)
    path = hostile_contracts(tmp_path)
    out = CliRunner().invoke(
        main, ["--database", db_url, "intake", "import", "cma", str(path)], env=AS_REFERENTE
    )
    assert out.exit_code == 1
    assert "colonne « Nom » : « Mar\\x00tin » — caractère de contrôle interdit" in out.output
    assert "refusé, rien n'est importé (3 problème(s)" in out.output
    assert "Traceback" not in out.output
    assert "\x00" not in out.output
    assert len(out.output) < 2000  # the 100,000-character commune is not printed


@pytest.mark.parametrize(
    ("notes", "reason"),
    [
        ("vu la famille\x00", "caractère de contrôle interdit (U+0000, position 14)"),
        ("x" * 100_000, f"trop long (100{NNBSP}000 caractères ; au plus 20{NNBSP}000)"),
    ],
)
def test_a_form_value_with_a_nul_or_too_long_is_refused_before_anything_is_written(
    app: App, notes: str, reason: str
) -> None:
    case_id = add_case(app, state="follow_up", cycle=1)
    events_before = len(rows_of(app, Event))
    with pytest.raises(InvalidTransitionData) as bad:
        app.engine.fire_case(
            case_id, "record_contact", ME, channel="phone", duration_min=10, notes=notes
        )
    assert bad.value.field == "notes"
    assert reason in bad.value.french()
    (case,) = [c for c in rows_of(app, Case) if c.id == case_id]
    assert case.version == 1
    assert len(rows_of(app, Event)) == events_before


def test_case_fire_from_the_command_line_refuses_a_control_character(app: App, db_url: str) -> None:
    add_user(app)
    case_id = add_case(app, state="follow_up", cycle=1)
    out = CliRunner().invoke(
        main,
        ["--database", db_url, "case", "fire", str(case_id), "record_contact",
         "-d", "channel=phone", "-d", "duration_min=5", "-d", "notes=appel\x07"],
        env=AS_REFERENTE,
    )  # fmt: skip
    assert out.exit_code == 1
    assert "champ « notes » = « appel\\x07 » : caractère de contrôle interdit" in out.output
    assert "Traceback" not in out.output


def test_rejected_rows_are_kept_with_the_import_and_written_again_on_demand(
    app: App, db_url: str, tmp_path: Path
) -> None:
    """The `.rejets.csv` could not be written (here: a folder that does not exist); the import
    is committed with its rejected rows, which the command shows and writes again, and a
    re-run that only says "déjà importé" still points to them."""
    path = hostile_contracts(tmp_path)
    lost = tmp_path / "absent" / "rejets.csv"
    report = Importer(app).run(path, "cma", actor=ME, skip_invalid=True, rejected_to=lost)
    assert report.rejected == 3
    assert report.rejected_file is None
    assert report.rejected_file_error == f"{lost} : dossier introuvable"

    add_user(app)

    def run(*args: str) -> str:
        out = CliRunner().invoke(main, ["--database", db_url, "intake", *args], env=AS_REFERENTE)
        assert out.exit_code == 0, out.output
        return out.output

    listed = run("rejects", str(report.file_id))
    assert f"contrats.csv (import n° {report.file_id} du " in listed
    assert "3 ligne(s) écartée(s)." in listed
    assert "  ligne 3 : Nom : caractère de contrôle interdit (U+0000, position 4)" in listed
    again = tmp_path / "again.csv"
    assert "écrite(s) dans" in run("rejects", "contrats.csv", "--csv", str(again))
    nowhere = CliRunner().invoke(
        main,
        ["--database", db_url, "intake", "rejects", "contrats.csv", "--csv", str(lost)],
        env=AS_REFERENTE,
    )
    assert nowhere.exit_code == 1
    assert f"{lost} : écriture impossible (dossier introuvable)" in nowhere.output
    # The same bytes as the file the import would have written.
    from casework.intake.profile import default_profile
    from casework.intake.reading import check_file, write_rejected

    write_rejected(check_file(path, default_profile("cma")), tmp_path / "direct.csv")
    assert again.read_bytes() == (tmp_path / "direct.csv").read_bytes()
    rows = again.read_text(encoding="utf-8-sig").splitlines()
    assert rows[2].startswith("3;CMA-2026-0000001;Mar\\x00tin;")
    assert f"Laval… (100{NNBSP}000 caractères)" in rows[1]
    # Importing the same file again says so, and where its rejected rows are.
    rerun = run("import", "cma", str(path), "--skip-invalid")
    assert "déjà importé" in rerun
    assert f"3 ligne(s) écartée(s) alors : casework intake rejects {report.file_id}" in rerun
    unknown = CliRunner().invoke(main, ["--database", db_url, "intake", "rejects", "autre.csv"])
    assert unknown.exit_code == 1
    assert "Aucun import « autre.csv »" in unknown.output


def test_a_dry_run_keeps_no_rejected_rows(app: App, tmp_path: Path) -> None:
    path = hostile_contracts(tmp_path)
    Importer(app).run(path, "cma", actor=ME, skip_invalid=True, dry_run=True)
    assert rows_of(app, IntakeReject) == []
    assert rows_of(app, IntakeFile) == []
