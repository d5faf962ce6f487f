"""The users' pages over HTTP, on both databases: every role reads the directory (names, roles,
territories, never a password; addresses for administrators only); an administrator adds a
person, changes their name, address, role or territory, deactivates them with who takes their
cases, reactivates them and sends them the link to choose a password — through `casework.staff`
and `accounts.reset` with the person's events — and every refusal (an address already
someone's, the last administrator, cases left with nobody) is said beside its form, in the
pages' words, with nothing written; a POST without its CSRF value is refused."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casework.app import App
from casework.models import OutboxMail
from casework.models.tables import CASES, USERS
from tests.factories import add_case, events
from tests.integration.test_staff_case_pages import signed_in, text_of
from tests.staff import csrf_of, staff_user


def user(app: App, login: str) -> Any:
    with app.db.read() as conn:
        return conn.execute(select(USERS).where(USERS.c.login == login)).one()


def act(client: Any, login: str, action: str, **fields: str) -> Any:
    page = client.get(f"/utilisateurs/{login}")
    data = {"csrf": csrf_of(page.text), "action": action, **fields}
    return client.post(f"/utilisateurs/{login}", data=data)


def add(client: Any, **fields: str) -> Any:
    page = client.get("/utilisateurs")
    form = {"identifiant": "nina", "nom": "Nina Roux", "courriel": "nina@ml.example"}
    data = {"csrf": csrf_of(page.text), "action": "ajouter", "role": "counsellor", **form}
    return client.post("/utilisateurs", data={**data, **fields})


def test_every_role_reads_the_directory(app: App) -> None:
    staff_user(app, "claire", territory=["53", "72"])
    staff_user(app, "eva", role="evaluator")
    staff_user(app, "alex", role="administrator")
    for login in ("claire", "eva"):
        page = signed_in(app, login).get("/utilisateurs")
        read = text_of(page)
        assert "Claire Martin claire conseiller(ère) 53, 72 actif(ve)" in read
        assert "@ml.example" not in read  # addresses are for administrators
        assert "argon2" not in page.text
        assert "Ajouter une personne" not in read
        person = text_of(signed_in(app, login).get("/utilisateurs/claire"))
        assert "Historique" not in person
    admin = text_of(signed_in(app, "alex").get("/utilisateurs"))
    assert "claire@ml.example" in admin
    assert "Ajouter une personne" in admin
    assert signed_in(app, "eva").get("/utilisateurs/personne").status_code == 404


def test_an_administrator_adds_a_person(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    client = signed_in(app, "alex")
    done = add(client, territoire="53, 2a")
    assert done.status_code == 303
    assert done.headers["location"] == "/utilisateurs/nina?fait=ajouter#resultat"
    page = text_of(client.get(done.headers["location"]))
    assert "La personne est ajoutée." in page
    assert "Ajouté(e) : conseiller(ère), territoire 53, 2A (par alex)" in page
    nina = user(app, "nina")
    assert (nina.name, nina.role, nina.territory, nina.password_hash) == (
        "Nina Roux",
        "counsellor",
        ["53", "2A"],
        None,
    )


def test_adding_is_refused_beside_its_form(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    client = signed_in(app, "alex")
    taken = add(client, courriel="alex@ml.example")
    assert taken.status_code == 422
    assert "Rien n'a été enregistré. « alex@ml.example » est déjà l'adresse de « alex »." in (
        text_of(taken)
    )
    assert 'value="Nina Roux"' in taken.text  # what was typed, shown again
    again = add(client, identifiant="alex", courriel="autre@ml.example")
    assert "« alex » existe déjà : modifiez ses informations depuis sa page." in text_of(again)
    assert "casework" not in text_of(again)
    territory = add(client, territoire="99")
    assert 'aria-describedby="aide-ajouter-territoire erreur-ajouter-territoire"' in territory.text
    assert user(app, "alex").login == "alex"
    with app.db.read() as conn:
        assert conn.execute(select(USERS.c.login).where(USERS.c.login == "nina")).first() is None


def test_an_administrator_updates_a_person(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    staff_user(app, "claire")
    add_case(app, referent="claire", state="follow_up", cycle=1)
    client = signed_in(app, "alex")
    fields = {"nom": "Claire Martin-Roux", "courriel": "claire@ml.example", "role": "manager"}
    done = act(client, "claire", "modifier", **fields, territoire="53")
    assert done.status_code == 303
    claire = user(app, "claire")
    assert (claire.name, claire.role, claire.territory) == ("Claire Martin-Roux", "manager", ["53"])
    # An evaluator follows no case: refused while she has one, in the pages' words.
    refused = act(client, "claire", "modifier", **{**fields, "role": "evaluator"})
    assert refused.status_code == 422
    read = text_of(refused)
    assert "« claire » suit encore 1 dossier en cours : confiez-le d'abord" in read
    assert "--to" not in read
    assert user(app, "claire").role == "manager"


def test_the_last_administrator_stays_one(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    staff_user(app, "claire")
    client = signed_in(app, "alex")
    leave = act(client, "alex", "desactiver", motif="départ")
    assert leave.status_code == 422
    said = (
        "Rien n'a été enregistré. « alex » est le seul compte administrateur actif : le "
        "désactiver laisserait la plateforme sans administrateur. Nommez d'abord un autre "
        "administrateur."
    )
    assert said in text_of(leave)
    fields = {"nom": "Claire Martin", "courriel": "alex@ml.example", "role": "counsellor"}
    demoted = act(client, "alex", "modifier", **fields)
    assert "lui donner un autre rôle laisserait la plateforme" in text_of(demoted)
    assert (user(app, "alex").active, user(app, "alex").role) == (True, "administrator")


def test_deactivating_asks_who_takes_the_cases_then_reactivating(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    staff_user(app, "claire")
    staff_user(app, "paul")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    client = signed_in(app, "alex")
    page = client.get("/utilisateurs/claire")
    assert '<option value="paul">' in page.text
    assert '<option value="alex">' not in page.text  # an administrator follows no case
    nobody = act(client, "claire", "desactiver", motif="départ")
    assert nobody.status_code == 422
    assert "« claire » suit encore 1 dossier en cours : choisissez qui le reprend." in text_of(
        nobody
    )
    done = act(client, "claire", "desactiver", successeur="paul", motif="départ")
    assert done.status_code == 303
    assert not user(app, "claire").active
    with app.db.read() as conn:
        assert conn.execute(select(CASES.c.referent).where(CASES.c.id == case_id)).scalar() == (
            "paul"
        )
    back = act(client, "claire", "reactiver", motif="retour")
    assert back.status_code == 303
    page = text_of(client.get(back.headers["location"]))
    assert "Désactivé(e) : départ ; 1 dossier confié à « paul »" in page
    assert "Réactivé(e) : retour (par alex)" in page
    assert [e.trigger for e in events(app, "user", user(app, "claire").id)] == [
        "deactivate",
        "reactivate",
    ]


def test_sending_the_link_to_choose_a_password(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    staff_user(app, "claire")
    client = signed_in(app, "alex")
    for _ in range(3):
        assert act(client, "claire", "lien").status_code == 303
    fourth = act(client, "claire", "lien")
    assert fourth.status_code == 422
    assert "Trop de liens demandés pour « claire »" in text_of(fourth)
    with app.db.read() as conn:
        mails = conn.execute(select(OutboxMail.template, OutboxMail.context)).all()
    assert [m.template for m in mails] == ["staff/password_reset"] * 3
    assert {m.context["login"] for m in mails} == {"claire"}
    page = text_of(client.get("/utilisateurs/claire"))
    assert "Lien pour choisir un mot de passe envoyé par courriel (par alex)" in page


def test_only_an_administrator_edits_and_never_without_csrf(app: App) -> None:
    staff_user(app, "sophie", role="manager")
    staff_user(app, "claire")
    manager = signed_in(app, "sophie")
    assert act(manager, "claire", "desactiver", motif="départ").status_code == 403
    assert add(manager).status_code == 403
    staff_user(app, "alex", role="administrator")
    admin = signed_in(app, "alex")
    data = {"action": "desactiver", "motif": "départ"}
    assert admin.post("/utilisateurs/claire", data=data).status_code == 403
    assert user(app, "claire").active
    assert events(app, "user", user(app, "claire").id) == []


def test_these_pages_read_as_french(app: App) -> None:
    from casework.french import faults
    from tests.factories import add_contact, add_partner, add_sheet
    from tests.integration.test_proofreading import CODES, plain_of
    from tests.integration.test_staff_quarantine import quarantined, review

    staff_user(app, "alex", role="administrator")
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    draft = add_sheet(app, case_id=case_id)
    mail_id = quarantined(app, "Re: fiche", case_id=case_id, reason="acknowledge refusé : x")
    partner = add_partner(app, name="ADLJ 53", departements=["53"], ack_days=1)
    add_contact(app, partner, "accueil@adlj.example")
    client = signed_in(app, "alex")
    edit = client.post(
        f"/partenaires/{partner}",
        data={"csrf": csrf_of(client.get("/").text), "action": "contact", "courriel": "x"},
    )
    texts = {
        "quarantine": client.get("/quarantaine").text,
        "quarantine refused": review(client, mail_id, "fiche", numero=str(draft)).text,
        "partners": client.get("/partenaires").text,
        "a partner": client.get(f"/partenaires/{partner}").text,
        "a partner refused": edit.text,
        "users": client.get("/utilisateurs").text,
        "a user": client.get("/utilisateurs/claire").text,
        "a user refused": act(client, "claire", "desactiver", motif="départ").text,
        "no such user": client.get("/utilisateurs/personne").text,
    }
    plain = {name: plain_of(page) for name, page in texts.items()}
    assert {name: faults(t) for name, t in plain.items() if faults(t)} == {}
    assert CODES.findall("\n".join(plain.values())) == []
