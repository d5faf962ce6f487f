"""The evaluator's export: its columns exactly, no personal datum anywhere in the file, stable
pseudonyms, the audit row, and the refusals — on both databases."""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import hmac
import zipfile
from collections.abc import Iterator
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook
from sqlalchemy import select, update

from casework.actors import Actor
from casework.app import App, build_app
from casework.cli import main
from casework.clock import FixedClock
from casework.evaluation.export import ExportRefused, columns
from casework.evaluation.export_files import export_cohort
from casework.evaluation.model import Scope
from casework.evaluation.report import build_report
from casework.models import Beneficiary, Contract
from casework.models.tables import EVENTS
from casework.settings import EvaluationSettings, Settings
from tests.factories import add_case, add_partner, add_user
from tests.integration.test_report import block, table
from tests.report_cohort import COHORT, Person, add_cohort, keyed_app

KEY = "pseudonym-key-0123456789abcdefghijklmnop"
OTHER = "another-pseudonym-key-0123456789abcdefgh"
PERSON, TIMER = Actor.person("referente"), Actor.timer()
# What must never leave: the person's name, birth date, contact details, and every free text.
SECRETS = (
    "Quatremare",
    "QUATREMARE",
    "Zéphyrine",
    "2001-02-03",
    "03/02/2001",
    "0611223344",
    "zephyrine@example.org",
    "12 rue des Lilas",
    "Laval-Secret",
    "Gardien-Secret",
    "Boulangerie Secrète",
    "Note-privee-du-contact",
    "Description-privee-de-la-fiche",
    "Commentaire-prive-du-bilan",
    "Motif-prive-de-la-rupture",
)
PHASES = ("identification", "consent", "follow_up", "rupture")
NEEDS = (
    "housing",
    "money",
    "health",
    "mobility",
    "family",
    "employer_conflict",
    "motivation",
    "training",
    "legal",
    "other",
)
COLUMNS = [
    "pseudonyme",
    "cohorte",
    "annee_entree",
    "groupe",
    "programme",
    "age_debut_contrat",
    "sexe",
    "niveau",
    "annee_formation",
    "statut",
    "departement",
    "debut_contrat",
    "fin_prevue_contrat",
    "rupture_contrat",
    "initiative_rupture",
    "issue_contrat",
    "etat",
    "entree_etat",
    "sortie",
    *(f"jours_{p}" for p in PHASES),
    "contacts",
    "minutes_contacts",
    *(c for p in PHASES for c in (f"contacts_{p}", f"minutes_{p}")),
    "fiches",
    *(f"fiches_{n}" for n in NEEDS),
    *(f"bilan_{m}_{f}" for m in ("un_an", "fin") for f in ("situation", "diplome", "satisfaction")),
]


@pytest.fixture
def keyed(settings: Settings, clock: FixedClock) -> Iterator[App]:
    with keyed_app(settings, clock, KEY) as app:
        yield app


def expected_pseudonym(case_id: int, key: str = KEY) -> str:
    return hmac.new(key.encode(), f"case:{case_id}".encode(), hashlib.sha256).hexdigest()[:16]


def a_followed_case(app: App, clock: FixedClock) -> int:
    """A test case with every kind of personal datum and free text the export must leave out:
    consent asked, a contact, a referral, a rupture, then reorientation."""
    add_user(app)
    case_id = add_case(app, birth_name="Quatremare", first_names="Zéphyrine", postcode="53000")
    with app.db.transaction() as conn:
        conn.execute(
            update(Beneficiary)
            .where(Beneficiary.birth_name == "Quatremare")
            .values(
                birth_date=date(2001, 2, 3),
                phone="0611223344",
                email="zephyrine@example.org",
                address_line="12 rue des Lilas",
                commune="Laval-Secret",
                guardian_name="Gardien-Secret",
                departement="53",
            )
        )
        conn.execute(
            update(Contract)
            .where(Contract.employer_name == "Boulangerie Dupont")
            .values(
                employer_name="Boulangerie Secrète",
                diploma_level=3,
                training_year=1,
                learner_status="apprentice",
            )
        )
    engine = app.engine
    engine.fire_case(case_id, "ask_consent", Actor.system())
    engine.fire_case(case_id, "record_contact", PERSON, channel="phone", duration_min=15)
    clock.advance(timedelta(days=2))  # two days to get consent
    engine.fire_case(case_id, "give_consent", PERSON, given_by="apprentice")
    engine.fire_case(case_id, "start_follow_up", TIMER)
    engine.fire_case(
        case_id,
        "record_contact",
        PERSON,
        channel="visit",
        duration_min=45,
        notes="Note-privee-du-contact",
    )
    clock.advance(timedelta(days=10, hours=5))  # ten days (and some hours) followed
    partner = add_partner(app, ("housing",))
    engine.fire_case(
        case_id,
        "refer",
        PERSON,
        partner_id=partner,
        need_category="housing",
        description="Description-privee-de-la-fiche",
        consent=True,
    )
    engine.fire_case(
        case_id,
        "rupture",
        PERSON,
        rupture_date="2026-09-01",
        initiative="employer",
        reason="Motif-prive-de-la-rupture",
    )
    engine.fire_case(case_id, "record_contact", PERSON, channel="phone", duration_min=30)
    clock.advance(timedelta(days=3))  # and three days since the rupture, at the export
    return case_id


def assessed_case(app: App) -> int:
    case_id = add_case(app, state="end_assessment", cycle=6)
    app.engine.fire_case(
        case_id,
        "record_assessment",
        PERSON,
        situation="employed",
        diploma="obtained",
        satisfaction=4,
        comments="Commentaire-prive-du-bilan",
    )
    return case_id


def read_csv(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f, delimiter=";"))


def everything_in(path: Path) -> str:
    """Every byte of the file as text: a workbook's every part unzipped."""
    if path.suffix == ".xlsx":
        with zipfile.ZipFile(path) as book:
            return "".join(book.read(n).decode("utf-8", "replace") for n in book.namelist())
    return path.read_text(encoding="utf-8-sig")


def test_the_columns_are_exactly_these(keyed: App) -> None:
    phases = [(p.name, p.label) for p in keyed.workflows.latest("case").definition.phases.values()]
    assert [c.name for c in columns(phases)] == COLUMNS
    assert all(c.says for c in columns(phases))


def test_a_csv_export_has_its_rows_its_dictionary_and_nothing_personal(
    keyed: App, clock: FixedClock, tmp_path: Path
) -> None:
    followed = a_followed_case(keyed, clock)
    assessed = assessed_case(keyed)
    control = add_case(keyed, group="control", referent=None)
    out = tmp_path / "evaluation.csv"
    report = export_cohort(keyed, 2026, out, Actor.person("referente"))
    assert report.rows == 3
    rows = read_csv(out)
    assert list(rows[0]) == COLUMNS
    by_key = {r["pseudonyme"]: r for r in rows}
    assert set(by_key) == {expected_pseudonym(i) for i in (followed, assessed, control)}
    row = by_key[expected_pseudonym(followed)]
    assert {k: row[k] for k in COLUMNS[1:19]} == {
        "cohorte": "2026",
        "annee_entree": "2026",
        "groupe": "test",
        "programme": "Suivi d'un apprenti",
        "age_debut_contrat": "25",  # born 3 February 2001, contract from 1 September 2026
        "sexe": "F",
        "niveau": "3",
        "annee_formation": "1",
        "statut": "apprenti(e)",
        "departement": "53",
        "debut_contrat": "2026-09-01",
        "fin_prevue_contrat": "2028-09-01",
        "rupture_contrat": "2026-09-01",
        "initiative_rupture": "à l'initiative de l'employeur",
        "issue_contrat": "rompu",
        "etat": "Rupture du contrat",
        "entree_etat": "2026-09-13",
        "sortie": "",
    }
    days = {p: row[f"jours_{p}"] for p in PHASES}
    assert days == {"identification": "0", "consent": "2", "follow_up": "10", "rupture": "3"}
    contacts = {k: row[k] for k in COLUMNS if k.startswith(("contacts", "minutes"))}
    assert contacts == {
        "contacts": "3",
        "minutes_contacts": "90",
        "contacts_identification": "0",
        "minutes_identification": "0",
        "contacts_consent": "1",
        "minutes_consent": "15",
        "contacts_follow_up": "1",
        "minutes_follow_up": "45",
        "contacts_rupture": "1",
        "minutes_rupture": "30",
    }
    assert (row["fiches"], row["fiches_housing"], row["fiches_money"]) == ("1", "1", "0")
    assessment = by_key[expected_pseudonym(assessed)]
    assert [assessment[f"bilan_fin_{f}"] for f in ("situation", "diplome", "satisfaction")] == [
        "en emploi",
        "diplôme obtenu",
        "4",
    ]
    assert assessment["bilan_un_an_situation"] == ""
    assert by_key[expected_pseudonym(control)]["groupe"] == "témoin"
    text = everything_in(out) + everything_in(report.dictionary)  # type: ignore[arg-type]
    assert [s for s in SECRETS if s in text] == []
    dictionary = {r["colonne"]: r["description"] for r in read_csv(report.dictionary)}  # type: ignore[arg-type]
    assert set(COLUMNS) <= set(dictionary)
    assert "Âge en années révolues au début du contrat" in dictionary["age_debut_contrat"]


def test_a_workbook_export_has_a_dictionary_sheet_and_nothing_personal(
    keyed: App, clock: FixedClock, tmp_path: Path
) -> None:
    followed = a_followed_case(keyed, clock)
    assessed_case(keyed)
    out = tmp_path / "evaluation.xlsx"
    assert export_cohort(keyed, 2026, out, PERSON).rows == 2
    book = load_workbook(out, read_only=True)
    assert book.sheetnames == ["Dossiers", "Dictionnaire"]
    rows = [list(r) for r in book["Dossiers"].iter_rows(values_only=True)]
    assert rows[0] == COLUMNS
    assert rows[1][0] == expected_pseudonym(followed)
    first = dict(zip(COLUMNS, rows[1], strict=True))
    # Numbers stay numbers and dates dates (a workbook's serial number, read back as one).
    assert (first["cohorte"], first["annee_entree"], first["contacts"]) == (2026, 2026, 3)
    assert first["debut_contrat"] == datetime(2026, 9, 1)
    described = [r[0] for r in book["Dictionnaire"].iter_rows(values_only=True)]
    assert described[1 : 1 + len(COLUMNS)] == COLUMNS
    book.close()
    assert [s for s in SECRETS if s in everything_in(out)] == []


def test_the_pseudonym_is_stable_with_its_key_and_another_with_another(
    keyed: App, settings: Settings, clock: FixedClock, tmp_path: Path
) -> None:
    for _ in range(3):
        add_case(keyed)
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    export_cohort(keyed, 2026, first, PERSON)
    export_cohort(keyed, 2026, second, PERSON)
    keys = [[r["pseudonyme"] for r in read_csv(p)] for p in (first, second)]
    assert keys[0] == keys[1]
    assert all(len(k) == 16 for k in keys[0])
    other_settings = dataclasses.replace(settings, evaluation=EvaluationSettings(OTHER))
    other = build_app(other_settings, clock)
    try:
        export_cohort(other, 2026, tmp_path / "c.csv", PERSON)
    finally:
        other.close()
    others = [r["pseudonyme"] for r in read_csv(tmp_path / "c.csv")]
    assert not set(others) & set(keys[0])


def test_every_export_is_in_the_audit_log(keyed: App, tmp_path: Path) -> None:
    add_case(keyed)
    add_case(keyed)
    export_cohort(keyed, 2026, tmp_path / "e.xlsx", Actor.person("evaluatrice"))
    with keyed.db.read() as conn:
        (event,) = conn.execute(select(EVENTS).where(EVENTS.c.entity == "export")).all()
    assert (event.actor_kind, event.actor, event.entity_id, event.trigger) == (
        "person",
        "evaluatrice",
        2026,
        "export",
    )
    assert event.data == {"cohort": 2026, "rows": 2, "format": "xlsx", "file": "e.xlsx"}
    assert event.at == keyed.clock.now()


@pytest.mark.parametrize(
    ("name", "said"),
    [
        ("e.ods", "doit finir par .xlsx ou .csv"),
        ("e.csv", "la cohorte 2031 n'a aucun dossier"),
    ],
)
def test_refusals_leave_no_file(keyed: App, tmp_path: Path, name: str, said: str) -> None:
    add_case(keyed)
    folder = tmp_path / "out"
    folder.mkdir()
    with pytest.raises(ExportRefused) as refused:
        export_cohort(keyed, 2031, folder / name, PERSON)
    assert said in refused.value.french()
    assert list(folder.iterdir()) == []


def test_no_export_without_a_key(app: App, tmp_path: Path) -> None:
    add_case(app)
    with pytest.raises(ExportRefused) as refused:
        export_cohort(app, 2026, tmp_path / "e.csv", PERSON)
    assert "pas de clé de pseudonymisation" in refused.value.french()
    assert not (tmp_path / "e.csv").exists()


def cli(db_url: str, *args: str, key: str | None = KEY) -> Any:
    env = {"CASEWORK_EVALUATION_PSEUDONYM_KEY": key} if key is not None else {}
    return CliRunner().invoke(main, ["--database", db_url, "export", *args], env=env)


def test_the_command_exports_for_an_evaluator_only(app: App, db_url: str, tmp_path: Path) -> None:
    add_user(app, login="evaluatrice", email="eva@ml.example", role="evaluator")
    add_user(app)
    add_case(app)
    out = tmp_path / "e.csv"
    done = cli(db_url, "--cohort", "2026", "--out", str(out), "--as", "evaluatrice")
    assert done.exit_code == 0, done.output
    assert f"Cohorte 2026 : 1 dossier exporté dans {out}" in done.output
    assert "e.dictionary.csv" in done.output
    refused = cli(db_url, "--cohort", "2026", "--out", str(tmp_path / "f.csv"), "--as", "referente")
    assert refused.exit_code == 1
    assert "l'export leur est réservé" in refused.output
    short = cli(db_url, "--cohort", "2026", "--out", str(tmp_path / "g.csv"), key="court")
    assert short.exit_code == 1
    assert "evaluation.pseudonym_key" in short.output
    assert "court" not in short.output.replace("trop courte", "")


def test_the_entry_year_is_the_reports_the_contracts_start_year(keyed: App, tmp_path: Path) -> None:
    """A season straddles two calendar years: cohort 2026 with a contract from January 2027 is
    in the report's entry year 2027, and so is its row's `annee_entree`."""
    autumn, january = add_cohort(keyed, [Person("test"), Person("test", start=date(2027, 1, 10))])
    out = tmp_path / "evaluation.csv"
    export_cohort(keyed, COHORT, out, Actor.person("referente"))
    years = {r["pseudonyme"]: (r["cohorte"], r["annee_entree"]) for r in read_csv(out)}
    assert years == {
        expected_pseudonym(autumn): ("2026", "2026"),
        expected_pseudonym(january): ("2026", "2027"),
    }
    report = build_report(keyed, Scope(COHORT, date(2027, 6, 30)))
    rates = block(table(report, 2), "Ruptures par groupe et année d'entrée")
    assert [r[0] for r in rates.rows if r[0].startswith("Test, 20")] == ["Test, 2026", "Test, 2027"]
