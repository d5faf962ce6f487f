"""The partner directory's pages over HTTP, on both databases: every role reads the directory
(needs in French, territory, contacts, deadlines, the unreachable flag), filtered by need and
département, and a partner's page with its history; only an administrator edits — a contact
added, a partner deactivated and reactivated, an address made reachable — through
`partners.directory` with the partner's events, a bad value refused beside its field, a POST
without its CSRF value refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from casework.accounts.access_log import read_access_log
from casework.app import App
from casework.models.tables import CONTACTS, PARTNERS
from tests.factories import add_contact, add_partner, events
from tests.integration.test_staff_case_pages import signed_in, text_of
from tests.staff import csrf_of, staff_user


def a_directory(app: App) -> dict[str, int]:
    foyer = add_partner(app, name="Foyer des jeunes travailleurs", departements=["53"], ack_days=2)
    add_contact(app, foyer, "accueil@fjt.example", name="Sophie Martin")
    lost = add_contact(app, foyer, "ancien@fjt.example", name="Marc Petit")
    with app.db.transaction() as conn:
        conn.execute(update(CONTACTS).where(CONTACTS.c.id == lost).values(unreachable=True))
    sante = add_partner(
        app,
        needs=("health", "mobility"),
        name="Mission Locale du Mans",
        kind="mission_locale",
        departements=["72"],
    )
    return {"foyer": foyer, "sante": sante}


def edit(client: Any, partner_id: int, action: str, **fields: str) -> Any:
    page = client.get(f"/partenaires/{partner_id}")
    data = {"csrf": csrf_of(page.text), "action": action, **fields}
    return client.post(f"/partenaires/{partner_id}", data=data)


def test_every_role_reads_the_directory_filtered_by_need_and_departement(app: App) -> None:
    ids = a_directory(app)
    for login, role in (("claire", "counsellor"), ("eva", "evaluator"), ("sophie", "manager")):
        staff_user(app, login, role=role)
        client = signed_in(app, login)
        read = text_of(client.get("/partenaires"))
        assert "Foyer des jeunes travailleurs (logement des jeunes) logement département 53" in read
        assert "accusé de réception sous 2 jours ouvrés" in read
        assert "Marc Petit (contact) : ancien@fjt.example — injoignable" in read
        assert "Mission Locale du Mans santé, mobilité et transport département 72" in read
    client = signed_in(app, "eva")
    health = text_of(client.get("/partenaires?besoin=health"))
    assert "Mission Locale du Mans" in health
    assert "Foyer" not in health
    sarthe = text_of(client.get("/partenaires?departement=72"))
    assert "Mission Locale du Mans" in sarthe
    assert "Foyer" not in sarthe
    assert "Aucun partenaire pour ces critères." in text_of(
        client.get("/partenaires?besoin=housing&departement=72")
    )
    page = text_of(client.get(f"/partenaires/{ids['foyer']}"))
    assert "Fiches en cours 0" in page
    assert "Modifier" not in page  # no form but an administrator's
    with app.db.read() as conn:
        assert "/partenaires" in {r.page for r in read_access_log(conn, login="eva")}


def test_the_directory_is_paged_and_keeps_its_filters(app: App) -> None:
    staff_user(app, "claire")
    for n in range(21):
        add_partner(app, name=f"Partenaire {n:02}")
    client = signed_in(app, "claire")
    first = client.get("/partenaires?besoin=housing")
    assert "Partenaire 19" in first.text
    assert "Partenaire 20" not in first.text
    assert 'href="/partenaires?besoin=housing&amp;page=2"' in first.text
    assert "Partenaire 20" in client.get("/partenaires?besoin=housing&page=2").text


def test_an_administrator_adds_a_contact(app: App) -> None:
    ids = a_directory(app)
    staff_user(app, "alex", role="administrator")
    client = signed_in(app, "alex")
    done = edit(
        client,
        ids["foyer"],
        "contact",
        courriel="Direction@FJT.example",
        nom="Anne Roux",
        telephone="02 43 00 00 00",
        role="responsable",
    )
    assert done.status_code == 303
    after = text_of(client.get(done.headers["location"]))
    assert "Le contact est enregistré." in after
    assert "Anne Roux responsable direction@fjt.example 02 43 00 00 00 oui" in after
    assert "Responsable ajouté : direction@fjt.example (par alex)" in after
    (event,) = [e for e in events(app, "partner", ids["foyer"]) if e.trigger == "add_contact"]
    assert event.actor == "alex"


def test_a_bad_contact_is_refused_beside_its_field(app: App) -> None:
    ids = a_directory(app)
    staff_user(app, "alex", role="administrator")
    client = signed_in(app, "alex")
    refused = edit(client, ids["foyer"], "contact", courriel="pas une adresse", role="contact")
    assert refused.status_code == 422
    assert "Adresse électronique invalide." in text_of(refused)
    assert 'aria-describedby="erreur-contact-courriel"' in refused.text
    assert 'value="pas une adresse"' in refused.text
    phone = edit(client, ids["foyer"], "contact", courriel="a@fjt.example", telephone="abc")
    assert "Numéro de téléphone invalide." in text_of(phone)
    with app.db.read() as conn:
        assert conn.execute(select(CONTACTS.c.email)).scalars().all() == [
            "accueil@fjt.example",
            "ancien@fjt.example",
        ]


def test_an_administrator_deactivates_reactivates_and_marks_reachable(app: App) -> None:
    ids = a_directory(app)
    staff_user(app, "alex", role="administrator")
    client = signed_in(app, "alex")
    off = edit(client, ids["foyer"], "desactiver")
    assert "il n'est plus proposé" in text_of(client.get(off.headers["location"]))
    assert "Foyer" not in text_of(client.get("/partenaires"))
    assert "Foyer des jeunes travailleurs (logement des jeunes) — désactivé" in text_of(
        client.get("/partenaires?tous=1")
    )
    edit(client, ids["foyer"], "reactiver")
    stranger = edit(client, ids["foyer"], "joignable", courriel="autre@ailleurs.example")
    assert stranger.status_code == 422
    assert "Ce n'est pas un contact de ce partenaire." in text_of(stranger)
    back = edit(client, ids["foyer"], "joignable", courriel="ancien@fjt.example")
    assert "L'adresse est de nouveau joignable" in text_of(client.get(back.headers["location"]))
    with app.db.read() as conn:
        assert not any(conn.execute(select(CONTACTS.c.unreachable)).scalars())
        assert conn.execute(select(PARTNERS.c.active).where(PARTNERS.c.id == ids["foyer"])).scalar()
    said = [e.trigger for e in events(app, "partner", ids["foyer"])]
    assert said == ["deactivate", "reactivate", "reachable"]


def test_only_an_administrator_edits_and_never_without_csrf(app: App) -> None:
    ids = a_directory(app)
    staff_user(app, "sophie", role="manager")
    manager = signed_in(app, "sophie")
    assert edit(manager, ids["foyer"], "desactiver").status_code == 403
    staff_user(app, "alex", role="administrator")
    admin = signed_in(app, "alex")
    no_csrf = admin.post(f"/partenaires/{ids['foyer']}", data={"action": "desactiver"})
    assert no_csrf.status_code == 403
    assert admin.get("/partenaires/999").status_code == 404
    assert events(app, "partner", ids["foyer"]) == []
