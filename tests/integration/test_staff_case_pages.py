"""The dashboard, the case list and the case page over HTTP, on both databases: what each role
sees (a counsellor their own cases, a manager their territory, an administrator all, an
evaluator no name), today's actions with the late ones first, actions fired from the case page
through the engine, a field's error and a guard's refusal shown beside the form (422), a
version conflict answered with the fresh page (409), a referral to a proposed partner, and the
access log of every view."""

from __future__ import annotations

import re
from datetime import date, timedelta
from html import unescape
from typing import Any

from sqlalchemy import func, select, update
from starlette.testclient import TestClient

from casework.accounts.access_log import read_access_log
from casework.actors import Actor
from casework.app import App
from casework.models import Beneficiary, Case
from casework.models.tables import ALERTS, CASES, CONTACT_LOGS, EVENTS, INBOUND, SHEETS
from tests.factories import add_case, add_contact, add_partner
from tests.staff import csrf_of, log_in, staff_client, staff_user


def signed_in(app: App, login: str) -> TestClient:
    client = staff_client(app)
    assert log_in(client, login).status_code == 303
    return client


def text_of(page: Any) -> str:
    """The page's text, tags out, spaces folded: what a person reads."""
    html = re.sub(r"<[^>]+>", " ", page.text)
    return " ".join(unescape(html).split())


def version_in(page: str, form: str) -> str:
    section = page[page.index(f'id="{form}"') :]
    found = re.search(r'name="version" value="(\d+)"', section)
    assert found, section[:2000]
    return found.group(1)


def post_action(client: TestClient, case_id: int, page: Any, form: str, **fields: Any) -> Any:
    """Post the form `form` ("action-record_contact") of the case page `page` as shown."""
    action = form.rsplit("-", 1)[-1] if form.startswith("fiche-") else form[len("action-") :]
    sheet = {"fiche": form.split("-")[1]} if form.startswith("fiche-") else {}
    return client.post(
        f"/dossiers/{case_id}",
        data={
            "csrf": csrf_of(page.text),
            "action": action,
            "version": version_in(page.text, form),
            **sheet,
            **fields,
        },
    )


def in_territory(app: App, case_id: int, departement: str) -> None:
    with app.db.transaction() as conn:
        person = select(Case.beneficiary_id).where(Case.id == case_id).scalar_subquery()
        conn.execute(
            update(Beneficiary).where(Beneficiary.id == person).values(departement=departement)
        )


def test_the_dashboard_shows_the_caseload_and_todays_actions(app: App) -> None:
    staff_user(app, "claire")
    staff_user(app, "paul")
    asked = add_case(app, referent="claire", state="consent_asked", first_names="Inès")
    late = add_case(app, referent="claire", state="consent_reminded", first_names="Hugo")
    add_case(app, referent="claire", state="follow_up", cycle=1, first_names="Zoé")
    add_case(app, referent="paul", state="consent_asked", first_names="Jules")
    page = signed_in(app, "claire").get("/")
    assert page.status_code == 200
    read = text_of(page)
    assert "3 dossiers dans votre périmètre" in read
    assert 'href="/dossiers?etat=consent_asked">Consentement à recueillir</a>' in page.text
    assert "Consentement à recueillir (2, dont 1 en retard)" in read
    # The late one first, said in words (not only in red), each a link to its form.
    assert read.index("En retard Enregistrer la réponse — Hugo MARTIN") < read.index(
        "Enregistrer la réponse — Inès MARTIN"
    )
    assert f'href="/dossiers/{late}#action-give_consent"' in page.text
    assert f'href="/dossiers/{asked}#action-give_consent"' in page.text
    assert "Point mensuel (1)" in read
    assert "Zoé MARTIN" in read
    assert "Jules" not in read  # Paul's
    with app.db.read() as conn:
        assert [(r.user_login, r.page) for r in read_access_log(conn)] == [("claire", "/")]


def test_an_unread_alert_is_on_the_dashboard_and_marked_read_from_the_case(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    now = app.clock.now()
    with app.db.transaction() as conn:
        inbound = conn.execute(
            INBOUND.insert().returning(INBOUND.c.id),
            {
                "received_at": now,
                "source": "test",
                "sender": "accueil@foyer.example",
                "subject": "Absences répétées",
                "raw": b"",
                "text": "Léa ne vient plus au foyer.",
                "kind": "answer",
                "status": "recorded",
                "case_id": case_id,
            },
        ).scalar_one()
        alert = conn.execute(
            ALERTS.insert().returning(ALERTS.c.id),
            {
                "case_id": case_id,
                "inbound_id": inbound,
                "sender": "accueil@foyer.example",
                "identified_by": "automatic",
                "created_at": now,
            },
        ).scalar_one()
    client = signed_in(app, "claire")
    dashboard = client.get("/")
    assert f'href="/dossiers/{case_id}#alerte-{alert}"' in dashboard.text
    assert "« Absences répétées »" in text_of(dashboard)
    page = client.get(f"/dossiers/{case_id}")
    assert "Léa ne vient plus au foyer." in text_of(page)
    done = client.post(
        f"/dossiers/{case_id}",
        data={"csrf": csrf_of(page.text), "action": "alerte_lue", "alerte": str(alert)},
    )
    assert done.status_code == 303
    assert "L'alerte est marquée comme lue." in text_of(client.get(done.headers["location"]))
    assert "Aucune alerte non lue." in text_of(client.get("/"))
    with app.db.read() as conn:
        assert conn.execute(select(ALERTS.c.seen_by)).scalar_one() == "claire"


def test_each_role_sees_its_scope(app: App) -> None:
    staff_user(app, "claire")
    staff_user(app, "paul")
    staff_user(app, "sophie", role="manager", territory=["53"])
    staff_user(app, "alex", role="administrator")
    staff_user(app, "eva", role="evaluator")
    mine = add_case(app, referent="claire", state="follow_up", cycle=1, first_names="Inès")
    theirs = add_case(app, referent="paul", state="consent_asked", first_names="Jules")
    far = add_case(app, referent="paul", state="consent_asked", first_names="Noé")
    in_territory(app, mine, "53")
    in_territory(app, theirs, "53")
    in_territory(app, far, "72")
    seen = {
        "claire": {mine},
        "sophie": {mine, theirs},
        "alex": {mine, theirs, far},
    }
    for login, visible in seen.items():
        client = signed_in(app, login)
        listed = client.get("/dossiers")
        assert listed.status_code == 200
        shown = {int(n) for n in re.findall(r'href="/dossiers/(\d+)"', listed.text)}
        assert shown == visible, login
        assert f"{len(visible)} dossier" in text_of(client.get("/"))
        for case_id in (mine, theirs, far):
            page = client.get(f"/dossiers/{case_id}")
            assert page.status_code == (200 if case_id in visible else 404), (login, case_id)
    page = signed_in(app, "sophie").get(f"/dossiers/{theirs}")
    read = text_of(page)
    assert f"Dossier n° {theirs} : Jules MARTIN" in read
    assert "Consentement à recueillir, depuis le" in read
    assert "Référent(e) " in read
    assert "(paul)" in read
    eva = signed_in(app, "eva")
    assert eva.get(f"/dossiers/{mine}").status_code == 403
    assert eva.get("/dossiers").status_code == 403
    assert "MARTIN" not in eva.get("/").text
    with app.db.read() as conn:
        logged = {(r.user_login, r.case_id) for r in read_access_log(conn) if r.case_id}
    assert ("claire", mine) in logged
    assert ("alex", far) in logged
    assert ("claire", theirs) not in logged  # a 404 shows nothing, logs nothing


def test_the_case_list_filters_by_state(app: App) -> None:
    staff_user(app, "claire")
    followed = add_case(app, referent="claire", state="follow_up", cycle=1)
    asked = add_case(app, referent="claire", state="consent_asked")
    client = signed_in(app, "claire")
    page = client.get("/dossiers?etat=follow_up")
    assert "<h1>Dossiers : Suivi mensuel</h1>" in page.text
    assert f'href="/dossiers/{followed}"' in page.text
    assert f'href="/dossiers/{asked}"' not in page.text
    everything = client.get("/dossiers?etat=pas_un_etat&page=x")
    assert everything.status_code == 200
    assert f'href="/dossiers/{asked}"' in everything.text
    assert "Page suivante" not in everything.text


def test_recording_a_contact_from_the_case_page(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    client = signed_in(app, "claire")
    page = client.get(f"/dossiers/{case_id}")
    assert 'id="action-record_contact"' in page.text
    assert "non renseigné" in text_of(page).split("Statut", 1)[1][:40]  # the status not known
    assert '<label for="action-record_contact-duration_min">Durée (minutes) *</label>' in page.text
    sent = post_action(
        client,
        case_id,
        page,
        "action-record_contact",
        channel="phone",
        duration_min="25",
        notes="Tout va bien au CFA.",
        difficulties=["housing", "money"],
    )
    assert sent.status_code == 303
    assert sent.headers["location"] == f"/dossiers/{case_id}?fait=record_contact#resultat"
    after = text_of(client.get(sent.headers["location"]))
    assert "Enregistré : Enregistrer un contact." in after
    assert "1 contact, 25 minutes en tout" in after
    assert "Difficultés repérées : logement, argent et budget" in after
    with app.db.read() as conn:
        contact = conn.execute(select(CONTACT_LOGS)).one()
        event = conn.execute(select(EVENTS).order_by(EVENTS.c.id.desc())).first()
    assert (contact.duration_min, contact.difficulties, contact.author) == (
        25,
        ["housing", "money"],
        "claire",
    )
    assert (event.trigger, event.actor_kind, event.actor) == ("record_contact", "person", "claire")


def test_a_value_that_does_not_fit_is_shown_beside_its_field(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    client = signed_in(app, "claire")
    page = client.get(f"/dossiers/{case_id}")
    refused = post_action(
        client,
        case_id,
        page,
        "action-record_contact",
        channel="phone",
        duration_min="beaucoup",
        notes="gardé",
    )
    assert refused.status_code == 422
    assert 'aria-invalid="true" aria-describedby="erreur-action-record_contact-duration_min"' in (
        refused.text
    )
    assert 'id="erreur-action-record_contact-duration_min"' in refused.text
    assert ">gardé</textarea>" in refused.text  # what was typed is kept
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(CONTACT_LOGS)).scalar_one() == 0


def test_a_guards_refusal_shows_its_reason(app: App) -> None:
    staff_user(app, "claire")
    minor = add_case(app, referent="claire", state="consent_asked", birth_date=date(2011, 1, 2))
    client = signed_in(app, "claire")
    page = client.get(f"/dossiers/{minor}")
    assert "Accord du représentant légal" in page.text  # asked for a minor only
    refused = post_action(client, minor, page, "action-give_consent", given_by="apprentice")
    assert refused.status_code == 422
    read = text_of(refused)
    assert (
        "Rien n'a été enregistré. L'apprenti(e) est mineur(e) : l'accord du représentant légal "
        "est nécessaire." in read
    )
    assert 'id="refus-action-give_consent"' in refused.text
    with app.db.read() as conn:
        assert conn.execute(select(CASES.c.state)).scalar_one() == "consent_asked"


def test_a_version_conflict_shows_the_fresh_page(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    client = signed_in(app, "claire")
    page = client.get(f"/dossiers/{case_id}")
    shown = version_in(page.text, "action-record_contact")
    # Meanwhile a colleague records a contact (from the command line, say).
    app.engine.fire_case(
        case_id, "record_contact", Actor.person("paul"), channel="sms", duration_min=5
    )
    conflict = post_action(  # with the version the page showed
        client, case_id, page, "action-record_contact", channel="phone", duration_min="20"
    )
    assert conflict.status_code == 409
    read = text_of(conflict)
    assert "Le dossier a changé entre-temps" in read
    assert "1 contact, 5 minutes en tout" in read  # the fresh page
    assert version_in(conflict.text, "action-record_contact") != shown
    with app.db.read() as conn:
        assert conn.execute(select(func.count()).select_from(CONTACT_LOGS)).scalar_one() == 1


def test_referring_to_a_proposed_partner(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1, postcode="53000")
    near = add_partner(app, name="Foyer de Laval", departements=["53"])
    far = add_partner(app, name="Abri du Mans", departements=["72"])
    add_contact(app, near, "accueil@foyer.example")
    add_contact(app, far, "accueil@abri.example")
    client = signed_in(app, "claire")
    first = client.get(f"/dossiers/{case_id}")
    assert 'name="besoin"' in first.text
    assert 'name="partner_id"' not in first.text
    page = client.get(f"/dossiers/{case_id}?besoin=housing")
    radios = re.findall(r'name="partner_id" value="(\d+)"', page.text)
    assert radios == [str(near), str(far)]  # nearest first
    assert "Foyer de Laval (intervient dans le département du jeune)" in text_of(page)
    form = {
        "need_category": "housing",
        "description": "Cherche un logement près du CFA",
        "consent": "oui",
    }
    # Not the first proposed, and no reason given: the guard's reason, beside the form.
    refused = post_action(client, case_id, page, "action-refer", **form, partner_id=str(far))
    assert refused.status_code == 422
    assert "Le partenaire proposé en premier pour ce besoin est « Foyer de Laval »" in text_of(
        refused
    )
    assert f'name="partner_id" value="{far}" required checked' in refused.text
    done = post_action(client, case_id, page, "action-refer", **form, partner_id=str(near))
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert "La fiche de liaison est créée en brouillon" in text_of(after)
    with app.db.read() as conn:
        sheet = conn.execute(select(SHEETS)).one()
    assert (sheet.partner_id, sheet.state) == (near, "draft")
    assert f"Fiche n° {sheet.id} : logement, vers Foyer de Laval" in text_of(after)
    # The sheet's own actions are forms of the page too: send it.
    sent = post_action(client, case_id, after, f"fiche-{sheet.id}-send")
    assert sent.status_code == 303
    assert "Enregistré : Envoyer la fiche au partenaire." in text_of(
        client.get(sent.headers["location"])
    )
    with app.db.read() as conn:
        assert conn.execute(select(SHEETS.c.state)).scalar_one() == "sent"


def test_the_timeline_is_paged_and_keeps_an_unread_alert_on_its_first_page(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    now = app.clock.now()

    def received(minutes_ago: int, subject: str) -> dict[str, Any]:
        return {
            "received_at": now - timedelta(minutes=minutes_ago),
            "source": "test",
            "sender": "accueil@foyer.example",
            "subject": subject,
            "raw": b"",
            "text": "",
            "kind": "answer",
            "status": "recorded",
            "case_id": case_id,
        }

    with app.db.transaction() as conn:
        # The oldest line of all: an alert nobody has read yet.
        inbound = conn.execute(
            INBOUND.insert().returning(INBOUND.c.id), received(1000, "Alerte ancienne")
        ).scalar_one()
        conn.execute(
            ALERTS.insert(),
            {
                "case_id": case_id,
                "inbound_id": inbound,
                "sender": "accueil@foyer.example",
                "identified_by": "automatic",
                "created_at": now - timedelta(minutes=1000),
            },
        )
        conn.execute(INBOUND.insert(), [received(i, f"Réponse {i}") for i in range(1, 61)])
    client = signed_in(app, "claire")
    page = client.get(f"/dossiers/{case_id}")
    history = page.text[page.text.index('id="titre-historique"') :]
    assert history.count("<li") == 50 + 1  # a page, and the pinned alert
    first = text_of(page)
    assert "« Réponse 1 »" in first
    assert "« Réponse 60 »" not in first
    assert "« Alerte ancienne »" in first  # pinned: the dashboard links to it here
    assert "Événements plus anciens" in first
    assert "Événements plus récents" not in first
    second = text_of(client.get(f"/dossiers/{case_id}?historique=2"))
    assert "« Réponse 60 »" in second
    assert "« Réponse 1 »" not in second
    assert "Événements plus récents" in second
    assert "Événements plus anciens" not in second
    beyond = text_of(client.get(f"/dossiers/{case_id}?historique=9"))
    assert "Rien sur cette page." in beyond
