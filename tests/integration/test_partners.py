"""The partner directory from the command line, on both databases: a file imported whole or
not at all and again by name, contacts added, partners deactivated, addresses reachable again."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.french import faults
from casework.models import Event, LiaisonSheet, Partner, PartnerContact, Timer
from tests.factories import add_contact, add_partner, add_sheet, add_user, row

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
HEADER = "Nom;Type;Besoins;Territoire;Délai AR;Contact;Courriel;Rôle\n"


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(
        main, ["--database", db_url, *args], env={"CASEWORK_AS": "claire"}, catch_exceptions=False
    )


def partners(app: App) -> dict[str, Any]:
    with app.db.read() as conn:
        return {p.name: p for p in conn.execute(select(Partner.__table__))}


def contacts(app: App) -> dict[str, Any]:
    with app.db.read() as conn:
        return {c.email: c for c in conn.execute(select(PartnerContact.__table__))}


def test_the_example_directory_imports_and_again_changes_nothing(app: App, db_url: str) -> None:
    add_user(app, login="claire", email="claire@ml.example")
    dry = run(db_url, "partners", "import", str(EXAMPLES / "partenaires.csv"), "--dry-run")
    assert dry.exit_code == 0, dry.output
    assert "Simulation — partenaires.csv" in dry.output
    assert "Seraient créés : 7 partenaires" in dry.output
    assert partners(app) == {}  # a simulation writes nothing
    done = run(db_url, "partners", "import", str(EXAMPLES / "partenaires.csv"))
    assert done.exit_code == 0, done.output
    assert "  nouveau : ADLJ 53 (2 contacts ajoutés)" in done.output
    assert "Créés : 7 partenaires ; modifiés : 0 partenaire ; contacts ajoutés : 11" in done.output
    found = partners(app)
    adlj = found["ADLJ 53"]
    assert (adlj.kind, adlj.need_categories, adlj.departements) == ("housing", ["housing"], ["53"])
    assert (adlj.ack_days, adlj.feedback_days, adlj.active) == (2, 8, True)
    assert found["CFA de la CMA de la Mayenne"].uai == "0530914B"
    assert contacts(app)["direction@adlj53.example"].role == "manager"
    listed = run(db_url, "partners", "list").output
    # A kind the name already says is not said again.
    assert "CFA du bâtiment de la Mayenne\n" in listed
    assert "Mission Locale de la Mayenne\n" in listed
    assert "ADLJ 53 (logement des jeunes)\n" in listed
    again = run(db_url, "partners", "import", str(EXAMPLES / "partenaires.toml"))
    assert "inchangé : ADLJ 53" in again.output
    assert "Créés : 0 partenaire ; modifiés : 0 partenaire" in again.output


def test_a_file_with_a_bad_row_imports_nothing(app: App, db_url: str, tmp_path: Path) -> None:
    add_user(app, login="claire", email="claire@ml.example")
    path = tmp_path / "partenaires.csv"
    path.write_text(
        HEADER
        + "ADLJ 53;logement;logement;53;2;Sophie;accueil@adlj53.example;contact\n"
        + "ML;Mission Locale;santé, astrologie;53;;Claire;claire@ml53.example;contact\n",
        encoding="utf-8",
    )
    refused = run(db_url, "partners", "import", str(path))
    assert refused.exit_code == 1
    assert "partenaires.csv, ligne 3, colonne « Besoins » : « santé, astrologie » — besoin " in (
        refused.output
    )
    assert "partenaires.csv refusé : 1 problème ; rien n'est importé." in refused.output
    assert partners(app) == {}


def test_importing_again_updates_the_partner_of_that_name(
    app: App, db_url: str, tmp_path: Path
) -> None:
    """Known by its name (whatever the case or accents); an empty cell leaves what is
    recorded; contacts are known by their address; what the file leaves out stays."""
    add_user(app, login="claire", email="claire@ml.example")
    path = tmp_path / "partenaires.csv"
    path.write_text(
        HEADER
        + "ADLJ 53;logement;logement;53;2;Sophie;accueil@adlj53.example;contact\n"
        + "ML;Mission Locale;santé;53;;Claire;claire@ml53.example;contact\n",
        encoding="utf-8",
    )
    assert run(db_url, "partners", "import", str(path)).exit_code == 0
    before = partners(app)
    path.write_text(
        HEADER
        + "adlj 53;logement;logement, argent;53 72000;;Sophie Martin;accueil@adlj53.example;\n"
        + "adlj 53;;;;;Paul;direction@adlj53.example;responsable\n",
        encoding="utf-8",
    )
    again = run(db_url, "partners", "import", str(path))
    assert again.exit_code == 0, again.output
    assert (
        "modifié : adlj 53 (nom, besoins, territoire ; 1 contact ajouté ; 1 contact modifié)"
        in again.output
    )
    after = partners(app)
    assert set(after) == {"adlj 53", "ML"}  # renamed, not a second partner; ML left as it was
    adlj = after["adlj 53"]
    assert adlj.id == before["ADLJ 53"].id
    assert (adlj.need_categories, adlj.postcodes, adlj.ack_days) == (
        ["housing", "money"],
        ["72000"],
        2,  # its cell was empty: kept
    )
    people = contacts(app)
    assert (people["accueil@adlj53.example"].name, people["accueil@adlj53.example"].role) == (
        "Sophie Martin",
        "contact",
    )
    assert people["direction@adlj53.example"].role == "manager"


def test_contacts_added_shown_and_listed(app: App, db_url: str) -> None:
    add_user(app, login="claire", email="claire@ml.example")
    partner_id = add_partner(app, ("housing",), name="ADLJ 53", departements=["53"], ack_days=2)
    added = run(
        db_url,
        "partners",
        "add-contact",
        "adlj 53",
        "Accueil@ADLJ53.example",
        "--name",
        "Sophie Martin",
        "--phone",
        "02 43 00 20 01",
    )
    assert added.exit_code == 0, added.output
    assert "Contact accueil@adlj53.example (contact) ajouté à ADLJ 53." in added.output
    boss = run(db_url, "partners", "add-contact", str(partner_id), "direction@adlj53.example",
               "--role", "responsable")  # fmt: skip
    assert "(responsable) ajouté à ADLJ 53" in boss.output
    bad = run(db_url, "partners", "add-contact", "ADLJ 53", "accueil@", "--name", "X")
    assert bad.exit_code == 2
    assert "adresse électronique invalide" in bad.output
    unknown = run(db_url, "partners", "add-contact", "ADLJ 54", "a@b.example")
    assert unknown.exit_code == 1
    assert "Partenaire introuvable : « ADLJ 54 » (voir casework partners list)." in unknown.output
    shown = run(db_url, "partners", "show", "ADLJ 53").output
    assert "Contact : Sophie Martin <accueil@adlj53.example>, tél. 02 43 00 20 01" in shown
    assert "Responsable : ADLJ 53 <direction@adlj53.example>" in shown  # no name: the partner's
    assert "Délais : accusé de réception sous 2 jours ouvrés" in shown
    listed = run(db_url, "partners", "list", "--need", "logement").output
    assert f"{partner_id:>4}  ADLJ 53 (logement des jeunes)" in listed
    assert "logement — département 53 — accusé de réception sous 2 jours ouvrés — 2 contacts" in (
        listed
    )
    assert run(db_url, "partners", "list", "--need", "santé").output == (
        "Aucun partenaire pour ce besoin.\n"
    )


def test_a_deactivated_partner_keeps_its_open_sheets(app: App, db_url: str) -> None:
    """No new sheets (see the referral tests); the sheets it has go on, timers and all."""
    add_user(app, login="claire", email="claire@ml.example")
    add_user(app)
    partner_id = add_partner(app, ("housing",), name="ADLJ 53")
    add_contact(app, partner_id, "accueil@adlj53.example")
    sheet_id = add_sheet(app, partner_id=partner_id)
    app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    done = run(db_url, "partners", "deactivate", "ADLJ 53")
    assert done.exit_code == 0, done.output
    assert done.output == (
        "ADLJ 53 est désactivé : il n'est plus proposé et ne reçoit plus de fiches.\n"
        "Sa fiche en cours continue, relances comprises.\n"
    )
    partner = partners(app)["ADLJ 53"]
    assert (partner.active, partner.deactivated_by) == (False, "claire")
    assert row(app, LiaisonSheet, sheet_id).state == "sent"
    with app.db.read() as conn:
        pending = conn.execute(
            select(Timer.trigger).where(Timer.entity_id == sheet_id, Timer.status == "pending")
        ).scalars()
        assert sorted(pending) == ["escalate", "mark_overdue", "remind"]
    app.engine.fire_sheet(sheet_id, "acknowledge", Actor.partner("accueil@adlj53.example"))
    assert "Désactivé le " in run(db_url, "partners", "show", "ADLJ 53").output
    assert run(db_url, "partners", "list").output == "Aucun partenaire.\n"
    assert "— désactivé" in run(db_url, "partners", "list", "--all").output
    again = run(db_url, "partners", "deactivate", "ADLJ 53")
    assert again.output == "ADLJ 53 est déjà désactivé.\n"
    back = run(db_url, "partners", "reactivate", "ADLJ 53")
    assert back.output == "ADLJ 53 est de nouveau proposé et reçoit des fiches.\n"
    assert partners(app)["ADLJ 53"].active


def test_an_unreachable_address_is_made_reachable_again(app: App, db_url: str) -> None:
    add_user(app, login="claire", email="claire@ml.example")
    one, two = add_partner(app), add_partner(app)
    for partner_id in (one, two):  # one address, a contact of two partners
        add_contact(app, partner_id, "accueil@adlj53.example")
    with app.db.transaction() as conn:
        conn.execute(update(PartnerContact).values(unreachable=True))
    assert "dont 1 injoignable" in run(db_url, "partners", "list").output
    done = run(db_url, "partners", "reachable", "ACCUEIL@adlj53.example")
    assert done.output == "accueil@adlj53.example est de nouveau joignable.\n"
    with app.db.read() as conn:
        flags = conn.execute(select(PartnerContact.unreachable)).scalars().all()
    assert flags == [False, False]
    again = run(db_url, "partners", "reachable", "accueil@adlj53.example")
    assert again.output == "accueil@adlj53.example n'était pas marquée injoignable.\n"
    nobody = run(db_url, "partners", "reachable", "personne@ailleurs.example")
    assert nobody.exit_code == 1
    assert "Aucun contact de partenaire n'a l'adresse personne@ailleurs.example." in nobody.output


def test_changing_the_directory_needs_an_active_user(app: App, db_url: str) -> None:
    result = run(db_url, "partners", "import", str(EXAMPLES / "partenaires.csv"))
    assert result.exit_code == 1
    assert "« claire » n'est pas un utilisateur de casework" in result.output
    assert partners(app) == {}


def partner_events(app: App, partner_id: int) -> list[Any]:
    with app.db.read() as conn:
        query = select(Event.__table__).where(
            Event.entity == "partner", Event.entity_id == partner_id
        )
        return list(conn.execute(query.order_by(Event.id)))


def test_every_change_to_a_partner_is_in_its_audit_trail(
    app: App, db_url: str, tmp_path: Path
) -> None:
    """Who created, changed, deactivated, reactivated a partner, added a contact or made an
    address reachable again: one event per partner changed, shown by `partners show`; a
    reactivation keeps who had deactivated it."""
    add_user(app, login="claire", email="claire@ml.example")
    add_user(app, login="marc", email="marc@ml.example")
    path = tmp_path / "annuaire.csv"
    path.write_text(
        HEADER + "ADLJ 53;logement;logement;53;2;Sophie;accueil@adlj53.example;contact\n",
        encoding="utf-8",
    )
    assert run(db_url, "partners", "import", str(path)).exit_code == 0
    partner_id = partners(app)["ADLJ 53"].id
    assert run(db_url, "partners", "import", str(path)).exit_code == 0  # nothing changes
    path.write_text(
        HEADER + "ADLJ 53;logement;logement, santé;53;3;Sophie;accueil@adlj53.example;\n"
        "ADLJ 53;;;;;Paul;direction@adlj53.example;responsable\n",
        encoding="utf-8",
    )
    assert run(db_url, "partners", "import", str(path)).exit_code == 0
    added = run(db_url, "partners", "add-contact", "ADLJ 53", "cfa@adlj53.example")
    assert added.exit_code == 0, added.output
    with app.db.transaction() as conn:
        conn.execute(update(PartnerContact).values(unreachable=True))
    assert run(db_url, "partners", "reachable", "cfa@adlj53.example").exit_code == 0
    assert run(db_url, "partners", "deactivate", "ADLJ 53").exit_code == 0
    back = CliRunner().invoke(
        main,
        ["--database", db_url, "partners", "reactivate", "ADLJ 53"],
        env={"CASEWORK_AS": "marc"},
    )
    assert back.exit_code == 0, back.output

    found = partner_events(app, partner_id)
    assert [(e.trigger, e.actor_kind, e.actor, e.case_id) for e in found] == [
        ("create", "person", "claire", None),
        ("update", "person", "claire", None),
        ("add_contact", "person", "claire", None),
        ("reachable", "person", "claire", None),
        ("deactivate", "person", "claire", None),
        ("reactivate", "person", "marc", None),
    ]
    assert found[0].data == {"file": "annuaire.csv", "contacts_added": ["accueil@adlj53.example"]}
    assert found[1].data == {
        "file": "annuaire.csv",
        "contacts_added": ["direction@adlj53.example"],
        "changes": {"need_categories": [["housing"], ["housing", "health"]], "ack_days": [2, 3]},
    }
    shown = run(db_url, "partners", "show", "ADLJ 53").output
    assert faults(shown) == []
    history = shown[shown.index("  Historique :") :].splitlines()[1:]
    assert [line.strip().split("  ", 1)[1] for line in history] == [
        "créé (import d'annuaire.csv) ; contacts ajoutés : accueil@adlj53.example (par claire)",
        "modifié (import d'annuaire.csv) : besoins : logement → logement, santé ; délai d'accusé"
        " de réception : 2 → 3 ; contacts ajoutés : direction@adlj53.example (par claire)",
        "contact ajouté : cfa@adlj53.example (par claire)",
        "adresse de nouveau joignable : cfa@adlj53.example (par claire)",
        "désactivé : ne reçoit plus de nouvelles fiches (par claire)",
        "réactivé : reçoit de nouveau des fiches (par marc)",
    ]


def test_the_database_knows_partners_by_their_folded_name(
    app: App, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two imports at once could each see no "ADLJ 53" and create it twice, spelt apart: the
    database refuses the second (the folded name is unique), and the import says so in
    French, importing nothing."""
    add_user(app, login="claire", email="claire@ml.example")
    add_partner(app, name="ADLJ 53")
    with pytest.raises(IntegrityError):
        add_partner(app, name="Adlj-53")
    from casework.partners import directory

    planned = directory.plan_import

    def meanwhile(conn: Any, entries: list[Any]) -> list[Any]:
        changes = planned(conn, entries)  # it sees no "Foyer de Laval"…
        conn.execute(  # …which another import creates before this one writes
            insert(Partner),
            {"name": "FOYER DE LAVAL", "kind": "housing", "created_at": app.clock.now()},
        )
        return changes

    monkeypatch.setattr(directory, "plan_import", meanwhile)
    path = tmp_path / "annuaire.csv"
    path.write_text(
        HEADER + "Foyer de Laval;logement;logement;53;;Sophie;accueil@foyer.example;contact\n",
        encoding="utf-8",
    )
    refused = run(db_url, "partners", "import", str(path))
    assert refused.exit_code == 1
    assert (
        "annuaire.csv : l'annuaire a changé pendant l'import (un autre import en même temps ?) ; "
        "rien n'est importé, relancez la commande." in refused.output
    )
    assert set(partners(app)) == {"ADLJ 53"}
    monkeypatch.undo()
    assert run(db_url, "partners", "import", str(path)).exit_code == 0
    assert partners(app)["Foyer de Laval"].name_key == "foyer de laval"
