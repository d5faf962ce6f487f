"""A season with files as organisations really send them, against real databases: no sex or
employer column, old levels, a status column, rows missing a name or a birth date; eligibility
declared per cohort in the settings, down to a season on the chamber's file alone; what the
command line says (ignored columns, incomplete rows, review texts, who is eligible and why)."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import select, text, update

from casework.actors import Actor
from casework.app import App, build_app
from casework.clock import FixedClock
from casework.demo.mailcatcher import MailCatcher
from casework.intake import matching
from casework.intake.eligibility import Eligibility, Rule
from casework.intake.importer import Importer
from casework.intake.sample_files import write_sample_files
from casework.models import Beneficiary, Case, Contract
from casework.notify.sender import MailSender
from casework.settings import Settings
from tests.factories import add_case, add_user, assign
from tests.integration.test_intake import sex_by_contract

ME = Actor.person("referente")
COHORT = 2026
HEADER = "N° contrat;Nom;Prénoms;Date de naissance;Date de début;Date de fin prévue"
ROW = "C-1;Lefèvre;Élodie;04/05/2008;01/09/2026;31/08/2028"


def cli(db_url: str, *args: str, code: int = 0, config: Path | None = None) -> str:
    from casework.cli import main

    options = ["--config", str(config)] if config else []
    out = CliRunner().invoke(
        main,
        [*options, "--database", db_url, *args],
        env={"CASEWORK_AS": "referente"},
        catch_exceptions=False,
    )
    assert out.exit_code == code, out.output
    return out.output


def test_a_season_with_files_as_they_are_sent(app: App, db_url: str, tmp_path: Path) -> None:
    data = write_sample_files(tmp_path, 150, seed=4, cohort=COHORT, as_sent=True)
    add_user(app)
    cma, ml = tmp_path / "contrats_cma.csv", tmp_path / "jeunes_ml.xlsx"
    done = cli(db_url, "intake", "import", "cma", str(cma), "--skip-invalid")
    assert "150 nouvelle(s) ligne(s)" in done
    incomplete = int(re.search(r"dont (\d+) incomplète\(s\)", done).group(1))  # type: ignore[union-attr]
    assert incomplete > 0
    assert "colonnes ignorées : « Téléphone », « Observations »" in done
    assert "4 ligne(s) écartée(s)" in done
    cli(db_url, "intake", "import", "ml", str(ml))
    with app.db.read() as conn:
        stored = {
            r.key: r.data
            for r in conn.execute(text("SELECT key, data FROM intake_records WHERE source='cma'"))
        }
    values = next(v if isinstance(v, dict) else json.loads(v) for v in stored.values())
    assert values["diploma_level"] in (3, 4, 5)  # "V", "IV", "III" in the file
    assert values["learner_status"] in ("apprentice", "student")
    assert values["training_year"] in (1, 2)
    assert "sex" not in values
    assert "employer_name" not in values
    matched = cli(db_url, "intake", "match", str(COHORT))
    assert f"Cohorte {COHORT} : 150 contrat(s)" in matched
    review = cli(db_url, "intake", "review", "--limit", "100")
    # Incomplete records are there, said so, and no separator dangles around an empty field.
    assert "la date de naissance : une personne vérifie" in review
    assert "date de naissance : absente d'un côté (+0,0)" in review
    assert not re.search(r"\(\+?-?\d+\.\d\)", review)  # no decimal point: "(+7,6)"
    assert "inconnu" in review
    for line in review.splitlines():
        if line.startswith(("  CMA : ", "  ML  : ")):
            assert not re.search(r"(, ,|,\s*$|^\s*,| ,|\s{2,}\S.*\s{2,})", line[8:]), line
    dry = cli(db_url, "intake", "assign", str(COHORT), "--dry-run", "--limit", "0")
    assert dry.startswith(f"Cohorte {COHORT} — simulation : rien n'est enregistré.\n")
    assert "Règle : sur les deux fichiers (CMA et Mission Locale) ; contrat commencé du " in dry
    eligible, refused_count = map(
        int,
        re.search(r"(\d+) contrat\(s\) retenu\(s\), (\d+) non retenu", dry).groups(),  # type: ignore[union-attr]
    )
    assert eligible + refused_count == 150
    assert "pas rapproché d'un jeune de la Mission Locale" in dry
    assert "rapprochement à examiner (casework intake review)" in dry
    with app.db.read() as conn:
        assert conn.execute(select(Case.id)).first() is None  # a dry run writes nothing
    assigned = cli(
        db_url, "intake", "assign", str(COHORT), "--method", "parity", "--allocate", "balanced"
    )
    counts = re.search(r"(\d+) test, (\d+) témoin", assigned)
    assert counts is not None
    assert sum(map(int, counts.groups())) == eligible
    assert f"{refused_count} contrat(s) sans dossier non retenu(s)" in assigned
    # A case's identity comes from both files: the chamber's gives no sex, the Mission
    # Locale's does; nobody is guessed.
    with app.db.read() as conn:
        people = conn.execute(select(Beneficiary.sex, Beneficiary.ml_id)).all()
        contracts = conn.execute(select(Contract.employer_name, Contract.learner_status)).all()
    truth = {p.key: p.sex for p in data.ml}
    assert all(sex == truth[ml_id] for sex, ml_id in people)
    assert {employer for employer, _ in contracts} == {None}
    assert {status for _, status in contracts} <= {"apprentice", "student"}


def pilot_rule(files: str = "cma") -> Eligibility:
    """The pilot's conclusion: every apprentice entering the first year of a CAP, BP or Bac pro
    at the chamber's training centre."""
    return Eligibility(
        Rule(),
        {
            COHORT: Rule(
                files=files,
                diplomas=("CAP", "BP", "Bac pro"),
                training_years=(1,),
                training_centres=("0530914B",),
                statuses=("apprentice",),
            )
        },
    )


@pytest.fixture
def pilot_app(settings: Settings, clock: FixedClock) -> App:
    intake = dataclasses.replace(settings.intake, eligibility=pilot_rule())
    application = build_app(dataclasses.replace(settings, intake=intake), clock)
    yield application  # type: ignore[misc]
    application.close()


def test_a_season_on_the_chambers_file_alone(pilot_app: App, tmp_path: Path) -> None:
    app = pilot_app
    write_sample_files(tmp_path, 120, seed=6, cohort=COHORT, as_sent=True)
    report = Importer(app).run(tmp_path / "contrats_cma.csv", "cma", actor=ME, skip_invalid=True)
    assert report.ignored == ["« Téléphone »", "« Observations »"]
    assert not matching.match(app, COHORT).needed  # nothing to cross-match
    with app.db.read() as conn:
        rows = {
            key: data
            for key, data in conn.execute(
                select(text("key"), text("data")).select_from(text("intake_records"))
            )
        }
    rows = {k: v if isinstance(v, dict) else json.loads(v) for k, v in rows.items()}
    expected = {
        key
        for key, row in rows.items()
        if row.get("training_year") == 1
        and row.get("training_centre_uai") == "0530914B"
        and row.get("learner_status") == "apprentice"
        and row["diploma"].split()[0] in ("CAP", "BP", "Bac")
        and all(row.get(f) for f in ("birth_name", "first_names", "birth_date"))
    }
    assert 0 < len(expected) < len(rows)
    done = assign(app, COHORT, "lottery", seed=9, strata=("sex",), actor=ME)
    assert sum(done.cases.values()) == len(expected)
    assert done.not_eligible == len(rows) - len(expected)
    made = sex_by_contract(app)
    with app.db.read() as conn:
        ml_ids = set(conn.execute(select(Beneficiary.ml_id)).scalars())
    assert set(made) == expected
    assert set(made.values()) == {None}  # the chamber's file gives no sex: unknown, not guessed
    assert ml_ids == {None}


PILOT_CONFIG = (
    f'[intake.eligibility.{COHORT}]\nfiles = "cma"\ndiplomas = ["CAP", "BP", "Bac pro"]\n'
    'training_years = [1]\ntraining_centres = ["0530914B"]\nstatuses = ["apprenti"]\n'
)
PILOT_HEADER = (
    "N° contrat;Nom;Prénoms;Date de naissance;Date de début;Date de fin prévue;Diplôme;"
    "Niveau;Année de formation;UAI;CFA;Statut"
)
PILOT_GOOD = "01/09/2026;31/08/2028;CAP Boulanger;V;1;0530914B;CFA de la CMA;Apprenti"


def pilot_file(app: App, tmp_path: Path, *rows: str) -> Path:
    """The chamber's file of `rows` imported, and the pilot's rule (the chamber's file alone)
    written as settings: the configuration file's path."""
    path = tmp_path / "contrats.csv"
    path.write_text("\n".join([PILOT_HEADER, *rows]) + "\n", encoding="utf-8")
    Importer(app).run(path, "cma", actor=ME)
    config = tmp_path / "casework.toml"
    config.write_text(PILOT_CONFIG, encoding="utf-8")
    return config


def test_the_dry_run_says_why_each_contract_is_not_taken(
    pilot_app: App, db_url: str, tmp_path: Path
) -> None:
    app = pilot_app
    add_user(app)
    good = PILOT_GOOD
    config = pilot_file(
        app,
        tmp_path,
        f"C-1;Martin;Léa;04/05/2008;{good}",
        f"C-2;Durand;Théo;04/05/2008;{good.replace('CAP Boulanger', 'BTS Esthétique')}",
        f"C-3;Petit;Zoé;04/05/2008;{good.replace(';1;', ';2e année;')}",
        f"C-4;Roux;Noé;04/05/2008;{good.replace('0530914B;CFA de la CMA', ';Lycée du Mans')}",
        f"C-5;Blanc;Ana;04/05/2008;{good.replace('Apprenti', 'Étudiante')}",
        f"C-6;Morel;Léo;04/05/2008;{good.replace('01/09/2026', '15/01/2027')}",
        f"C-7;;Inès;;{good}",
    )
    dry = cli(db_url, "intake", "assign", str(COHORT), "--dry-run", config=config)
    assert dry.splitlines()[1] == (
        "Règle : sur le fichier de la CMA seul ; contrat commencé du 01/07/2026 au 31/12/2026 ; "
        "diplômes : CAP, BP, Bac pro ; année de formation : 1re ; CFA : 0530914B ; "
        "statut : apprenti."
    )
    assert "1 contrat(s) retenu(s), 6 non retenu(s)." in dry
    said = {line.split()[0]: line for line in dry.splitlines() if line.startswith("  C-")}
    assert said["C-1"].startswith("  C-1  Léa MARTIN, CAP Boulanger, début le 01/09/2026")
    assert said["C-2"].endswith(": diplôme BTS (retenus : CAP, BP, Bac pro)")
    assert said["C-3"].endswith(": 2e année de formation (retenue : 1re)")
    assert said["C-4"].endswith(": CFA « Lycée du Mans » hors des CFA retenus")
    assert said["C-5"].endswith(": statut étudiant (retenu : apprenti)")
    assert said["C-6"].endswith(
        ": contrat commencé le 15/01/2027, hors de la fenêtre de signature "
        "(du 01/07/2026 au 31/12/2026)"
    )
    assert said["C-7"].endswith(
        ": il manque le nom et la date de naissance (dans le fichier de la CMA) : un dossier en "
        "a besoin"
    )
    assert cli(db_url, "intake", "match", str(COHORT), config=config) == (
        f"Cohorte {COHORT} : sa règle d'éligibilité ne demande que le fichier de la CMA ; rien à "
        f"rapprocher. Qui est retenu : casework intake assign {COHORT} --dry-run\n"
    )
    with app.db.read() as conn:
        assert conn.execute(select(Case.id)).first() is None
    said = cli(db_url, "intake", "assign", str(COHORT), code=2, config=config)
    assert "--method est obligatoire (sauf avec --dry-run)" in said


def test_a_young_person_twice_on_the_chambers_file_or_already_followed_is_one_case(
    pilot_app: App, db_url: str, tmp_path: Path
) -> None:
    """A cohort on the chamber's file alone has no Mission Locale identifier: a young person
    who signed again after a rupture (two contracts), or who is a case already, is known by
    birth name, first names and birth date, however typed; the first contract by number that
    the rule takes is the one."""
    app = pilot_app
    add_user(app)
    followed = add_case(app, birth_name="Martin", first_names="Léa Marie")
    config = pilot_file(
        app,
        tmp_path,
        f"C-1;Lefèvre;Élodie;04/05/2008;{PILOT_GOOD.replace(';1;', ';2e année;')}",
        f"C-2;Lefèvre;Élodie;04/05/2008;{PILOT_GOOD}",
        f"C-3;LEFEVRE;ELODIE;04/05/2008;{PILOT_GOOD.replace('01/09/2026', '02/11/2026')}",
        f"C-4;MARTIN;Léa-Marie;04/05/2000;{PILOT_GOOD}",
        f"C-5;Lefèvre;Élodie Anne;04/05/2008;{PILOT_GOOD}",  # another first name: another one
        f"C-6;;Élodie;;{PILOT_GOOD}",  # nothing to tell who: no case, and nobody's place taken
    )
    dry = cli(db_url, "intake", "assign", str(COHORT), "--dry-run", config=config)
    said = {line.split()[0]: line for line in dry.splitlines() if line.startswith("  C-")}
    assert "2 contrat(s) retenu(s), 4 non retenu(s)." in dry
    assert said["C-1"].endswith(": 2e année de formation (retenue : 1re)")
    assert said["C-2"].startswith("  C-2  Élodie LEFÈVRE, CAP Boulanger")
    assert said["C-3"].endswith(": déjà retenu pour le contrat C-2")
    assert said["C-4"].endswith(f": déjà suivi (dossier n° {followed})")
    assert said["C-5"].startswith("  C-5  Élodie LEFÈVRE")
    assert "déjà" not in said["C-5"] + said["C-6"]
    done = assign(app, COHORT, "lottery", seed=3, actor=ME)
    assert sum(done.cases.values()) == 2
    with app.db.read() as conn:
        made = conn.execute(
            select(Contract.cma_number, Beneficiary.first_names)
            .join(Case, Case.contract_id == Contract.id)
            .join(Beneficiary, Beneficiary.id == Case.beneficiary_id)
            .where(Case.id != followed)
        ).all()
    assert sorted(made) == [("C-2", "Élodie"), ("C-5", "Élodie Anne")]
    again = cli(db_url, "intake", "assign", str(COHORT), "--dry-run", config=config)
    assert "0 contrat(s) retenu(s), 4 non retenu(s), 2 déjà en dossier." in again
    assert "C-3  ELODIE LEFEVRE, CAP Boulanger, début le 02/11/2026 : déjà suivi (dossier n° " in (
        again
    )


def test_the_dry_run_gives_every_reason_not_the_first(
    pilot_app: App, db_url: str, tmp_path: Path
) -> None:
    app = pilot_app
    add_user(app)
    wrong = PILOT_GOOD.replace("CAP Boulanger", "BTS Esthétique").replace(";1;", ";2e année;")
    config = pilot_file(app, tmp_path, f"C-1;;Inès;;{wrong}")
    dry = cli(db_url, "intake", "assign", str(COHORT), "--dry-run", config=config)
    assert dry.splitlines()[-1] == (
        "  C-1  Inès, BTS Esthétique, début le 01/09/2026 : diplôme BTS (retenus : CAP, BP, "
        "Bac pro) ; 2e année de formation (retenue : 1re) ; il manque le nom et la date de "
        "naissance (dans le fichier de la CMA) : un dossier en a besoin"
    )


def test_a_file_refused_whole_says_why_and_skip_invalid_is_suggested_only_where_it_helps(
    app: App, db_url: str, tmp_path: Path
) -> None:
    add_user(app)
    no_start = tmp_path / "sans_debut.csv"
    lines = (HEADER.replace(";Date de début", ""), ROW.replace(";01/09/2026", ""))
    no_start.write_text("\n".join(lines) + "\n", encoding="utf-8")
    said = cli(db_url, "intake", "import", "cma", str(no_start), "--skip-invalid", code=1)
    assert (
        "sans_debut.csv : refusé, rien n'est importé : il manque la colonne date de début du "
        "contrat" in said
    )
    assert "importe les bonnes lignes" not in said
    all_bad = tmp_path / "tout_faux.csv"
    all_bad.write_text(f"{HEADER}\n{ROW.replace('04/05', '31/02')}\n", encoding="utf-8")
    said = cli(db_url, "intake", "import", "cma", str(all_bad), "--skip-invalid", code=1)
    assert "refusé, rien n'est importé : aucune ligne n'est valable (1 problème(s))" in said
    assert "importe les bonnes lignes" not in said
    said = cli(db_url, "intake", "import", "cma", str(all_bad), code=1)
    assert "(1 problème(s) ; --skip-invalid importe les bonnes lignes)" in said


def test_a_contract_without_an_employer_reads_well_in_mails(
    mail_app: App, catcher: MailCatcher
) -> None:
    app = mail_app
    add_user(app)
    case_id = add_case(app)
    with app.db.transaction() as conn:
        conn.execute(update(Contract).values(employer_name=None))
        conn.execute(update(Beneficiary).values(sex=None))
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    app.engine.fire_case(case_id, "rupture", ME, rupture_date="2026-10-05")
    MailSender(app).drain_sync()
    caught = {str(c.message["Subject"]).split(" —")[0]: c for c in catcher.wait_for(2)}
    texts = [mail.part(kind) for mail in caught.values() for kind in ("plain", "html")]
    assert all("None" not in t for t in texts)
    consent = next(c for s, c in caught.items() if s.startswith("Consentement"))
    assert "Contrat : employeur non renseigné, à partir du 01/09/2026" in consent.part("plain")
    rupture = next(c for s, c in caught.items() if s.startswith("Rupture"))
    assert "Le contrat de Léa MARTIN a été rompu le 05/10/2026" in rupture.part("plain")


def test_the_migration_keeps_people_and_contracts(app: App, db_url: str) -> None:
    """0010 copies `beneficiaries` and `contracts` on SQLite, which other rows point to: a
    database with cases goes down before it and up again, its rows and references intact."""
    from alembic import command
    from alembic.script import ScriptDirectory

    from casework.database import Database
    from casework.migrate import _foreign_keys_checked_at_the_end, alembic_config, upgrade
    from casework.settings import DatabaseSettings

    add_case(app)
    add_case(app, group="control")
    app.close()
    db = Database(DatabaseSettings(url=db_url))
    config = alembic_config(db)
    before = ScriptDirectory.from_config(config).get_revision("0011")
    with db.engine.connect() as conn, _foreign_keys_checked_at_the_end(conn), conn.begin():
        config.attributes["connection"] = conn
        command.downgrade(config, str(before.down_revision))
    upgrade(db)
    with db.engine.connect() as conn:
        rows = conn.execute(
            text(
                "SELECT cases.id, beneficiaries.sex, contracts.employer_name, "
                "contracts.learner_status FROM cases "
                "JOIN beneficiaries ON beneficiaries.id = cases.beneficiary_id "
                "JOIN contracts ON contracts.id = cases.contract_id ORDER BY cases.id"
            )
        ).all()
        assert [tuple(r[1:]) for r in rows] == [("F", "Boulangerie Dupont", None)] * 2
        conn.execute(text("UPDATE beneficiaries SET sex = NULL"))  # unknown, from now on
        with pytest.raises(Exception, match=r"(?i)check|constraint"):
            conn.execute(text("UPDATE contracts SET learner_status = 'salarié'"))
    db.dispose()
