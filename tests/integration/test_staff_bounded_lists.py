"""The dashboard stays one screen whatever the caseload: each line of today's actions is counted
and its first twenty listed (late ones first), the others reached from the case list filtered
to the cases where an action waits (`/dossiers?a_faire=1`, as `casework case list --due`)."""

from __future__ import annotations

import re

from casework.actors import Actor
from casework.app import App
from casework.web.staff.today import SHOWN_PER_GROUP
from tests.factories import add_case
from tests.integration.test_staff_case_pages import signed_in, text_of
from tests.staff import staff_user


def test_a_long_line_of_todays_actions_is_counted_and_cut(app: App) -> None:
    staff_user(app, "claire")
    asked = [add_case(app, referent="claire", state="consent_asked") for _ in range(21)]
    late = [add_case(app, referent="claire", state="consent_reminded") for _ in range(2)]
    page = signed_in(app, "claire").get("/")
    read = text_of(page)
    assert "Consentement à recueillir (23, dont 2 en retard)" in read
    assert read.count("Enregistrer la réponse —") == SHOWN_PER_GROUP == 20
    # The late ones first, then the oldest: the last three asked are the ones left out.
    shown = [int(n) for n in re.findall(r'href="/dossiers/(\d+)#action-give_consent"', page.text)]
    assert shown == late + asked[:18]
    assert "Et 3 autres : tous les dossiers où une action vous attend" in read
    assert 'href="/dossiers?a_faire=1"' in page.text


def test_a_short_line_says_no_more(app: App) -> None:
    staff_user(app, "claire")
    add_case(app, referent="claire", state="consent_asked")
    read = text_of(signed_in(app, "claire").get("/"))
    assert "Consentement à recueillir (1)" in read
    assert "Et " not in read


def test_the_case_list_keeps_to_the_cases_where_an_action_waits(app: App) -> None:
    staff_user(app, "claire")
    staff_user(app, "paul")
    waiting = add_case(app, referent="claire", state="follow_up", cycle=1)
    contacted = add_case(app, referent="claire", state="follow_up", cycle=1)
    app.engine.fire_case(
        contacted, "record_contact", Actor.person("claire"), channel="phone", duration_min=10
    )
    asked = add_case(app, referent="claire", state="consent_asked")
    others = add_case(app, referent="paul", state="consent_asked")
    client = signed_in(app, "claire")
    page = client.get("/dossiers?a_faire=1")
    assert page.status_code == 200
    assert "<h1>Dossiers où une action attend</h1>" in page.text
    for case_id in (waiting, asked):
        assert f'href="/dossiers/{case_id}"' in page.text
    for case_id in (contacted, others):
        assert f'href="/dossiers/{case_id}"' not in page.text
    assert 'id="a_faire" name="a_faire" value="1" checked' in page.text
    both = client.get("/dossiers?a_faire=1&etat=follow_up")
    assert "<h1>Dossiers où une action attend : Suivi mensuel</h1>" in both.text
    assert f'href="/dossiers/{waiting}"' in both.text
    assert f'href="/dossiers/{asked}"' not in both.text
    assert f'href="/dossiers/{contacted}"' in client.get("/dossiers").text
