"""`casework privacy rectify`: identity and contact details corrected as the intake checks
them, in one transaction with an event that names the fields and never a value; refusals
write nothing — on both databases."""

from __future__ import annotations

from datetime import date
from typing import Any

from click.testing import CliRunner
from sqlalchemy import select

from casework.app import App
from casework.cli import main
from casework.models.tables import EVENTS, PEOPLE
from casework.names import name_key
from tests.factories import add_case, add_user


def rectify(db_url: str, *args: str) -> Any:
    return CliRunner().invoke(main, ["--database", db_url, "privacy", "rectify", *args])


def person_of(app: App) -> Any:
    with app.db.read() as conn:
        return conn.execute(select(PEOPLE)).one()


def requests(app: App) -> list[Any]:
    with app.db.read() as conn:
        return list(conn.execute(select(EVENTS).where(EVENTS.c.entity == "person")))


def test_details_are_corrected_and_the_event_names_the_fields_only(app: App, db_url: str) -> None:
    add_user(app)
    case_id = add_case(app, birth_name="Martin")
    before = person_of(app)
    done = rectify(
        db_url, "--case", str(case_id),
        "--set", "telephone=06 12 34 56 78", "--set", "courriel=Lea.Nouvelle@Example.org",
        "--set", "nom=Martin-Durand", "--set", "code_postal=53000", "--set", "commune=Laval",
        "--set", "date_naissance=04/05/2001", "--set", "responsable_nom=Paul Martin",
        "--reason", "appel de la jeune", "--as", "referente",
    )  # fmt: skip
    assert done.exit_code == 0, done.output
    assert (
        f"Personne n° {before.id} : correction enregistrée (nom de naissance, date de naissance, "
        "téléphone, courriel, code postal, commune, nom du représentant légal)." in done.output
    )
    after = person_of(app)
    assert (after.phone, after.email) == ("06 12 34 56 78", "lea.nouvelle@example.org")
    assert (after.birth_name, after.name_key) == ("Martin-Durand", name_key("Martin-Durand"))
    assert (after.postcode, after.departement, after.commune) == ("53000", "53", "Laval")
    assert after.birth_date == date(2001, 5, 4)
    assert after.guardian_name == "Paul Martin"
    assert after.updated_at != before.updated_at
    [event] = requests(app)
    assert (event.trigger, event.entity_id, event.actor) == (
        "rectification",
        before.id,
        "referente",
    )
    assert event.data == {
        "fields": ["nom", "date_naissance", "telephone", "courriel", "code_postal", "commune",
                   "responsable_nom"],
        "reason": "appel de la jeune",
    }  # fmt: skip
    for value in ("06 12 34 56 78", "nouvelle", "Durand", "2001", "Laval", "0600000000"):
        assert value not in str(event.data)


def test_an_optional_field_may_be_emptied_and_an_unchanged_value_records_nothing(
    app: App, db_url: str
) -> None:
    add_user(app)
    add_case(app)
    person = person_of(app)
    same = rectify(db_url, str(person.id), "--set", "prenoms=Léa Marie", "--reason", "vérifié",
                   "--as", "referente")  # fmt: skip
    assert same.exit_code == 0, same.output
    assert "rien n'est changé" in same.output
    assert requests(app) == []
    cleared = rectify(db_url, str(person.id), "--set", "telephone=", "--reason", "ne l'a plus",
                      "--as", "referente")  # fmt: skip
    assert cleared.exit_code == 0, cleared.output
    assert person_of(app).phone is None
    assert requests(app)[0].data["fields"] == ["telephone"]


def test_refusals_write_nothing(app: App, db_url: str) -> None:
    add_user(app)
    add_user(app, login="eva", email="eva@ml.example", role="evaluator")
    add_case(app)
    person = person_of(app)
    pid = str(person.id)
    bad = rectify(
        db_url, pid, "--set", "telephone=06 99 88 77 66", "--set", "courriel=pas-une-adresse",
        "--set", "date_naissance=31/02/2001", "--set", "nom=", "--reason", "x", "--as", "referente",
    )  # fmt: skip
    assert bad.exit_code == 1
    assert "Rien n'est changé" in bad.output
    assert "courriel : « pas-une-adresse » — adresse électronique invalide" in bad.output
    assert "date_naissance : « 31/02/2001 » — cette date n'existe pas" in bad.output
    assert "le nom de naissance ne peut pas être vide" in bad.output
    unknown = rectify(db_url, pid, "--set", "iban=FR76", "--reason", "x", "--as", "referente")
    assert unknown.exit_code == 1
    assert "champ inconnu « iban »" in unknown.output
    shape = rectify(db_url, pid, "--set", "telephone", "--reason", "x", "--as", "referente")
    assert shape.exit_code == 2
    control = rectify(db_url, pid, "--set", "commune=La\x00val", "--reason", "x", "--as",
                      "referente")  # fmt: skip
    assert control.exit_code == 1
    assert "caractère de contrôle interdit" in control.output
    evaluator = rectify(db_url, pid, "--set", "commune=Laval", "--reason", "x", "--as", "eva")
    assert evaluator.exit_code == 1
    assert "« eva » ne peut pas corriger les données d'une personne." in evaluator.output
    nobody = rectify(db_url, "999", "--set", "commune=Laval", "--reason", "x", "--as", "referente")
    assert nobody.exit_code == 1
    assert "Aucune personne n° 999." in nobody.output
    no_reason = rectify(db_url, pid, "--set", "commune=Laval", "--as", "referente")
    assert no_reason.exit_code == 2
    assert person_of(app) == person
    assert requests(app) == []
