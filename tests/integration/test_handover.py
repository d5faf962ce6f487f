"""Handing cases over: one case (`reassign`), all of a referent's (`hand_over`), and a user
leaving (`staff.deactivate`). Each move is an audited transition of the case; mails rendered
after it go to the new referent (read back from a real SMTP server); the previous referent's
links for the case answer 410."""

from __future__ import annotations

import html
from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from starlette.applications import Starlette
from starlette.testclient import TestClient

from casework.actors import Actor
from casework.app import App
from casework.clock import FixedClock
from casework.demo.mailcatcher import MailCatcher
from casework.errors import TransitionRefused, VersionConflict
from casework.handover import HandoverRefused, hand_over, reassign
from casework.models import ActionLink, Case, OutboxMail, User
from casework.notify.digest import DigestMaker
from casework.notify.links import LinkRequest, LinkSigner
from casework.notify.sender import MailSender
from casework.staff import StaffRefused, deactivate
from casework.web.links import LinkPages
from tests.factories import add_case, add_user, events, row
from tests.integration.test_action_links import links_of

BASE = "https://casework.example"
CLAIRE = "claire.martin@ml.example"  # add_user's address, for "referente"
PAUL = "paul@ml.example"
ADMIN = Actor.person("admin")


def staff(app: App) -> None:
    add_user(app)  # referente
    add_user(app, login="paul", email=PAUL)
    add_user(app, login="admin", email="admin@ml.example", role="administrator")


def client_for(app: App) -> TestClient:
    return TestClient(Starlette(routes=LinkPages(app).routes()), base_url=BASE)


def status_of(client: TestClient, path: str) -> tuple[int, str]:
    page = client.get(path)
    return page.status_code, html.unescape(page.text)


def link(app: App, case_id: int, to: str = CLAIRE) -> str:
    """A working link to `record_contact` on a case, sent to `to`."""
    signer = LinkSigner.from_settings(app.settings.mail)
    entry = row(app, Case, case_id).entered_version
    request = LinkRequest("case", case_id, case_id, "record_contact", entry, to, "person")
    with app.db.transaction() as conn:
        (token,) = signer.create(conn, [request], app.clock.now())
    return f"/l/{token}"


def outbox(app: App) -> list:
    table = OutboxMail.__table__
    with app.db.read() as conn:
        return list(conn.execute(select(table).order_by(table.c.id)))


def test_a_reassignment_is_an_audited_transition_and_moves_the_mails(
    mail_app: App, catcher: MailCatcher
) -> None:
    staff(mail_app)
    case_id = add_case(mail_app)
    mail_app.engine.fire_case(case_id, "ask_consent", Actor.system())
    MailSender(mail_app).drain_sync()
    (to_claire,) = catcher.wait_for(1)
    assert to_claire.recipients == [CLAIRE]
    claires = links_of(to_claire, mail_app)
    # A mail queued before the handover and not sent yet: the reminder.
    mail_app.engine.fire_case(case_id, "remind_consent", Actor.timer())
    before = row(mail_app, Case, case_id)

    done = reassign(mail_app, case_id, "paul", ADMIN, "congé maternité", before.version)

    after = row(mail_app, Case, case_id)
    assert (after.referent, after.state, after.version) == ("paul", "consent_reminded", 4)
    assert after.entered_version == before.entered_version  # internal: no state entered
    assert (done.source, done.dest, done.version) == ("consent_reminded", "consent_reminded", 4)
    moved, revoked = events(mail_app, "case", case_id)[-2:]
    assert (moved.trigger, moved.version, moved.actor_kind, moved.actor) == (
        "reassign",
        4,
        "person",
        "admin",
    )
    assert moved.data == {"to": "paul", "reason": "congé maternité", "from": "referente"}
    assert (revoked.trigger, revoked.version) == ("revoke_links", None)
    assert revoked.data["scope"] == "user+case"
    assert revoked.data["reason"] == "changement de référent"
    assert len(revoked.data["links"]) == 2  # the consent request's two links

    # The reminder, queued before, rendered now: to Paul, with links that work.
    MailSender(mail_app).drain_sync()
    to_paul = catcher.wait_for(2)[1]
    assert to_paul.recipients == [PAUL]
    assert to_paul.message["Subject"].startswith("Relance : consentement")
    client = client_for(mail_app)
    for path in links_of(to_paul, mail_app).values():
        assert status_of(client, path)[0] == 200
    # Claire's links for the case no longer work, though she is still an active user.
    for path in claires.values():
        code, page = status_of(client, path)
        assert (code, "Lien révoqué" in page) == (410, True)
    # And later mails go to Paul too.
    mail_app.engine.fire_case(case_id, "give_consent", Actor.person("paul"), given_by="apprentice")
    mail_app.engine.fire_case(case_id, "start_follow_up", Actor.timer())
    MailSender(mail_app).drain_sync()
    assert catcher.wait_for(3)[2].recipients == [PAUL]
    assert [m.recipients for m in outbox(mail_app)] == [[CLAIRE], [PAUL], [PAUL]]


@pytest.mark.parametrize(
    ("to", "why"),
    [
        ("personne", "« personne » n'est pas un utilisateur de casework"),
        ("partie", "« partie » est un utilisateur désactivé"),
        ("eva", "« eva » ne peut pas suivre de dossiers (rôle : évaluateur(trice))"),
        ("referente", "« referente » en est déjà le référent"),
    ],
)
def test_a_case_goes_only_to_an_active_counsellor_or_manager(app: App, to: str, why: str) -> None:
    staff(app)
    add_user(app, login="partie", email="partie@ml.example")
    add_user(app, login="eva", email="eva@ml.example", role="evaluator")
    with app.db.transaction() as conn:
        conn.execute(User.__table__.update().where(User.login == "partie").values(active=False))
    case_id = add_case(app, state="follow_up", cycle=1)
    before = len(events(app))
    with pytest.raises(TransitionRefused) as refused:
        reassign(app, case_id, to, ADMIN)
    assert refused.value.reason == "guards"
    assert refused.value.detail == why
    assert row(app, Case, case_id).referent == "referente"
    assert row(app, Case, case_id).version == 1
    assert len(events(app)) == before


def test_a_manager_may_take_a_case_and_a_case_without_referent_gets_one(app: App) -> None:
    staff(app)
    add_user(app, login="cheffe", email="cheffe@ml.example", role="manager")
    case_id = add_case(app, referent=None)
    reassign(app, case_id, "cheffe", ADMIN)
    assert row(app, Case, case_id).referent == "cheffe"
    assert events(app, "case", case_id)[-1].data == {"to": "cheffe", "from": None}


def test_a_reassignment_checks_the_version_and_closed_cases_keep_their_referent(
    app: App,
) -> None:
    staff(app)
    case_id = add_case(app, state="follow_up", cycle=1)
    with pytest.raises(VersionConflict):
        reassign(app, case_id, "paul", ADMIN, expected_version=7)
    closed = add_case(app, state="closed")
    with pytest.raises(TransitionRefused) as refused:
        reassign(app, closed, "paul", ADMIN)
    assert refused.value.reason == "state"
    assert row(app, Case, case_id).referent == row(app, Case, closed).referent == "referente"


def test_a_handover_moves_every_open_case_in_one_batch(app: App) -> None:
    staff(app)
    states = [("identified", 0), ("follow_up", 2), ("declined", 0), ("rupture", 3)]
    open_ids = [add_case(app, state=s, cycle=c) for s, c in states]
    control = add_case(app, group="control", state="outcome_tracking")
    closed = add_case(app, state="positive_exit")
    pauls = add_case(app, referent="paul", state="follow_up", cycle=1)
    client = client_for(app)
    # Links she holds: on a case that moves (revoked), on the closed one (hers still), and a
    # partner's on the moving case (not hers: untouched).
    moving, _staying = link(app, open_ids[1]), link(app, closed)
    partners = link(app, open_ids[1], to="accueil@foyer.example")
    with app.db.transaction() as conn:
        done = hand_over(app, conn, "referente", "paul", ADMIN, "départ")
    assert status_of(client, moving)[0] == 410
    assert status_of(client, partners)[0] == 200
    with app.db.read() as conn:
        revoked = conn.execute(select(ActionLink.revoked_at).order_by(ActionLink.id)).scalars()
        assert [when is not None for when in revoked] == [True, False, False]
    assert done.moved == sorted([*open_ids, control])
    assert done.ended == []
    for case_id in [*open_ids, control]:
        moved = row(app, Case, case_id)
        assert (moved.referent, moved.version) == ("paul", 2)
        (event,) = [e for e in events(app, "case", case_id) if e.trigger == "reassign"]
        assert event.data == {"to": "paul", "reason": "départ", "from": "referente"}
    assert row(app, Case, closed).referent == "referente"  # its history stays hers
    assert row(app, Case, pauls).version == 1


def test_a_handover_to_nobody_valid_writes_nothing(app: App) -> None:
    staff(app)
    case_id = add_case(app, state="follow_up", cycle=1)
    for source, to in (("referente", "referente"), ("referente", "admin")):
        with pytest.raises(HandoverRefused), app.db.transaction() as conn:
            hand_over(app, conn, source, to, ADMIN)
    assert row(app, Case, case_id).version == 1


def test_deactivating_hands_over_revokes_every_link_and_records_it(
    mail_app: App, catcher: MailCatcher
) -> None:
    staff(mail_app)
    followed = add_case(mail_app)
    ended = add_case(mail_app)
    mail_app.engine.fire_many("case", [followed, ended], "ask_consent", Actor.system())
    MailSender(mail_app).drain_sync()
    mails = catcher.wait_for(2)
    paths = [p for m in mails for p in links_of(m, mail_app).values()]
    mail_app.engine.fire_case(ended, "close", Actor.person("referente"), reason="déménagé")
    client = client_for(mail_app)

    with mail_app.db.transaction() as conn:
        done = deactivate(mail_app, conn, "referente", successor="paul", reason="départ", by=ADMIN)

    assert done.handover.moved == [followed]
    assert done.links == 4  # both mails' links, the closed case's included
    for path in paths:
        assert status_of(client, path)[0] == 410
    assert row(mail_app, Case, followed).referent == "paul"
    assert row(mail_app, Case, ended).referent == "referente"
    with mail_app.db.read() as conn:
        user = conn.execute(select(User.__table__).where(User.login == "referente")).one()
    assert not user.active
    (record,) = events(mail_app, "user", user.id)
    assert (record.case_id, record.trigger, record.actor) == (None, "deactivate", "admin")
    assert record.data == {"reason": "départ", "to": "paul", "cases": 1, "links": 4}
    # Mail about the case she followed now goes to Paul.
    mail_app.engine.fire_case(followed, "remind_consent", Actor.timer())
    MailSender(mail_app).drain_sync()
    assert catcher.wait_for(3)[2].recipients == [PAUL]


def test_deactivating_without_a_successor_is_refused_while_cases_are_open(app: App) -> None:
    staff(app)
    ids = [add_case(app, state="follow_up", cycle=1) for _ in range(3)]
    add_case(app, state="closed")
    before = len(events(app))
    with pytest.raises(StaffRefused) as refused, app.db.transaction() as conn:
        deactivate(app, conn, "referente", successor=None, reason="départ", by=ADMIN)
    assert refused.value.french().startswith("« referente » suit encore 3 dossiers en cours :")
    # A successor who cannot take them: refused too, and the whole of it rolled back.
    with pytest.raises(HandoverRefused), app.db.transaction() as conn:
        deactivate(app, conn, "referente", successor="admin", reason="départ", by=ADMIN)
    assert len(events(app)) == before
    assert all(row(app, Case, i).referent == "referente" for i in ids)
    with app.db.read() as conn:
        assert conn.execute(select(User.active).where(User.login == "referente")).scalar()
    # Once the cases are handed over, deactivating needs no successor.
    with app.db.transaction() as conn:
        hand_over(app, conn, "referente", "paul", ADMIN)
        deactivate(app, conn, "referente", successor=None, reason="départ", by=ADMIN)


def test_the_new_referent_gets_the_cases_waiting_actions_in_their_digest(
    app: App, clock: FixedClock
) -> None:
    staff(app)
    add_user(app, login="cheffe", email="cheffe@ml.example", role="manager")
    case_id = add_case(app)
    app.engine.fire_case(case_id, "ask_consent", Actor.system())
    with app.db.transaction() as conn:
        hand_over(app, conn, "referente", "cheffe", ADMIN, "réorganisation")
    clock.set(datetime(2026, 9, 3, 7, 30, tzinfo=UTC))  # a Thursday, 09:30 in Paris
    assert DigestMaker(app).run(clock.now()) == 1
    (digest,) = [m for m in outbox(app) if m.template == "digest/daily"]
    assert digest.context["login"] == "cheffe"  # a manager who follows cases gets one too
    assert [i["case_id"] for i in digest.context["items"]] == [case_id]
