"""The quarantine page over HTTP, on both databases: who sees which mail (an administrator all,
a manager those tied to no case or to a case of their territory, a counsellor those tied to
their cases, an evaluator nothing), the reason in French and the text escaped, and each review
— attached to a sheet, made an alert, rejected — done through `inbound.review` in one
transaction with the scope checked, refused beside its form with nothing written, and never
without the CSRF value."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from casework.accounts.access_log import read_access_log
from casework.app import App
from casework.models.tables import ALERTS, INBOUND, SHEETS
from tests.factories import add_case, add_sheet
from tests.integration.test_staff_case_pages import in_territory, signed_in, text_of
from tests.staff import csrf_of, staff_user


def quarantined(app: App, subject: str, text: str = "Bonjour,", **more: Any) -> int:
    """A mail in the quarantine; `more`: its case, sheet, reason, sender."""
    with app.db.transaction() as conn:
        return int(
            conn.execute(
                INBOUND.insert().returning(INBOUND.c.id),
                {
                    "received_at": app.clock.now(),
                    "source": "test",
                    "sender": "inconnu@ailleurs.example",
                    "subject": subject,
                    "raw": b"",
                    "text": text,
                    "kind": "answer",
                    "status": "quarantined",
                    "reason": "ne répond à aucun de nos courriels",
                    **more,
                },
            ).scalar_one()
        )


def mail(app: App, mail_id: int) -> Any:
    with app.db.read() as conn:
        return conn.execute(select(INBOUND).where(INBOUND.c.id == mail_id)).one()


def review(client: Any, mail_id: int, action: str, **fields: str) -> Any:
    page = client.get("/quarantaine")
    data = {"csrf": csrf_of(page.text), "courriel": str(mail_id), "action": action, **fields}
    return client.post("/quarantaine", data=data)


def test_each_role_sees_the_mails_of_its_scope(app: App) -> None:
    staff_user(app, "claire")
    staff_user(app, "sophie", role="manager", territory=["53"])
    staff_user(app, "alex", role="administrator")
    staff_user(app, "eva", role="evaluator")
    mine = add_case(app, referent="claire", state="follow_up", cycle=1)
    far = add_case(app, referent="paul", state="follow_up", cycle=1)
    in_territory(app, mine, "53")
    in_territory(app, far, "72")
    quarantined(app, "Sans dossier")
    quarantined(app, "Sur le dossier de Claire", case_id=mine)
    quarantined(app, "Dans la Sarthe", case_id=far)
    seen = {}
    for login in ("claire", "sophie", "alex"):
        read = text_of(signed_in(app, login).get("/quarantaine"))
        seen[login] = [s for s in ("Sans dossier", "de Claire", "Sarthe") if s in read]
    assert seen == {
        "claire": ["de Claire"],
        "sophie": ["Sans dossier", "de Claire"],
        "alex": ["Sans dossier", "de Claire", "Sarthe"],
    }
    assert signed_in(app, "eva").get("/quarantaine").status_code == 403
    with app.db.read() as conn:
        assert {r.user_login for r in read_access_log(conn)} == {"claire", "sophie", "alex"}


def test_a_mail_is_shown_with_its_reason_and_its_text_escaped(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    quarantined(
        app,
        "Re: fiche",
        text="<b>Gras</b> <script>alert(1)</script>\nDeuxième ligne",
        reason="erreur en le traitant : RuntimeError: boom",
    )
    quarantined(app, "Réponse", reason="acknowledge refusé : sheet 3 changed")
    page = signed_in(app, "alex").get("/quarantaine")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert "<script>" not in page.text
    assert "<b>" not in page.text
    read = text_of(page)
    assert "Expéditeur inconnu@ailleurs.example" in read
    assert "Une erreur a empêché de le traiter (le détail est dans le journal du service)." in read
    assert "La réponse n'a pas pu être enregistrée sur sa fiche, qui avait changé." in read
    assert "RuntimeError" not in read
    assert "acknowledge" not in read


def test_the_quarantine_is_paged(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    for n in range(21):
        quarantined(app, f"Courriel {n:02}")
    client = signed_in(app, "alex")
    first, second = client.get("/quarantaine"), client.get("/quarantaine?page=2")
    assert "Courriel 20" in first.text
    assert "Courriel 00" not in first.text
    assert 'href="/quarantaine?page=2"' in first.text
    assert "Courriel 00" in second.text
    assert "Courriel 01" not in second.text


def test_attaching_a_mail_to_a_sheet(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    sheet = add_sheet(app, state="sent", case_id=case_id)
    mail_id = quarantined(app, "Re: fiche", text="Bien reçu, nous appelons le jeune.")
    staff_user(app, "sophie", role="manager")
    client = signed_in(app, "sophie")
    done = review(client, mail_id, "fiche", numero=str(sheet))
    assert done.status_code == 303
    after = client.get(done.headers["location"])
    assert f"Courriel n° {mail_id} : rattaché à la fiche n° {sheet} par sophie." in text_of(after)
    record = mail(app, mail_id)
    assert (record.status, record.sheet_id, record.case_id) == ("recorded", sheet, case_id)
    with app.db.read() as conn:
        assert conn.execute(select(SHEETS.c.state).where(SHEETS.c.id == sheet)).scalar() == (
            "acknowledged"
        )
    # Reviewed once: the same form again (another tab) is refused, saying why.
    again = review(client, mail_id, "fiche", numero=str(sheet))
    assert again.status_code == 422
    said = f"Rien n'a été enregistré. Le courriel reçu n° {mail_id} n'est pas en quarantaine."
    assert said in text_of(again)


def test_attaching_is_refused_beside_its_form(app: App) -> None:
    staff_user(app, "claire")
    mine = add_case(app, referent="claire", state="follow_up", cycle=1)
    theirs = add_sheet(app, state="sent", case_id=add_case(app, referent="paul"))
    draft = add_sheet(app, case_id=mine)  # a draft awaits no reply
    mail_id = quarantined(app, "Re: fiche", case_id=mine)
    client = signed_in(app, "claire")
    out_of_scope = review(client, mail_id, "fiche", numero=str(theirs))
    assert out_of_scope.status_code == 422
    assert f"Fiche n° {theirs} introuvable, ou hors de votre périmètre." in text_of(out_of_scope)
    field = f"courriel-{mail_id}-fiche-numero"
    assert f'aria-describedby="aide-{field} erreur-{field}"' in out_of_scope.text
    waiting = review(client, mail_id, "fiche", numero=str(draft))
    assert waiting.status_code == 422
    assert f"Rien n'a été enregistré. La fiche n° {draft} n'attend pas de réponse" in text_of(
        waiting
    )
    not_a_number = review(client, mail_id, "fiche", numero="douze")
    assert "Un numéro est attendu (des chiffres seulement)." in text_of(not_a_number)
    assert 'value="douze"' in not_a_number.text  # what was typed, shown again
    assert mail(app, mail_id).status == "quarantined"


def test_making_a_mail_an_alert(app: App) -> None:
    staff_user(app, "claire")
    case_id = add_case(app, referent="claire", state="follow_up", cycle=1)
    control = add_case(app, referent="claire", group="control")
    mail_id = quarantined(app, "Absences", case_id=case_id)
    client = signed_in(app, "claire")
    refused = review(client, mail_id, "alerte", numero=str(control))
    assert refused.status_code == 422
    assert "n'est pas suivi (groupe témoin)" in text_of(refused)
    ended = add_case(app, referent="claire", state="positive_exit")
    refused = review(client, mail_id, "alerte", numero=str(ended))
    assert f"Le dossier n° {ended} n'est plus suivi (état : Sortie positive)." in text_of(refused)
    done = review(client, mail_id, "alerte", numero=str(case_id))
    assert done.status_code == 303
    with app.db.read() as conn:
        alert = conn.execute(select(ALERTS)).one()
    assert (alert.case_id, alert.inbound_id, alert.identified_by) == (
        case_id,
        mail_id,
        "person:claire",
    )
    assert mail(app, mail_id).reason == f"alerte sur le dossier n° {case_id}, rattachée par claire"


def test_rejecting_a_mail(app: App) -> None:
    staff_user(app, "alex", role="administrator")
    mail_id = quarantined(app, "Publicité")
    client = signed_in(app, "alex")
    empty = review(client, mail_id, "ecarter", motif="  ")
    assert empty.status_code == 422
    assert "À remplir." in text_of(empty)
    done = review(client, mail_id, "ecarter", motif="publicité")
    assert done.status_code == 303
    record = mail(app, mail_id)
    assert (record.status, record.reason) == ("rejected", "écarté par alex : publicité")
    assert "Aucun courriel en quarantaine." in text_of(client.get("/quarantaine"))


def test_a_mail_out_of_scope_or_a_post_without_csrf_is_refused(app: App) -> None:
    staff_user(app, "claire")
    mail_id = quarantined(app, "Sans dossier")  # a counsellor sees no untied mail
    client = signed_in(app, "claire")
    assert review(client, mail_id, "ecarter", motif="vu").status_code == 404
    staff_user(app, "alex", role="administrator")
    admin = signed_in(app, "alex")
    data = {"courriel": str(mail_id), "action": "ecarter", "motif": "vu"}
    assert admin.post("/quarantaine", data=data).status_code == 403
    assert mail(app, mail_id).status == "quarantined"
