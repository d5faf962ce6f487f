"""Signed action links, from the mail that carries them to the page that acts once."""

from __future__ import annotations

import html
import logging
import re
import threading
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.actors import Actor
from casework.app import App
from casework.clock import FixedClock
from casework.demo.mailcatcher import Caught, MailCatcher
from casework.models import ActionLink, Case, ContactLog, LiaisonSheet, User
from casework.notify.links import LinkRequest, LinkSigner
from casework.notify.sender import MailSender
from casework.web.links import CSRF_COOKIE, LinkPages
from tests.factories import (
    NEW_KEY,
    OLD_KEY,
    OTHER_KEY,
    add_case,
    add_contact,
    add_partner,
    add_sheet,
    add_user,
    events,
    row,
)

BASE = "https://casework.example"
LINK = re.compile(r"https://casework\.example/l/[A-Za-z0-9_\-.]+")
LINKS = ActionLink.__table__


def text(response: object) -> str:
    return html.unescape(response.text)  # type: ignore[attr-defined]


def client_for(app: App) -> TestClient:
    return TestClient(Starlette(routes=LinkPages(app).routes()), base_url=BASE)


def links_of(caught: Caught, app: App) -> dict[str, str]:
    """trigger -> path of each link in a mail (read from its HTML part, as a person clicks)."""
    signer = LinkSigner.from_settings(app.settings.mail)
    found = {}
    for url in dict.fromkeys(LINK.findall(caught.part("html"))):
        token = url.rsplit("/", 1)[1]
        found[signer.serializer.loads(token)[2]] = url.removeprefix(BASE)
    return found


def consent_links(
    app: App, catcher: MailCatcher, birth_date: date = date(2000, 5, 4)
) -> tuple[int, dict[str, str]]:
    add_user(app)
    case_id = add_case(app, birth_date=birth_date)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    MailSender(app).drain_sync()
    (caught,) = catcher.wait_for(1)
    return case_id, links_of(caught, app)


def sent_sheet(app: App, catcher: MailCatcher, *contacts: str) -> tuple[int, list[Caught]]:
    """A sheet sent to a partner with these contacts; returns it and the mails they got,
    in the order of the contacts."""
    add_user(app)
    partner_id = add_partner(app)
    for address in contacts:
        add_contact(app, partner_id, address)
    sheet_id = add_sheet(app, partner_id=partner_id)
    app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    MailSender(app).drain_sync()
    caught = sorted(catcher.wait_for(len(contacts)), key=lambda c: contacts.index(c.recipients[0]))
    return sheet_id, caught


def post(client: TestClient, path: str, **fields: object) -> object:
    page = client.get(path)
    csrf = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert csrf, page.text
    return client.post(path, data={"csrf": csrf.group(1), **fields})


def used(app: App) -> list[object]:
    with app.db.read() as conn:
        return list(
            conn.execute(select(LINKS.c.trigger).where(LINKS.c.used_at.is_not(None))).scalars()
        )


def test_a_get_shows_the_form_and_changes_nothing(mail_app: App, catcher: MailCatcher) -> None:
    case_id, links = consent_links(mail_app, catcher)
    assert set(links) == {"give_consent", "decline"}
    before = row(mail_app, Case, case_id)
    client = client_for(mail_app)
    page = client.get(links["give_consent"])
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["referrer-policy"] == "same-origin"
    assert "noindex" in page.headers["x-robots-tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in text(page)
    assert "<script" not in text(page)
    assert "Léa MARTIN" in text(page)
    assert "Consentement recueilli" in text(page)
    # The transition's fields, as a form.
    assert 'name="given_by"' in text(page)
    assert "le représentant légal" in text(page)
    assert 'type="checkbox" id="f-data_checked" name="data_checked"' in text(page)
    assert client.head(links["give_consent"]).status_code == 200
    after = row(mail_app, Case, case_id)
    assert (after.state, after.version) == (before.state, before.version)
    assert used(mail_app) == []


def test_the_post_fires_once_and_a_second_post_fires_nothing(
    mail_app: App, catcher: MailCatcher
) -> None:
    case_id, links = consent_links(mail_app, catcher)
    client = client_for(mail_app)
    done = post(client, links["give_consent"], given_by="apprentice", data_checked="oui")
    assert done.status_code == 200
    assert "Enregistré" in text(done)
    case = row(mail_app, Case, case_id)
    assert case.state == "consented"
    last = events(mail_app, "case", case_id)[-1]
    assert (last.trigger, last.actor_kind, last.actor) == ("give_consent", "person", "referente")
    assert last.data["given_by"] == "apprentice"
    again = client.post(links["give_consent"], data={"csrf": client.cookies[CSRF_COOKIE]})
    assert again.status_code == 200
    assert "Déjà enregistré" in text(again)
    assert "Déjà enregistré" in text(client.get(links["give_consent"]))
    assert row(mail_app, Case, case_id).version == case.version
    assert used(mail_app) == ["give_consent"]
    # The mail's other link was the alternative: it has nothing left to do.
    assert client.get(links["decline"]).status_code == 409


def test_a_post_without_the_csrf_value_or_from_another_site_is_refused(
    mail_app: App, catcher: MailCatcher
) -> None:
    case_id, links = consent_links(mail_app, catcher)
    client = client_for(mail_app)
    bare = client.post(links["decline"], data={"reason": "non"})
    assert bare.status_code == 403
    assert "Rien n'a été enregistré" in text(bare)
    client.get(links["decline"])
    forged = client.post(
        links["decline"],
        data={"csrf": client.cookies[CSRF_COOKIE], "reason": "non"},
        headers={"Origin": "https://evil.example"},
    )
    assert forged.status_code == 403
    wrong = client.post(links["decline"], data={"csrf": "guess", "reason": "non"})
    assert wrong.status_code == 403
    assert row(mail_app, Case, case_id).state == "consent_asked"
    assert used(mail_app) == []


def test_invalid_form_values_are_shown_again_in_french_and_nothing_changes(
    mail_app: App, catcher: MailCatcher
) -> None:
    case_id, links = consent_links(mail_app, catcher)
    client = client_for(mail_app)
    answer = post(client, links["give_consent"], given_by="neighbour")
    assert answer.status_code == 422
    assert "Merci de corriger : « Donné par » : valeurs possibles" in text(answer)
    assert "valeurs possibles" in text(answer)
    assert row(mail_app, Case, case_id).state == "consent_asked"
    assert used(mail_app) == []  # the link is still good
    assert post(client, links["give_consent"], given_by="both").status_code == 200


def test_a_field_that_does_not_apply_is_not_shown_nor_read(
    mail_app: App, catcher: MailCatcher
) -> None:
    adult, adult_links = consent_links(mail_app, catcher)
    minor = add_case(mail_app, birth_date=date(2010, 5, 4))
    mail_app.engine.fire_case(minor, "ask_consent", Actor.system())
    MailSender(mail_app).drain_sync()
    minor_mail = next(c for c in catcher.wait_for(2) if c is not catcher.messages[0])
    client = client_for(mail_app)
    assert 'name="guardian_agreed"' in text(
        client.get(links_of(minor_mail, mail_app)["give_consent"])
    )
    page = text(client.get(adult_links["give_consent"]))
    assert 'name="given_by"' in page
    assert 'name="guardian_agreed"' not in page
    assert "Accord du représentant légal" not in page
    # A box ticked anyway (an old page, a hand-made form) is not read: the adult consents.
    done = post(client, adult_links["give_consent"], given_by="apprentice", guardian_agreed="oui")
    assert done.status_code == 200
    assert "guardian_agreed" not in events(mail_app, "case", adult)[-1].data


def test_a_guard_refusal_shows_its_reason_and_the_link_stays_good(
    mail_app: App, catcher: MailCatcher, caplog: pytest.LogCaptureFixture
) -> None:
    # A minor (16 on 1 September 2026): consent needs the legal guardian's agreement.
    case_id, links = consent_links(mail_app, catcher, birth_date=date(2010, 5, 4))
    client = client_for(mail_app)
    with caplog.at_level(logging.INFO, logger="casework.links"):
        answer = post(client, links["give_consent"], given_by="apprentice", data_checked="oui")
    assert answer.status_code == 422
    page = text(answer)
    assert "La situation a changé" not in page
    assert "Rien n'a été enregistré. L'apprenti(e) est mineur(e)" in page
    assert "l'accord du représentant légal est nécessaire" in page
    assert "Ce lien reste valable" in page
    # The form again, with what was typed: the person only has to tick the box.
    assert 'name="guardian_agreed"' in page
    assert '<option value="apprentice" selected>' in page
    assert 'name="data_checked" value="oui" checked' in page
    assert row(mail_app, Case, case_id).state == "consent_asked"
    assert used(mail_app) == []
    assert any("guard" in r.getMessage() for r in caplog.records)
    done = post(client, links["give_consent"], given_by="both", guardian_agreed="oui")
    assert done.status_code == 200
    assert row(mail_app, Case, case_id).state == "consented"


def test_a_stale_link_is_refused_with_a_clear_page(
    mail_app: App, catcher: MailCatcher, caplog: pytest.LogCaptureFixture
) -> None:
    case_id, links = consent_links(mail_app, catcher)
    client = client_for(mail_app)
    client.get(links["give_consent"])  # the form is open...
    mail_app.engine.fire_case(case_id, "decline", Actor.person("referente"))  # ...the case moves on
    version = row(mail_app, Case, case_id).version
    with caplog.at_level(logging.WARNING, logger="casework.links"):
        page = client.get(links["give_consent"])
        answer = client.post(
            links["give_consent"],
            data={"csrf": client.cookies[CSRF_COOKIE], "given_by": "apprentice"},
        )
    assert page.status_code == answer.status_code == 409
    assert "La situation a changé" in text(answer)
    assert "Aucune modification" in text(answer)
    assert row(mail_app, Case, case_id).version == version
    assert used(mail_app) == []
    assert any("LinkStale" in r.getMessage() for r in caplog.records)


def test_deadlines_do_not_make_a_link_stale(mail_app: App, catcher: MailCatcher) -> None:
    case_id, links = consent_links(mail_app, catcher)
    mail_app.engine.fire_case(case_id, "remind_consent", Actor.timer())  # a new state, by a timer
    client = client_for(mail_app)
    assert post(client, links["give_consent"], given_by="apprentice").status_code == 200
    assert row(mail_app, Case, case_id).state == "consented"


def test_a_late_partner_can_still_answer_an_overdue_sheet(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheet_id, (caught,) = sent_sheet(mail_app, catcher, "accueil@foyer.example")
    links = links_of(caught, mail_app)
    mail_app.engine.fire_sheet(sheet_id, "mark_overdue", Actor.timer())
    client = client_for(mail_app)
    assert post(client, links["give_feedback"], feedback="Vu hier.").status_code == 200
    assert row(mail_app, LiaisonSheet, sheet_id).state == "feedback_received"
    # The sheet moved on through this mail's own link: its acknowledge link has nothing to do.
    assert client.get(links["acknowledge"]).status_code == 409


def test_a_colleague_at_the_partner_acknowledging_leaves_the_feedback_link_valid(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheet_id, (first, second) = sent_sheet(
        mail_app, catcher, "accueil@foyer.example", "educ@foyer.example"
    )
    client = client_for(mail_app)
    assert post(client, links_of(first, mail_app)["acknowledge"]).status_code == 200
    feedback = links_of(second, mail_app)["give_feedback"]
    assert post(client_for(mail_app), feedback, feedback="Vu.").status_code == 200
    assert row(mail_app, LiaisonSheet, sheet_id).state == "feedback_received"


def test_a_rupture_from_the_import_makes_the_follow_up_links_stale(
    mail_app: App, catcher: MailCatcher
) -> None:
    add_user(mail_app)
    case_id = add_case(mail_app, state="consented")
    mail_app.engine.fire_case(case_id, "start_follow_up", Actor.timer())
    MailSender(mail_app).drain_sync()
    links = links_of(catcher.wait_for(1)[0], mail_app)
    mail_app.engine.fire_case(case_id, "rupture", Actor.importer("cma"), rupture_date="2026-09-20")
    client = client_for(mail_app)
    page = client.get(links["record_contact"])  # still open in "rupture", but the case moved on
    assert page.status_code == 409
    assert client.get(links["rupture"]).status_code == 409


def test_an_internal_step_keeps_the_other_links_of_a_mail_valid(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    add_user(mail_app)
    case_id = add_case(mail_app, state="consented")
    mail_app.engine.fire_case(case_id, "start_follow_up", Actor.timer())
    MailSender(mail_app).drain_sync()
    links = links_of(catcher.wait_for(1)[0], mail_app)
    assert set(links) == {"record_contact", "rupture"}
    client = client_for(mail_app)
    contact = post(
        client,
        links["record_contact"],
        channel="phone",
        duration_min="25",
        difficulties=["housing", "mobility"],
        notes="Cherche un logement.",
    )
    assert contact.status_code == 200
    with mail_app.db.read() as conn:
        (log,) = conn.execute(select(ContactLog.__table__)).all()
    assert (log.duration_min, log.difficulties, log.author) == (
        25,
        ["housing", "mobility"],
        "referente",
    )
    # Recording a contact does not leave the state: the rupture link still works.
    assert client.get(links["rupture"]).status_code == 200


def test_an_expired_link_is_refused(mail_app: App, catcher: MailCatcher, clock: FixedClock) -> None:
    case_id, links = consent_links(mail_app, catcher)
    clock.advance(timedelta(days=mail_app.settings.mail.link_max_age_days, seconds=1))
    client = client_for(mail_app)
    page = client.get(links["decline"])
    assert page.status_code == 410
    assert "Lien expiré" in text(page)
    client.cookies.set(CSRF_COOKIE, "x", path="/l/")
    answer = client.post(links["decline"], data={"csrf": "x", "reason": "non"})
    assert answer.status_code == 410
    assert row(mail_app, Case, case_id).state == "consent_asked"


def test_tampered_unknown_and_retired_key_tokens_are_refused(
    mail_app: App, catcher: MailCatcher
) -> None:
    case_id, links = consent_links(mail_app, catcher)
    client = client_for(mail_app)
    path = links["decline"]
    flipped = path[:-3] + ("A" if path[-3] != "A" else "B") + path[-2:]
    assert client.get(flipped).status_code == 400
    assert "Lien invalide" in text(client.get(flipped))
    foreign = LinkSigner([OTHER_KEY], timedelta(days=30))
    token = foreign.serializer.dumps(["case", case_id, "decline", 2, "x", "y"])
    assert client.get(f"/l/{token}").status_code == 400
    # Well signed, but never stored (or its row deleted): unknown.
    ours = LinkSigner.from_settings(mail_app.settings.mail)
    token = ours.serializer.dumps(["case", case_id, "decline", 2, "x", "y"])
    assert client.get(f"/l/{token}").status_code == 404
    assert client.get("/l/not-a-token").status_code == 400
    assert row(mail_app, Case, case_id).state == "consent_asked"


def test_keys_rotate_without_breaking_links_already_sent(
    mail_app: App, catcher: MailCatcher, clock: FixedClock
) -> None:
    add_user(mail_app)
    case_id = add_case(mail_app)
    mail_app.engine.fire_case(case_id, "ask_consent", Actor.system())
    old = LinkSigner([OLD_KEY], timedelta(days=30))  # what signed before the rotation
    request = LinkRequest(
        "case", case_id, case_id, "decline", 2, "claire.martin@ml.example", "person"
    )
    with mail_app.db.transaction() as conn:
        (token,) = old.create(conn, [request], clock.now())
    # Settings say "OLD_KEY,NEW_KEY": the old key still verifies.
    assert client_for(mail_app).get(f"/l/{token}").status_code == 200
    retired = LinkSigner([NEW_KEY], timedelta(days=30))
    with mail_app.db.read() as conn, pytest.raises(Exception, match="bad signature"):
        retired.resolve(conn, token, clock.now())


def test_a_partner_link_acts_on_its_sheet_only_and_shows_only_the_sheet(
    mail_app: App, catcher: MailCatcher
) -> None:
    add_user(mail_app)
    partner_id = add_partner(mail_app)
    add_contact(mail_app, partner_id, "accueil@foyer.example")
    sheet_id = add_sheet(mail_app, partner_id=partner_id)
    other_sheet = add_sheet(mail_app, partner_id=partner_id)
    mail_app.engine.fire_sheet(sheet_id, "send", Actor.person("referente"))
    mail_app.engine.fire_sheet(other_sheet, "send", Actor.person("referente"))
    MailSender(mail_app).drain_sync()
    caught = sorted(catcher.wait_for(2), key=lambda c: c.message["Subject"])
    links = links_of(caught[0], mail_app)
    assert set(links) == {"acknowledge", "give_feedback"}
    client = client_for(mail_app)
    page = client.get(links["acknowledge"])
    assert page.status_code == 200
    assert "Fiche de liaison n° 1" in text(page)
    assert "Cherche un logement" in text(page)
    assert "Boulangerie Dupont" not in text(page)
    assert "0600000000" not in text(page)
    assert post(client, links["acknowledge"]).status_code == 200
    assert row(mail_app, LiaisonSheet, sheet_id).state == "acknowledged"
    assert row(mail_app, LiaisonSheet, other_sheet).state == "sent"
    last = events(mail_app, "liaison", sheet_id)[-1]
    assert (last.actor_kind, last.actor) == ("partner", "accueil@foyer.example")
    feedback = post(client, links["give_feedback"], feedback="Rendez-vous pris le 12.")
    assert feedback.status_code == 200
    assert row(mail_app, LiaisonSheet, sheet_id).feedback == "Rendez-vous pris le 12."


def test_a_mail_scanner_opening_every_link_first_changes_nothing(
    mail_app: App, catcher: MailCatcher
) -> None:
    sheet_id, _ = sent_sheet(mail_app, catcher, "accueil@foyer.example")
    case_id = add_case(mail_app)
    mail_app.engine.fire_case(case_id, "ask_consent", Actor.system())
    MailSender(mail_app).drain_sync()
    caught = catcher.wait_for(2)
    every = [path for c in caught for path in links_of(c, mail_app).values()]
    assert len(every) == 4
    before = (row(mail_app, Case, case_id).version, row(mail_app, LiaisonSheet, sheet_id).version)
    scanner = client_for(mail_app)  # a security gateway: GET and HEAD, no cookies kept
    for path in every:
        assert scanner.get(path).status_code == 200
        assert scanner.head(path).status_code == 200
        scanner.cookies.clear()
    after = (row(mail_app, Case, case_id).version, row(mail_app, LiaisonSheet, sheet_id).version)
    assert after == before
    assert used(mail_app) == []
    person = client_for(mail_app)
    consent = links_of(next(c for c in caught if "Consentement" in c.message["Subject"]), mail_app)
    assert post(person, consent["give_consent"], given_by="apprentice").status_code == 200
    assert row(mail_app, Case, case_id).state == "consented"


def test_two_simultaneous_posts_fire_once(mail_app: App, catcher: MailCatcher) -> None:
    case_id, links = consent_links(mail_app, catcher)
    clients = [client_for(mail_app), client_for(mail_app)]
    tokens = []
    for client in clients:
        page = client.get(links["decline"])
        tokens.append(re.search(r'name="csrf" value="([^"]+)"', page.text).group(1))  # type: ignore[union-attr]
    answers: list[object] = []

    def click(client: TestClient, csrf: str) -> None:
        answers.append(client.post(links["decline"], data={"csrf": csrf, "reason": "non"}))

    threads = [
        threading.Thread(target=click, args=pair) for pair in zip(clients, tokens, strict=False)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    texts = sorted(text(a) for a in answers)
    assert sum("Déjà enregistré" in t for t in texts) == 1
    assert sum("Merci, c'est enregistré" in t for t in texts) == 1
    assert [e.trigger for e in events(mail_app, "case", case_id)].count("decline") == 1


def test_a_counsellor_who_left_can_no_longer_act_through_a_link(
    mail_app: App, catcher: MailCatcher
) -> None:
    case_id, links = consent_links(mail_app, catcher)
    with mail_app.db.transaction() as conn:
        conn.execute(update(User).where(User.login == "referente").values(active=False))
    client = client_for(mail_app)
    refused = post(client, links["give_consent"], given_by="apprentice", data_checked="oui")
    assert refused.status_code == 410
    assert "Lien révoqué" in text(refused)
    assert row(mail_app, Case, case_id).state == "consent_asked"
    assert used(mail_app) == []  # rolled back with the rest: nothing recorded
