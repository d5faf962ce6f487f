"""The staff pages over HTTP, on both databases: signing in and out, cookies and headers, CSRF
and body limits on every POST, roles and scopes (404 for a case out of scope), the access log,
the nav, and a password reset from the mail to the new password."""

from __future__ import annotations

import dataclasses
import re
from html import unescape

import pytest
from sqlalchemy import func, select
from starlette.applications import Starlette
from starlette.responses import Response
from starlette.testclient import TestClient

from casework.accounts.access_log import read_access_log
from casework.app import App
from casework.demo.mailcatcher import MailCatcher
from casework.models import Role
from casework.models.tables import SESSIONS
from casework.notify.links import LinkSigner
from casework.notify.sender import MailSender
from casework.web.forms import PAGE_HEADERS
from casework.web.staff.app import StaffPages
from casework.web.staff.page import Page, PageContext
from tests.factories import add_case
from tests.staff import PASSWORD, csrf_of, log_in, staff_client, staff_user


def cookie_line(response: object, name: str) -> str:
    lines = response.headers.get_list("set-cookie")  # type: ignore[attr-defined]
    return next(line for line in lines if line.startswith(f"{name}="))


def test_signing_in_and_out(app: App) -> None:
    staff_user(app, "claire")
    client = staff_client(app)
    first = client.get("/")
    assert (first.status_code, first.headers["location"]) == (303, "/connexion")
    page = client.get("/connexion")
    assert page.status_code == 200
    # The link pages' headers; the Referer only to ourselves (see casework/web/staff/app.py).
    for header, value in {**PAGE_HEADERS, "Referrer-Policy": "same-origin"}.items():
        assert page.headers[header] == value
    assert '<html lang="fr">' in page.text
    assert '<label for="identifiant">' in page.text
    assert '<label for="mot_de_passe">' in page.text
    signed = log_in(client, "claire")
    assert (signed.status_code, signed.headers["location"]) == (303, "/")
    cookie = cookie_line(signed, "casework_session").lower()
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert "secure" in cookie  # https://casework.example
    with app.db.read() as conn:
        stored = conn.execute(select(SESSIONS.c.token_hash)).scalar_one()
    assert stored not in cookie  # only a hash of the cookie's value is kept
    dashboard = client.get("/")
    assert dashboard.status_code == 200
    assert "<h1>Tableau de bord</h1>" in dashboard.text
    assert "Claire Martin" in dashboard.text
    out = client.post("/deconnexion", data={"csrf": csrf_of(dashboard.text)})
    assert (out.status_code, out.headers["location"]) == (303, "/connexion?fin=1")
    assert "Vous êtes déconnecté(e)" in client.get("/connexion?fin=1").text
    assert client.get("/").status_code == 303
    with app.db.read() as conn:
        ended = conn.execute(select(func.count()).where(SESSIONS.c.ended_at.is_not(None)))
        assert ended.scalar_one() == 1


def test_a_refused_login_says_the_same_whether_the_login_exists(app: App) -> None:
    staff_user(app, "claire")
    client = staff_client(app)
    wrong = log_in(client, "claire", "pas le bon mot de passe du tout")
    unknown = log_in(client, "personne", "pas le bon mot de passe du tout")
    assert wrong.status_code == unknown.status_code == 401
    for page in (wrong, unknown):
        assert "Identifiant ou mot de passe incorrect." in unescape(page.text)
        assert 'aria-describedby="erreur-connexion"' in page.text
        assert "casework_session" not in page.headers.get("set-cookie", "")
    for _ in range(app.settings.web.failures_per_account):
        log_in(client, "claire", "encore faux")
    throttled = log_in(client, "claire")  # the right password, too late
    assert throttled.status_code == 429
    assert "Trop de tentatives de connexion ont échoué." in throttled.text


@pytest.mark.parametrize(
    ("base", "mode", "proxies", "forwarded", "secure"),
    [
        ("http://127.0.0.1:8000", "auto", "", None, False),
        ("http://127.0.0.1:8000", "auto", "", "https", False),  # not from a trusted proxy
        ("http://127.0.0.1:8000", "auto", "testclient", "https", True),
        ("http://127.0.0.1:8000", "always", "", None, True),
        ("https://casework.example", "never", "", None, False),
    ],
)
def test_the_cookie_is_secure_when_served_over_https(
    app: App, base: str, mode: str, proxies: str, forwarded: str | None, secure: bool
) -> None:
    staff_user(app, "claire")
    web = dataclasses.replace(app.settings.web, secure_cookies=mode, trusted_proxies=proxies)
    moved = dataclasses.replace(app, settings=dataclasses.replace(app.settings, web=web))
    headers = {"x-forwarded-proto": forwarded} if forwarded else {}
    client = staff_client(moved, base_url=base, headers=headers)
    # The login page's CSRF cookie: over plain http a client would not send a Secure one back
    # (the proxy's https is where the browser is); the session cookie follows the same rule.
    cookie = cookie_line(client.get("/connexion"), "casework_staff_csrf").lower()
    assert ("secure" in cookie.split("; ")) is secure
    if not secure:
        session = cookie_line(log_in(client, "claire"), "casework_session").lower()
        assert "secure" not in session.split("; ")


def test_every_post_is_csrf_checked_and_bounded(app: App) -> None:
    staff_user(app, "claire")
    client = staff_client(app)
    csrf = csrf_of(client.get("/connexion").text)
    form = {"identifiant": "claire", "mot_de_passe": PASSWORD}
    assert client.post("/connexion", data={**form, "csrf": "autre"}).status_code == 403
    other_site = client.post(
        "/connexion", data={**form, "csrf": csrf}, headers={"origin": "https://evil.example"}
    )
    assert other_site.status_code == 403
    assert "Le formulaire n'a pas pu être vérifié. Rouvrez la page" in unescape(other_site.text)
    big = client.post("/connexion", data={**form, "csrf": csrf, "x": "a" * 70_000})
    assert big.status_code == 413
    fresh = staff_client(app)  # no CSRF cookie at all
    assert fresh.post("/connexion", data={**form, "csrf": csrf}).status_code == 403
    assert fresh.post("/deconnexion", data={"csrf": csrf}).status_code == 403
    # The right one, from our own origin, goes through.
    same_site = client.post(
        "/connexion", data={**form, "csrf": csrf}, headers={"origin": "https://casework.example"}
    )
    assert same_site.status_code == 303


def test_a_case_out_of_scope_is_not_found_and_a_case_seen_is_logged(app: App) -> None:
    staff_user(app, "claire")
    staff_user(app, "paul")
    staff_user(app, "eva", role="evaluator")
    mine, theirs = add_case(app, referent="claire"), add_case(app, referent="paul")
    client = staff_client(app)
    asked = client.get(f"/dossiers/{mine}")
    assert asked.headers["location"] == f"/connexion?suite=/dossiers/{mine}"
    login_page = client.get(asked.headers["location"]).text
    assert f'name="suite" value="/dossiers/{mine}"' in login_page
    back = log_in(client, "claire", suite=f"/dossiers/{mine}")
    assert back.headers["location"] == f"/dossiers/{mine}"
    seen = client.get(f"/dossiers/{mine}")
    assert seen.status_code == 200
    assert "Léa MARTIN" in seen.text
    for hidden in (theirs, 999_999):
        page = client.get(f"/dossiers/{hidden}")
        assert page.status_code == 404
        assert "Ce dossier n'existe pas, ou vous n'y avez pas accès." in unescape(page.text)
    with app.db.read() as conn:
        logged = read_access_log(conn)
    assert [(r.user_login, r.page, r.case_id) for r in logged] == [
        ("claire", "/dossiers/{case_id:int}", mine)
    ]
    assert logged[0].address == "testclient"
    evaluator = staff_client(app)
    log_in(evaluator, "eva")
    assert evaluator.get(f"/dossiers/{mine}").status_code == 403
    assert "jamais aux dossiers nominatifs" in evaluator.get("/").text
    # A redirection elsewhere is never followed.
    other = staff_client(app)
    assert log_in(other, "paul", suite="//evil.example/").headers["location"] == "/"


def test_the_nav_shows_only_what_the_role_may_open(app: App) -> None:
    staff_user(app, "claire")
    staff_user(app, "sophie", role="manager")

    def steering(ctx: PageContext) -> Response:
        return ctx.render("message.html.j2", title="Pilotage", text="Bientôt.")

    pages = StaffPages(app, LinkSigner.from_settings(app.settings.mail))
    pages.pages.append(Page("/pilotage", "Pilotage", steering, roles=frozenset({Role.MANAGER})))
    web = Starlette(routes=pages.routes())
    for login, shown, status in (("claire", False, 403), ("sophie", True, 200)):
        client = TestClient(web, base_url="https://casework.example", follow_redirects=False)
        log_in(client, login)
        assert ('href="/pilotage"' in client.get("/").text) is shown
        assert client.get("/pilotage").status_code == status
        # A POST to a GET page, signed in: not allowed.
        assert client.post("/pilotage").status_code == 405


def test_a_password_reset_from_the_mail_to_the_new_password(
    mail_app: App, catcher: MailCatcher
) -> None:
    app = mail_app
    staff_user(app, "claire")
    signed_in = staff_client(app)
    log_in(signed_in, "claire")
    client = staff_client(app)
    login_page = client.get("/connexion").text
    assert 'href="/mot-de-passe-oublie"' in login_page
    csrf = csrf_of(client.get("/mot-de-passe-oublie").text)
    for given in ("claire", "personne"):
        asked = client.post("/mot-de-passe-oublie", data={"csrf": csrf, "identifiant": given})
        assert asked.status_code == 200
        assert "Si un compte correspond à ce que vous avez saisi" in asked.text
    MailSender(app).drain_sync()
    (mail,) = catcher.wait_for(1)
    assert mail.message["To"] == "Claire Martin <claire@ml.example>"
    text = mail.part("plain")
    assert "Ce lien ne fonctionne qu'une fois, jusqu'au 01/09/2026 11:00." in text
    path = re.search(r"https://casework\.example(/mot-de-passe/\S+)", text).group(1)  # type: ignore[union-attr]
    page = client.get(path)
    assert page.status_code == 200
    assert 'autocomplete="new-password"' in page.text
    csrf = csrf_of(page.text)
    different = client.post(
        path, data={"csrf": csrf, "mot_de_passe": "une phrase toute neuve", "confirmation": "x"}
    )
    assert different.status_code == 422
    assert 'aria-describedby="erreur-confirmation"' in different.text
    weak = client.post(
        path, data={"csrf": csrf, "mot_de_passe": "azerty", "confirmation": "azerty"}
    )
    assert weak.status_code == 422
    assert "il faut au moins 12 caractères" in weak.text
    assert "aide-mot-de-passe erreur-mot-de-passe" in weak.text
    new = {
        "csrf": csrf,
        "mot_de_passe": "une phrase toute neuve",
        "confirmation": "une phrase toute neuve",
    }
    done = client.post(path, data=new)
    assert done.status_code == 200
    assert "Mot de passe enregistré" in done.text
    assert signed_in.get("/").status_code == 303  # the other session ended
    assert client.post(path, data=new).status_code == 410  # once
    assert client.get(path).status_code == 410
    assert log_in(client, "claire").status_code == 401
    assert log_in(client, "claire", "une phrase toute neuve").status_code == 303


def test_without_mail_the_reset_page_says_to_ask_an_administrator(app: App) -> None:
    web = Starlette(routes=StaffPages(app, None).routes())
    client = TestClient(web, base_url="https://casework.example")
    page = client.get("/mot-de-passe-oublie")
    assert "demandez un nouveau mot de passe à un administrateur" in page.text
    assert client.get("/mot-de-passe/abc").status_code == 410
