"""Revoking links: a person's (who leaves), a case's, or one; a revoked link answers 410 with a
French page and changes nothing; each revocation is on the case's timeline; and the command
line finds a link's number and revokes."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from click.testing import CliRunner, Result
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.clock import FixedClock
from casework.models import ActionLink, Case
from casework.notify.links import LinkRequest, LinkRevoked, LinkSigner
from casework.notify.revocation import revoke_links
from casework.web.links import CSRF_COOKIE, LinkPages
from tests.factories import add_case, add_user, events, row

BASE = "https://casework.example"
LINKS = ActionLink.__table__
COUNSELLOR = "claire.martin@ml.example"  # add_user's address
ADMIN = Actor.person("admin")


def asked(app: App) -> int:
    """A case asked for consent (its decline and give_consent links are open)."""
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    return case_id


def link(app: App, case_id: int, trigger: str = "decline", to: str = COUNSELLOR) -> str:
    signer = LinkSigner.from_settings(app.settings.mail)
    request = LinkRequest("case", case_id, case_id, trigger, 2, to, "person")
    with app.db.transaction() as conn:
        (token,) = signer.create(conn, [request], app.clock.now())
    return f"/l/{token}"


def link_id(app: App, path: str) -> int:
    from casework.notify.links import token_hash

    with app.db.read() as conn:
        return int(
            conn.execute(
                select(LINKS.c.id).where(LINKS.c.token_hash == token_hash(path[3:]))
            ).scalar_one()
        )


def revoke(app: App, **target: object) -> int:
    with app.db.transaction() as conn:
        return revoke_links(conn, by=ADMIN, reason="départ", now=app.clock.now(), **target)  # type: ignore[arg-type]


def client_for(app: App) -> TestClient:
    return TestClient(Starlette(routes=LinkPages(app).routes()), base_url=BASE)


def test_a_revoked_link_answers_410_and_changes_nothing(app: App) -> None:
    add_user(app)
    case_id = asked(app)
    path = link(app, case_id)
    client = client_for(app)
    assert client.get(path).status_code == 200  # the form is open, the cookie set...
    assert revoke(app, link_id=link_id(app, path)) == 1  # ...and the link is revoked
    page = client.get(path)
    assert page.status_code == 410
    assert "Lien révoqué" in html.unescape(page.text)
    assert "Aucune modification n'a été faite" in html.unescape(page.text)
    posted = client.post(path, data={"csrf": client.cookies[CSRF_COOKIE], "reason": "non"})
    assert posted.status_code == 410
    assert "Lien révoqué" in html.unescape(posted.text)
    assert row(app, Case, case_id).state == "consent_asked"
    # Revoked wins over expired: a person decided it.
    app.clock.advance(timedelta(days=365))  # type: ignore[attr-defined]
    assert client.get(path).status_code == 410
    assert "Lien révoqué" in html.unescape(client.get(path).text)


def test_a_persons_links_are_revoked_on_every_case_and_only_theirs(app: App) -> None:
    add_user(app)
    first, second = asked(app), asked(app)
    theirs = [link(app, first), link(app, first, "give_consent"), link(app, second)]
    other = link(app, first, to="accueil@foyer.example")
    used = link(app, second, "give_consent")
    with app.db.transaction() as conn:
        LinkSigner.use(conn, link_id(app, used), app.clock.now())
    assert revoke(app, user_email=" Claire.Martin@ML.example ") == 3  # case and spaces aside
    assert revoke(app, user_email=COUNSELLOR) == 0  # nothing left to revoke
    client = client_for(app)
    assert [client.get(p).status_code for p in theirs] == [410, 410, 410]
    assert client.get(other).status_code == 200
    assert "Déjà enregistré" in html.unescape(client.get(used).text)  # a used link stays used
    # The audit trail: one event per case, who and why, which links, and no address.
    last = events(app, "case", first)[-1]
    assert (last.trigger, last.version, last.actor_kind, last.actor) == (
        "revoke_links",
        None,
        "person",
        "admin",
    )
    assert last.data == {
        "links": sorted(link_id(app, p) for p in theirs[:2]),
        "scope": "user",
        "reason": "départ",
    }
    assert events(app, "case", second)[-1].data["links"] == [link_id(app, theirs[2])]
    assert row(app, Case, first).version == row(app, Case, second).version == 2


def test_a_cases_links_are_revoked_and_no_other(app: App, clock: FixedClock) -> None:
    add_user(app)
    case_id, other = asked(app), asked(app)
    mine = [link(app, case_id), link(app, case_id, to="accueil@foyer.example")]
    kept = link(app, other)
    expired = link(app, case_id, "give_consent")
    clock.advance(timedelta(days=app.settings.mail.link_max_age_days - 1))
    with app.db.transaction() as conn:  # this one expires before the revocation
        conn.execute(
            LINKS.update()
            .where(LINKS.c.id == link_id(app, expired))
            .values(expires_at=clock.now() - timedelta(seconds=1))
        )
    assert revoke(app, case_id=case_id) == 2
    client = client_for(app)
    assert [client.get(p).status_code for p in mine] == [410, 410]
    assert client.get(expired).status_code == 410
    assert "Lien expiré" in html.unescape(client.get(expired).text)
    assert client.get(kept).status_code == 200
    assert events(app, "case", case_id)[-1].data["scope"] == "case"
    assert events(app, "case", other)[-1].trigger == "ask_consent"


def test_a_click_racing_the_revocation_does_not_act(app: App) -> None:
    add_user(app)
    case_id = asked(app)
    path = link(app, case_id)
    signer = LinkSigner.from_settings(app.settings.mail)
    with app.db.read() as conn:
        seen = signer.resolve(conn, path[3:], app.clock.now())  # the POST read the link...
    assert revoke(app, case_id=case_id) == 1  # ...a revocation commits...
    with app.db.transaction() as conn:  # ...and marking it used finds it revoked
        assert signer.use(conn, seen.id, app.clock.now()) is False
    with app.db.read() as conn, pytest.raises(LinkRevoked):
        signer.resolve(conn, path[3:], app.clock.now())


def test_revoking_needs_a_target(app: App) -> None:
    with app.db.transaction() as conn, pytest.raises(ValueError, match="never revokes them all"):
        revoke_links(conn, by=ADMIN, reason="", now=app.clock.now())


# -- the command line ----------------------------------------------------------------------------


def run(db_url: str, *args: str) -> Result:
    return CliRunner().invoke(main, ["--database", db_url, *args], catch_exceptions=False)


def test_links_list_and_revoke_from_the_command_line(
    app: App, db_url: str, clock: FixedClock
) -> None:
    clock.advance(datetime.now(UTC) - clock.now())  # the command line runs on the real clock
    add_user(app)
    add_user(app, login="anne", email="anne@ml.example")
    case_id = asked(app)
    paths = [link(app, case_id), link(app, case_id, "give_consent")]
    ids = [link_id(app, p) for p in paths]
    listed = run(db_url, "links", "list", "--case", str(case_id))
    assert listed.exit_code == 0, listed.output
    assert f"{ids[0]:>8}" in listed.output
    assert "Accompagnement refusé" in listed.output  # the action's label, not "decline"
    assert COUNSELLOR in listed.output
    assert "valable jusqu'au" in listed.output
    assert paths[0][3:] not in listed.output  # never a token
    one = run(
        db_url, "links", "revoke", "--link", str(ids[0]), "--reason", "erreur", "--as", "anne"
    )
    assert one.exit_code == 0, one.output
    assert f"1 lien révoqué (lien n° {ids[0]}, dossier n° {case_id})." in one.output
    again = run(db_url, "links", "revoke", "--link", str(ids[0]), "--as", "anne")
    assert "Rien à révoquer : lien n° " in again.output
    assert "révoqué le " in again.output
    assert "par anne" in again.output
    bad = run(
        db_url, "links", "revoke", "--case", str(case_id), "--reason", "a\x00b", "--as", "anne"
    )
    assert bad.exit_code == 2
    assert "caractère de contrôle interdit (U+0000, position 2)" in bad.output
    stranger = run(db_url, "links", "revoke", "--case", str(case_id), "--as", "x\x1b[2J")
    assert "n'est pas un utilisateur de casework" in stranger.output
    assert "\x1b" not in stranger.output
    everyone = run(
        db_url, "links", "revoke", "--user", "referente", "--reason", "départ", "--as", "anne"
    )
    assert "1 lien révoqué (utilisateur « referente »)." in everyone.output
    assert (
        "Aucun lien encore valable à révoquer"
        in run(db_url, "links", "revoke", "--case", str(case_id), "--as", "anne").output
    )
    assert "révoqué le" in run(db_url, "links", "list", "--case", str(case_id)).output
    history = run(db_url, "history", str(case_id)).output
    assert "anne                  dossier   Liens révoqués  (liens n° " in history
    assert "portée : utilisateur ; motif : départ)" in history
    assert "portée : lien ; motif : erreur)" in history


def test_the_command_line_refuses_unknown_or_several_targets(app: App, db_url: str) -> None:
    add_user(app)
    case_id = asked(app)
    me = ("--as", "referente")
    unknown = run(db_url, "links", "revoke", "--user", "personne", *me)
    assert unknown.exit_code == 1
    assert "Utilisateur « personne » inconnu." in unknown.output
    assert "Lien n° 999 inconnu." in run(db_url, "links", "revoke", "--link", "999", *me).output
    assert (
        "Dossier n° 999 introuvable." in run(db_url, "links", "revoke", "--case", "999", *me).output
    )
    both = run(db_url, "links", "revoke", "--case", str(case_id), "--user", "referente")
    assert both.exit_code == 2
    assert "Indiquez une seule cible" in both.output
    assert run(db_url, "links", "revoke").exit_code == 2
    assert (
        "Aucun lien pour le dossier n° 999." in run(db_url, "links", "list", "--case", "999").output
    )
