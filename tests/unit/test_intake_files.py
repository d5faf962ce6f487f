"""Reading the two organisations' files: every format and encoding people send, every kind of
bad row said with its file, line, column, value and reason."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from casework.intake.fields import Invalid, parse_date, parse_postcode, parse_sex
from casework.intake.files import UnreadableFile, read_table
from casework.intake.profile import ProfileError, default_profile, load_profile
from casework.intake.reading import check_file, write_rejected
from casework.intake.sample_files import (
    CMA_HEADER,
    ML_HEADER,
    caseload_rows,
    contract_rows,
    write_csv,
    write_sample_files,
    write_xlsx,
)
from casework.intake.synthetic import generate

HEADER = (
    "N° contrat;Nom;Prénoms;Date de naissance;Sexe;Employeur;Date de début;Date de fin prévue\n"
)
ROW = "C-1;Lefèvre;Élodie Marie;04/05/2008;F;Boulangerie Gautier;01/09/2026;31/08/2028\n"


def write(tmp_path: Path, text: str, encoding: str, name: str = "f.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize(
    ("encoding", "separator", "said"),
    [
        ("cp1252", ";", "CSV cp1252, séparateur point-virgule"),
        ("utf-8", ",", "CSV utf-8, séparateur virgule"),
        ("utf-8-sig", "\t", "CSV utf-8 avec BOM, séparateur tabulation"),
    ],
)
def test_csv_encodings_and_separators_are_detected(
    tmp_path: Path, encoding: str, separator: str, said: str
) -> None:
    path = write(tmp_path, (HEADER + ROW).replace(";", separator), encoding)
    checked = check_file(path, default_profile("cma"))
    assert checked.described == said
    assert checked.problems == []
    ((line, values),) = checked.records
    assert line == 2
    assert values["birth_name"] == "Lefèvre"
    assert values["first_names"] == "Élodie Marie"
    assert values["birth_date"] == date(2008, 5, 4)


def test_the_generated_season_reads_back_from_csv_and_xlsx(tmp_path: Path) -> None:
    data = write_sample_files(tmp_path, 60)
    cma = check_file(tmp_path / "contrats_cma.csv", default_profile("cma"))
    ml = check_file(tmp_path / "jeunes_ml.xlsx", default_profile("ml"))
    assert cma.described == "CSV cp1252, séparateur point-virgule"
    assert ml.described == "classeur XLSX"
    assert len(cma.records) == 60
    assert len(cma.rejected) == 4  # the bad rows the generator adds
    assert {v["ml_id"] for _, v in ml.records} | {str(r[1][0]) for r in ml.rejected} == {
        p.key for p in data.ml
    }
    # Workbook dates come as dates.
    assert all(isinstance(v["birth_date"], date) for _, v in ml.records)


def test_an_xlsx_with_text_and_serial_dates(tmp_path: Path) -> None:
    data = generate(5, seed=1)
    rows = caseload_rows(data, 1, 2026)
    rows[0]["Date de naissance"] = "14/03/2008"  # typed as text
    rows[1]["Date de naissance"] = "39520"  # a spreadsheet serial: 2008-03-13
    write_xlsx(rows, ML_HEADER, tmp_path / "ml.xlsx")
    checked = check_file(tmp_path / "ml.xlsx", default_profile("ml"))
    found = {v["ml_id"]: v for _, v in checked.records}
    assert found[rows[0]["Identifiant"]]["birth_date"] == date(2008, 3, 14)
    assert found[rows[1]["Identifiant"]]["birth_date"] == date(2008, 3, 13)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("04/05/2008", date(2008, 5, 4)),
        ("4-5-2008", date(2008, 5, 4)),
        ("2008-05-04", date(2008, 5, 4)),
        ("2008-05-04 00:00:00", date(2008, 5, 4)),
        ("39572", date(2008, 5, 4)),
        (39572, date(2008, 5, 4)),
    ],
)
def test_dates_in_every_form_people_write(value: object, expected: date) -> None:
    assert parse_date(value) == expected


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("31/02/2008", "cette date n'existe pas"),
        ("mai 2008", "date illisible"),
        ("39572.5", "date illisible"),
    ],
)
def test_bad_dates_are_said_why(value: str, reason: str) -> None:
    with pytest.raises(Invalid, match=reason):
        parse_date(value)


def test_postcodes_keep_their_leading_zero() -> None:
    assert parse_postcode(1000) == "01000"
    assert parse_postcode("2A004") == "2A004"
    with pytest.raises(Invalid, match="code postal invalide"):
        parse_postcode("Laval")


def test_every_kind_of_bad_row_is_reported_with_where_and_why(tmp_path: Path) -> None:
    data = generate(3, seed=2)
    rows = contract_rows(data, 2, 2026, bad_rows=False)
    rows.append({**rows[0], "N° contrat": "X-1", "Date de naissance": "31/02/2008"})
    rows.append({**rows[0], "N° contrat": " "})  # the file's key: the only identity required
    rows.append({**rows[0], "N° contrat": "X-3", "Date de fin prévue": "01/01/2020"})
    rows.append({**rows[0], "N° contrat": "X-4", "SIRET": "123"})
    rows.append({**rows[0], "N° contrat": "X-5", "Date de rupture": "01/01/2030"})
    rows.append({**rows[0], "N° contrat": "X-6", "Date de naissance": "01/01/1970"})
    rows.append({**rows[0], "N° contrat": "X-7", "Sexe": "?"})
    rows.append({**rows[0], "N° contrat": "X-8", "Date de début": ""})  # a case needs it
    rows.append({**rows[1]})  # the same contract twice
    path = tmp_path / "contrats.csv"
    write_csv(rows, CMA_HEADER, path, "cp1252", ";")
    checked = check_file(path, default_profile("cma"))
    said = [str(p) for p in checked.problems]
    assert said == [
        "contrats.csv, ligne 5, colonne « Date de naissance » : « 31/02/2008 » — "
        "cette date n'existe pas",
        "contrats.csv, ligne 6, colonne « N° contrat » — valeur obligatoire manquante",
        "contrats.csv, ligne 7, colonne « Date de fin prévue » : « 01/01/2020 » — "
        "la fin prévue précède le début du contrat",
        "contrats.csv, ligne 8, colonne « SIRET » : « 123 » — SIRET invalide (14 chiffres)",
        "contrats.csv, ligne 9, colonne « Date de rupture » : « 01/01/2030 » — "
        "la rupture tombe hors du contrat",
        said[5],
        "contrats.csv, ligne 11, colonne « Sexe » : « ? » — "
        "sexe illisible (F ou M ; vide ou « NR » s'il est inconnu)",
        "contrats.csv, ligne 12, colonne « Date de début » — valeur obligatoire manquante",
        f"contrats.csv, ligne 13, colonne « N° contrat » : « {rows[1]['N° contrat']} » — "
        "identifiant en double (déjà ligne 3)",
    ]
    assert said[5] == (
        "contrats.csv, ligne 10, colonne « Date de naissance » : « 01/01/1970 » — "
        "âge invraisemblable : 56 ans au début du contrat (attendu : de 14 à 30 ans)"
    )
    assert len(checked.records) == 3
    # The rejected rows, written back with why, open in a spreadsheet as they are.
    write_rejected(checked, tmp_path / "rejets.csv")
    text = (tmp_path / "rejets.csv").read_text(encoding="utf-8-sig")
    assert text.splitlines()[0].startswith("Ligne;N° contrat;Nom;")
    assert text.splitlines()[0].endswith(";Erreurs")
    assert "Sexe : sexe illisible (F ou M" in text
    assert len(text.splitlines()) == 1 + 9


def test_the_mission_locales_list_may_leave_the_sex_out(tmp_path: Path) -> None:
    data = generate(3, seed=2)
    rows = caseload_rows(data, 2, 2026)
    rows[0]["Sexe"] = ""
    path = tmp_path / "jeunes.csv"
    write_csv(rows, ML_HEADER, path, "utf-8", ";")
    checked = check_file(path, default_profile("ml"))
    assert checked.problems == []
    assert checked.records[0][1]["sex"] is None


@pytest.mark.parametrize(
    ("written", "sex"),
    [("F", "F"), ("féminin", "F"), ("Mme", "F"), ("H", "M"), ("Homme", "M"), ("M.", "M")],
)
def test_the_sex_as_people_write_it(written: str, sex: str) -> None:
    assert parse_sex(written) == sex


def test_a_missing_column_is_one_clear_problem(tmp_path: Path) -> None:
    path = write(tmp_path, "Nom;Prénom\nDupont;Léa\n", "utf-8")
    checked = check_file(path, default_profile("cma"))
    assert checked.records == []
    first = str(checked.problems[0])
    assert first.startswith("f.csv, ligne 1 — colonne obligatoire absente : numéro de contrat")
    assert "« N° contrat »" in first


def test_unreadable_files_say_so(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile, match="le fichier est vide"):
        read_table(write(tmp_path, "", "utf-8"))
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04 not really a workbook")
    with pytest.raises(UnreadableFile, match="classeur XLSX illisible"):
        read_table(broken)
    with pytest.raises(UnreadableFile, match="impossible de lire"):
        read_table(tmp_path / "absent.csv")


def test_a_file_the_system_will_not_open_is_said_in_french(tmp_path: Path) -> None:
    with pytest.raises(UnreadableFile) as error:
        read_table(tmp_path / "absent.csv")
    said = f"{tmp_path / 'absent.csv'} : impossible de lire le fichier (fichier introuvable)"
    assert error.value.french() == said
    with pytest.raises(UnreadableFile, match=r"impossible de lire le fichier \(c'est un dossier\)"):
        read_table(tmp_path)
    (tmp_path / "a.csv").write_text("x\n", encoding="utf-8")
    with pytest.raises(UnreadableFile, match="un élément du chemin n'est pas un dossier"):
        read_table(tmp_path / "a.csv" / "b.csv")
    with pytest.raises(ProfileError, match=r"illisible \(fichier introuvable\)"):
        load_profile(tmp_path / "profil.toml")
    # Writing, too: the sample files into a folder inside a file.
    from click.testing import CliRunner

    from casework.cli import main

    folder = str(tmp_path / "a.csv" / "saison")
    out = CliRunner().invoke(main, ["intake", "sample-files", folder])
    assert out.exit_code == 1
    assert "écriture impossible (un élément du chemin n'est pas un dossier)" in out.output
    assert "Traceback" not in out.output


def test_a_profile_renames_columns_and_keeps_the_defaults(tmp_path: Path) -> None:
    profile_path = tmp_path / "layout.toml"
    profile_path.write_text('source = "cma"\n[columns]\nbirth_name = "NOM_NAISSANCE"\n')
    profile = load_profile(profile_path)
    assert profile.columns["birth_name"] == ("NOM_NAISSANCE",)
    assert profile.columns["first_names"] == default_profile("cma").columns["first_names"]
    path = write(tmp_path, HEADER.replace(";Nom;", ";nom_naissance;") + ROW, "utf-8")
    assert check_file(path, profile).problems == []
    profile_path.write_text('source = "cma"\n[columns]\nsurname = "NOM"\n')
    with pytest.raises(ProfileError, match="champ inconnu « surname »"):
        load_profile(profile_path)
    profile_path.write_text('source = "caf"\n')
    with pytest.raises(ProfileError, match="« source » doit valoir cma ou ml"):
        load_profile(profile_path)
