"""Reading a partner directory from a spreadsheet (CSV, XLSX) or TOML: every value made sense
of, every bad one said with its file, line, column (or key), value and reason."""

from __future__ import annotations

from pathlib import Path

import openpyxl
import pytest

from casework.intake.fields import Invalid
from casework.intake.files import UnreadableFile
from casework.partners.reading import PartnerEntry, read_partners
from casework.partners.vocabulary import (
    parse_deadline,
    parse_kind,
    parse_needs,
    parse_territory,
)
from casework.settings import IntakeSettings
from casework.territory import departement_of

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "Nom;Type;Besoins;Territoire;Délai AR;Contact;Courriel;Rôle\n"


def by_name(entries: list[PartnerEntry]) -> dict[str, PartnerEntry]:
    return {e.name: e for e in entries}


def write(tmp_path: Path, text: str, name: str = "partenaires.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_the_example_spreadsheet_reads_one_row_per_contact() -> None:
    found = read_partners(EXAMPLES / "partenaires.csv")
    assert found.problems == []
    assert found.ignored == []
    partners = by_name(found.entries)
    assert len(partners) == 7
    assert sum(len(e.contacts) for e in found.entries) == 11
    ml = partners["Mission Locale de la Mayenne"]
    assert ml.columns() == {
        "name": "Mission Locale de la Mayenne",
        "kind": "mission_locale",
        "need_categories": ["money", "health", "mobility", "motivation", "other"],
        "departements": ["53"],
        "postcodes": [],
        "siret": "13000000100015",
    }
    assert [(c.email, c.role, c.phone) for c in ml.contacts] == [
        ("claire.dubois@ml53.example", "contact", "02 43 00 10 01"),
        ("direction@ml53.example", "manager", "02 43 00 10 00"),
    ]
    adlj = partners["ADLJ 53"].columns()
    assert (adlj["ack_days"], adlj["feedback_days"]) == (2, 8)
    assert partners["Habitat Jeunes Laval"].columns()["postcodes"] == ["53000", "53940"]
    assert partners["CFA de la CMA de la Mayenne"].columns()["uai"] == "0530914B"
    assert partners["Conseil départemental de la Sarthe"].columns()["departements"] == ["72"]


def test_the_example_toml_says_what_the_spreadsheet_says() -> None:
    toml = read_partners(EXAMPLES / "partenaires.toml")
    assert toml.problems == []
    sheet = by_name(read_partners(EXAMPLES / "partenaires.csv").entries)
    for entry in toml.entries:
        assert entry.columns() == sheet[entry.name].columns()
        emails = {c.email for c in sheet[entry.name].contacts}
        assert {c.email for c in entry.contacts} == emails


def test_a_workbook_with_typed_cells_reads_the_same(tmp_path: Path) -> None:
    """A spreadsheet types postcodes, SIRETs, phones and deadlines as numbers."""
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Nom", "Type", "Besoins", "Territoire", "SIRET", "Délai de retour",
                  "Courriel", "Téléphone", "Commentaire"])  # fmt: skip
    sheet.append(["Habitat Jeunes Laval", "FJT", "Logement", 53000, 13000000300011, 5.0,
                  "Accueil@HJ-Laval.example", 243003001, "à relancer"])  # fmt: skip
    path = tmp_path / "partenaires.xlsx"
    book.save(path)
    found = read_partners(path)
    assert found.problems == []
    assert found.ignored == ["Commentaire"]  # nothing dropped silently
    (entry,) = found.entries
    assert entry.columns() == {
        "name": "Habitat Jeunes Laval",
        "kind": "housing",
        "need_categories": ["housing"],
        "departements": [],
        "postcodes": ["53000"],
        "siret": "13000000300011",
        "feedback_days": 5,
    }
    ((contact),) = entry.contacts
    assert (contact.email, contact.phone, contact.name) == (
        "accueil@hj-laval.example",
        "0243003001",
        None,
    )


def test_every_bad_value_is_said_with_its_line_column_and_reason(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        HEADER
        + "ADLJ 53;logement;logement, astrologie;53;2;Sophie;accueil@adlj53.example;contact\n"
        + "ML;Mission Locale;santé;Laval;90;Claire;claire@ml;chef\n"
        + "CD;service social;famille;53;;Nadia;nadia@cd53.example;\n"
        + "cd;service social;argent;53;;Anne;nadia@cd53.example;\n",
    )
    found = read_partners(path)
    said = [str(p) for p in found.problems]
    assert said == [
        "partenaires.csv, ligne 2, colonne « Besoins » : « logement, astrologie » — besoin "
        "inconnu : astrologie (attendu : logement, argent et budget, santé, mobilité et "
        "transport, situation familiale, relations avec l'employeur, motivation, difficultés en "
        "formation, droits et démarches juridiques, autre)",
        "partenaires.csv, ligne 3, colonne « Territoire » : « Laval » — code inconnu : Laval "
        "(attendu : des départements, de 01 à 95, 2A, 2B, 971 à 974 ou 976, et des codes postaux "
        "à 5 chiffres)",
        "partenaires.csv, ligne 3, colonne « Délai AR » : « 90 » — délai invalide (un nombre de "
        "jours ouvrés, de 1 à 60)",
        "partenaires.csv, ligne 3, colonne « Courriel » : « claire@ml » — adresse électronique "
        "invalide",
        "partenaires.csv, ligne 3, colonne « Rôle » : « chef » — rôle inconnu (attendu : contact "
        "ou responsable)",
        "partenaires.csv, ligne 5, colonne « Besoins » : « argent » — contredit la ligne 4 pour "
        "ce partenaire",
        "partenaires.csv, ligne 5, colonne « Courriel » : « nadia@cd53.example » — contact déjà "
        "donné ligne 4 pour ce partenaire",
    ]
    assert [e.name for e in found.entries] == ["CD"]  # what the importer would refuse whole


def test_a_continuation_row_is_judged_as_one_when_the_first_row_was_refused(
    tmp_path: Path,
) -> None:
    """One bad value on a partner's first row is said once: its continuation rows (name and
    contact only) are not taken for first rows missing a type and needs; what they do give is
    still checked, and compared with the first row's good values."""
    path = write(
        tmp_path,
        HEADER
        + "ADLJ 53;logement;logement;Laval;2;Sophie;accueil@adlj53.example;contact\n"
        + "ADLJ 53;;;;;Paul;direction@adlj53.example;responsable\n"
        + "adlj 53;;argent;;;Léo;leo@adlj53.example;\n"
        + "ADLJ 53;;;;90;Anne;anne@;\n",
    )
    said = [str(p) for p in read_partners(path).problems]
    assert said == [
        "partenaires.csv, ligne 2, colonne « Territoire » : « Laval » — code inconnu : Laval "
        "(attendu : des départements, de 01 à 95, 2A, 2B, 971 à 974 ou 976, et des codes postaux "
        "à 5 chiffres)",
        "partenaires.csv, ligne 4, colonne « Besoins » : « argent » — contredit la ligne 2 pour "
        "ce partenaire",
        "partenaires.csv, ligne 5, colonne « Délai AR » : « 90 » — délai invalide (un nombre de "
        "jours ouvrés, de 1 à 60)",
        "partenaires.csv, ligne 5, colonne « Courriel » : « anne@ » — adresse électronique "
        "invalide",
    ]


def test_a_contact_is_checked_even_when_its_partner_is_good(tmp_path: Path) -> None:
    path = write(tmp_path, HEADER + "ADLJ 53;logement;logement;53;;Sophie;accueil@;chef\n")
    said = [str(p) for p in read_partners(path).problems]
    assert said == [
        "partenaires.csv, ligne 2, colonne « Courriel » : « accueil@ » — adresse électronique "
        "invalide",
        "partenaires.csv, ligne 2, colonne « Rôle » : « chef » — rôle inconnu (attendu : contact "
        "ou responsable)",
    ]


def test_a_missing_required_column_or_a_doubled_one_refuses_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, "Nom;Type;Courriel;E-mail\nADLJ;logement;a@b.example;c@d.example\n")
    said = [str(p) for p in read_partners(path).problems]
    assert said == [
        "partenaires.csv, ligne 1 — colonne obligatoire absente : besoins traités (en-têtes "
        "acceptés : « Besoins », « Besoins traités », « Domaines »)",
        "partenaires.csv, ligne 1 — colonnes en double pour courriel : « Courriel » (C) et "
        "« E-mail » (D)",
    ]


def test_toml_problems_are_placed_on_their_lines(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[[partner]]\nname = "ADLJ"\nkind = "logement"\nneeds = ["logement"]\n'
        'territory = ["53", "Laval"]\ncolour = "bleu"\n\n'
        '[[partner.contact]]\nemail = "accueil@adlj53.example"\nrole = "chef"\n',
        "partenaires.toml",
    )
    said = [str(p) for p in read_partners(path).problems]
    assert said == [
        "partenaires.toml, ligne 6 — clé inconnue « colour » (attendu : ack_days, contact, "
        "feedback_days, kind, name, needs, siret, territory, uai)",
        "partenaires.toml, ligne 5, clé « territory » : « 53, Laval » — code inconnu : Laval "
        "(attendu : des départements, de 01 à 95, 2A, 2B, 971 à 974 ou 976, et des codes postaux "
        "à 5 chiffres)",
        "partenaires.toml, ligne 10, clé « role » : « chef » — rôle inconnu (attendu : contact "
        "ou responsable)",
    ]
    broken = write(tmp_path, '[[partner]]\nname = "ADLJ\n', "cassé.toml")
    assert [str(p) for p in read_partners(broken).problems] == [
        "cassé.toml, ligne 2 — syntaxe TOML invalide (colonne 13)"
    ]


def test_needs_kinds_and_territories_as_people_write_them() -> None:
    assert parse_needs("Santé ; mobilité, transport / ARGENT") == ["money", "health", "mobility"]
    assert parse_needs(["housing", "logement"]) == ["housing"]
    # Rights and justice: the Mission Locale's, a CIDFF's, a legal aid office's.
    assert parse_needs("juridique, accès aux droits") == ["legal"]
    assert parse_kind("Centre de formation d'apprentis") == "training_centre"
    assert parse_kind("habitat jeunes") == "housing"
    assert parse_territory("53 72000, 2a; 974 1") == (["53", "2A", "974", "01"], ["72000"])
    assert parse_territory([53, 1000.0]) == (["53"], ["01000"])  # a workbook's numbers
    assert parse_deadline("3 jours ouvrés") == parse_deadline(3.0) == 3
    for bad in ("20", "96", "975", "977", "530000"):
        with pytest.raises(Invalid):
            parse_territory(bad)
    with pytest.raises(Invalid, match="aucun besoin"):
        parse_needs(" ; ")


@pytest.mark.parametrize(
    ("postcode", "departement"),
    [("53000", "53"), ("01000", "01"), ("20090", "2A"), ("20200", "2B"), ("97400", "974"),
     ("97100", "971"), ("97133", None), ("97150", None), ("97500", None), ("98000", None),
     ("98800", None), ("00100", None), ("5300", None), (None, None)],
)  # fmt: skip
def test_the_departement_of_a_postcode(postcode: str | None, departement: str | None) -> None:
    assert departement_of(postcode) == departement


def test_a_toml_file_too_large_or_not_utf8_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "partenaires.toml"
    path.write_bytes('[[partner]]\nname = "Société"\n'.encode("cp1252"))
    with pytest.raises(UnreadableFile, match="un fichier TOML s'écrit en UTF-8"):
        read_partners(path)
    with pytest.raises(UnreadableFile, match="fichier trop gros"):
        read_partners(path, IntakeSettings(max_file_bytes=10))


@pytest.mark.parametrize("name", ["partenaires.toml", "partenaires.csv", "partenaires.xlsx"])
def test_a_missing_file_is_said_in_french(tmp_path: Path, name: str) -> None:
    with pytest.raises(
        UnreadableFile, match=r"impossible de lire le fichier \(fichier introuvable\)"
    ):
        read_partners(tmp_path / name)


def test_hostile_text_is_refused_without_being_echoed_whole(tmp_path: Path) -> None:
    long = "A" * 100_000
    path = write(
        tmp_path,
        HEADER
        + "ADLJ\x00 53;logement;logement;53;;Sophie;accueil@adlj53.example;contact\n"
        + f"{long};logement;logement;53;;Sophie\u202e;a@b.example;contact\n",
    )
    said = [str(p) for p in read_partners(path).problems]
    assert said[0] == (
        "partenaires.csv, ligne 2, colonne « Nom » : « ADLJ\\x00 53 » — caractère de contrôle "
        "interdit (U+0000, position 5)"
    )
    assert said[1].startswith("partenaires.csv, ligne 3, colonne « Nom » : « AAAA")
    assert said[1].endswith("— trop long (100\u202f000 caractères ; au plus 120)")
    assert len(said[1]) < 250
    assert "caractère de mise en forme bidirectionnelle interdit" in said[2]
