"""Files as organisations really send them: columns missing (sex, employer), the old level
nomenclature, a status column, rows without a name or a birth date, columns nothing reads, ages
in completed years; and profiles that say what to do about a missing column."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from casework.intake.fields import Invalid, parse_level, parse_sex, parse_status
from casework.intake.fields import parse_training_year as year
from casework.intake.levels import diploma, diploma_kind, kind_named
from casework.intake.profile import ProfileError, default_profile, load_profile
from casework.intake.reading import check_file
from casework.settings import IntakeSettings

HEADER = "N° contrat;Nom;Prénoms;Date de naissance;Date de début;Date de fin prévue"
ROW = "C-1;Lefèvre;Élodie;04/05/2008;01/09/2026;31/08/2028"


def csv(tmp_path: Path, *lines: str, name: str = "contrats.csv") -> Path:
    path = tmp_path / name
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def profile(tmp_path: Path, text: str, source: str = "cma") -> Path:
    path = tmp_path / "profil.toml"
    path.write_text(f'source = "{source}"\n{text}', encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("written", "level"),
    [
        ("3", 3), ("7", 7), (4.0, 4), ("V", 3), ("IV", 4), ("iii", 5), ("II", 6), ("I", 7),
        ("Niveau IV", 4), ("niv. 5", 5), ("Niveau 3 (CAP)", 3), ("CAP", 3),
        ("CAP Boulanger", 3), ("BP Coiffure", 4), ("Bac pro MVA", 4), ("Baccalauréat "
        "professionnel", 4), ("BTS", 5), ("Licence pro", 6), ("licence", 6), ("Master", 7),
    ],
)  # fmt: skip
def test_levels_in_both_nomenclatures_and_by_diploma_are_stored_in_the_current_one(
    written: object, level: int
) -> None:
    assert parse_level(written) == level


@pytest.mark.parametrize("written", ["VI", "2", "8", "Doctorat", "bac+1", "TP Cuisinier", "CQP"])
def test_a_bad_level_gives_the_correspondence(written: str) -> None:
    with pytest.raises(Invalid) as error:
        parse_level(written)
    said = str(error.value)
    assert said.startswith("niveau de diplôme inconnu (3 à 7, ou V à I : V = 3 (CAP, BEP) ;")
    assert "IV = 4 (bac pro, BP, BTM) ; III = 5 (BTS, BM) ; II = 6 (licence, BUT) ;" in said
    assert "I = 7 (master)" in said


def test_diploma_kinds_are_recognised_by_their_first_words() -> None:
    assert diploma_kind("CAP Métiers de la coiffure") == "CAP"
    assert diploma_kind("Bac Pro Maintenance des véhicules") == "Bac pro"
    assert diploma_kind("Brevet professionnel Boulanger") == "BP"
    assert diploma_kind("Licence professionnelle Commerce") == "Licence pro"
    assert diploma_kind("Capacité en droit") is None
    assert diploma_kind(None) is None


@pytest.mark.parametrize(
    ("written", "found"),
    [
        ("CTM Toiletteur canin", ("CTM", 3)),
        ("Certificat technique des métiers Vendeur", ("CTM", 3)),
        ("TP Cuisinier", ("Titre pro", None)),  # its level is the title's: unknown unless said
        ("TP Cuisinier niveau 3", ("Titre pro", 3)),
        ("TP Secrétaire assistant (niv. IV)", ("Titre pro", 4)),
        ("Titre professionnel Coiffeur N4", ("Titre pro", 4)),
        ("T.P. Maçon - Niveau V", ("Titre pro", 3)),
        ("CQP Boucher", ("CQP", None)),
        ("CQP Boucher niveau 3", ("CQP", None)),  # a branch's certificate: no national level
        ("Bac+2", ("Bac+2", 5)),
        ("Bac +2 Commerce", ("Bac+2", 5)),
        ("BAC + 3", ("Bac+3", 6)),
        ("Bac+5", ("Bac+5", 7)),
    ],
)
def test_the_diplomas_of_a_chambers_training_centre_are_recognised(
    written: str, found: tuple[str, int | None]
) -> None:
    assert diploma(written) == found
    assert kind_named(found[0]) == found[0]  # a rule can name them
    if found[1] is not None:
        assert parse_level(written) == found[1]


@pytest.mark.parametrize(
    ("written", "status"),
    [("Apprenti", "apprentice"), ("apprentie", "apprentice"), ("Apprenti(e)", "apprentice"),
     ("CFA", "apprentice"), ("Étudiant", "student"), ("étudiante", "student"),
     ("Enseignement supérieur", "student")],
)  # fmt: skip
def test_the_status_as_people_write_it(written: str, status: str) -> None:
    assert parse_status(written) == status


def test_a_status_that_is_none_of_them_is_said() -> None:
    with pytest.raises(Invalid, match="statut inconnu \\(apprenti ou étudiant\\)"):
        parse_status("salarié")


@pytest.mark.parametrize(
    ("written", "number"),
    [("1", 1), (1.0, 1), ("1re", 1), ("1ère année", 1), ("1A", 1), ("première", 1),
     ("2e année", 2), ("2ème", 2), ("Deuxième année", 2), ("3", 3)],
)  # fmt: skip
def test_years_of_training(written: object, number: int) -> None:
    assert year(written) == number


@pytest.mark.parametrize("written", ["0", "9", "1re session", "an 1"])
def test_a_bad_year_of_training_is_said(written: str) -> None:
    with pytest.raises(Invalid, match="année de formation illisible"):
        year(written)


@pytest.mark.parametrize("written", ["NR", "nc", "Inconnu", "non renseigné"])
def test_a_sex_the_file_says_it_does_not_know_is_unknown(written: str) -> None:
    assert parse_sex(written) is None


def test_a_file_without_sex_or_employer_columns_is_taken_sex_unknown(tmp_path: Path) -> None:
    checked = check_file(csv(tmp_path, HEADER, ROW), default_profile("cma"))
    assert checked.problems == []
    ((_line, values),) = checked.records
    assert values.get("sex") is None
    assert values.get("employer_name") is None


def test_old_levels_a_status_and_a_year_are_read_and_unused_columns_listed(
    tmp_path: Path,
) -> None:
    path = csv(
        tmp_path,
        HEADER + ";Niveau;Statut;Année de formation;Téléphone;Observations;",
        ROW + ";IV;Apprentie;1re année;06 00 00 00 00;;",
        ROW.replace("C-1", "C-2") + ";V;Étudiant;2;;;oubli",
    )
    checked = check_file(path, default_profile("cma"))
    assert checked.problems == []
    first, second = (values for _line, values in checked.records)
    assert (first["diploma_level"], first["learner_status"], first["training_year"]) == (
        4, "apprentice", 1)  # fmt: skip
    assert (second["diploma_level"], second["learner_status"], second["training_year"]) == (
        3, "student", 2)  # fmt: skip
    # Nothing dropped unsaid: the columns read from nowhere, and a value under no header.
    assert checked.ignored == ["« Téléphone »", "« Observations »", "colonne L sans en-tête"]


def test_rows_without_a_name_a_first_name_or_a_birth_date_are_kept_incomplete(
    tmp_path: Path,
) -> None:
    path = csv(
        tmp_path,
        HEADER,
        ROW,
        "C-2;;Léa;04/05/2008;01/09/2026;31/08/2028",
        "C-3;Martin;;04/05/2008;01/09/2026;31/08/2028",
        "C-4;Martin;Léa;;01/09/2026;31/08/2028",
        ";Martin;Léa;04/05/2008;01/09/2026;31/08/2028",  # no key: the one thing refused
        "C-6;Martin;Léa;30/02/2008;01/09/2026;31/08/2028",  # a date that does not exist
    )
    checked = check_file(path, default_profile("cma"))
    assert [values["contract_number"] for _line, values in checked.records] == [
        "C-1", "C-2", "C-3", "C-4"]  # fmt: skip
    assert checked.incomplete == 3
    assert [str(p) for p in checked.problems] == [
        "contrats.csv, ligne 6, colonne « N° contrat » — valeur obligatoire manquante",
        "contrats.csv, ligne 7, colonne « Date de naissance » : « 30/02/2008 » — "
        "cette date n'existe pas",
    ]


def test_ages_are_in_completed_years_and_their_range_is_a_setting(tmp_path: Path) -> None:
    # Born 09/02/1996, contract from 01/09/2026: 30 years old, not "31 ans".
    path = csv(tmp_path, HEADER, "C-1;Lefèvre;Élodie;09/02/1996;01/09/2026;31/08/2028")
    assert check_file(path, default_profile("cma")).problems == []
    strict = replace(IntakeSettings(), min_age=15, max_age=29)
    (problem,) = check_file(path, default_profile("cma"), strict).problems
    assert problem.reason == (
        "âge invraisemblable : 30 ans au début du contrat (attendu : de 15 à 29 ans)"
    )


def test_a_missing_column_says_what_would_do_without_it(tmp_path: Path) -> None:
    path = csv(tmp_path, "N° contrat;Nom;Prénoms;Date de début;Date de fin prévue", "C-1;A;B;;")
    checked = check_file(path, default_profile("cma"))
    (problem,) = checked.problems
    assert problem.reason.startswith("colonne obligatoire absente : date de naissance")
    assert "le profil peut la déclarer dans « optional »" in problem.reason
    assert checked.refused_whole == "il manque la colonne date de naissance"
    assert checked.ignored == []


def test_a_profile_marks_columns_optional_and_gives_constants_and_defaults(
    tmp_path: Path,
) -> None:
    path = csv(
        tmp_path,
        "N° contrat;Nom;Prénoms;Date de début;Date de fin prévue;Employeur;CFA",
        "C-1;Lefèvre;Élodie;01/09/2026;31/08/2028;;Lycée du Mans",
        "C-2;Martin;Léa;01/09/2026;31/08/2028;Boulangerie Gautier;Lycée du Mans",
    )
    layout = load_profile(
        profile(
            tmp_path,
            'optional = ["birth_date"]\n'
            "[constants]\n"
            'diploma_level = "IV"\n'
            'training_centre_name = "CFA de la CMA de la Mayenne"\n'
            "[defaults]\n"
            'employer_name = "Employeur à confirmer"\n'
            "sex = 'NR'\n",
        )
    )
    checked = check_file(path, layout)
    assert checked.problems == []
    first, second = (values for _line, values in checked.records)
    assert first["employer_name"] == "Employeur à confirmer"  # the cell was empty
    assert second["employer_name"] == "Boulangerie Gautier"
    assert first["diploma_level"] == second["diploma_level"] == 4
    # A constant wins over the file's column, which is then said to be ignored.
    assert first["training_centre_name"] == "CFA de la CMA de la Mayenne"
    assert checked.ignored == ["« CFA »"]
    assert first.get("birth_date") is None
    assert checked.incomplete == 2


def test_a_profile_derives_the_status_from_the_training_centre(tmp_path: Path) -> None:
    path = csv(
        tmp_path,
        HEADER + ";UAI;CFA;Statut",
        ROW + ";0530914B;CFA de la CMA;",
        ROW.replace("C-1", "C-2") + ";;Université du Mans;",
        ROW.replace("C-1", "C-3") + ";;Université du Mans;Apprenti",  # said: kept
        ROW.replace("C-1", "C-4") + ";;Autre CFA;",
    )
    layout = load_profile(
        profile(
            tmp_path,
            '[status_from_centre]\n"0530914B" = "apprenti"\n"Universite du Mans" = "étudiant"\n',
        )
    )
    checked = check_file(path, layout)
    assert [v.get("learner_status") for _line, v in checked.records] == [
        "apprentice", "student", "apprentice", None]  # fmt: skip


@pytest.mark.parametrize(
    ("text", "said"),
    [
        ('optional = ["contract_number"]\n', "numéro de contrat ne peut pas manquer"),
        ('optional = ["start_date"]\n', "le contrat en a besoin ; donnez-lui plutôt une valeur"),
        ('optional = ["surname"]\n', "champ inconnu « surname »"),
        ('[defaults]\ndiploma_level = "VI"\n', "[defaults] diploma_level : « VI » — niveau"),
        ('[constants]\ncontract_number = "X"\n', "chaque ligne a le sien"),
        ('[constants]\nsex = "F"\n[defaults]\nsex = "M"\n', "une constante et une valeur"),
        ('[status_from_centre]\n"0530914B" = "salarié"\n', "statut inconnu"),
        ("[colums]\n", "clé inconnue « colums »"),
    ],
)
def test_a_profile_that_cannot_be_used_says_why(tmp_path: Path, text: str, said: str) -> None:
    with pytest.raises(ProfileError, match=said.replace("[", "\\[").replace("(", "\\(")):
        load_profile(profile(tmp_path, text))


def test_a_profile_default_date_is_checked_as_a_file_date_would_be(tmp_path: Path) -> None:
    layout = load_profile(profile(tmp_path, "[defaults]\nplanned_end_date = 2028-08-31\n"))
    assert layout.defaults["planned_end_date"] == date(2028, 8, 31)
    path = csv(tmp_path, "N° contrat;Nom;Prénoms;Date de naissance;Date de début", ROW[:-11])
    checked = check_file(path, layout)
    assert checked.problems == []
    assert checked.records[0][1]["planned_end_date"] == date(2028, 8, 31)


def test_the_example_profiles_can_be_used() -> None:
    folder = Path(__file__).resolve().parents[2] / "examples" / "profiles"
    for path in sorted(folder.glob("*.toml")):
        load_profile(path)
    cfa = load_profile(folder / "cma-export-cfa.toml")
    assert cfa.optional == {"birth_date"}
    assert cfa.constants == {"training_year": 1}
    assert cfa.status_of_centre(None, "UNIVERSITE DU MANS") == "student"


@pytest.mark.parametrize(
    ("row", "said"),
    [
        (
            {"birth_name": "Martin", "first_names": "Léa", "birth_date": "2008-05-04",
             "sex": "F", "postcode": "53000", "commune": "Laval"},
            "Martin Léa, née le 04/05/2008, 53000 Laval",
        ),
        ({"birth_name": "Martin", "birth_date": "2008-05-04", "sex": "M"},
         "Martin (prénom inconnu), né le 04/05/2008"),
        ({"first_names": "Léa", "commune": "Laval"},
         "(nom inconnu) Léa, date de naissance inconnue, Laval"),
    ],
)  # fmt: skip
def test_a_review_row_says_what_it_lacks_without_stray_separators(row: dict, said: str) -> None:
    from casework.cli.intake import _person

    assert _person(row) == said
