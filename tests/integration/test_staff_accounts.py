"""Staff accounts on both databases: sessions (idle time, lifetime, ended by a password change
and a deactivation), failed logins counted in the database, reset links (once, expiring, voided
by a change), who may see which case for each role, the access log, and their commands."""

from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from casework.accounts.access_log import read_access_log, record_access
from casework.accounts.passwords import hash_password, set_password
from casework.accounts.reset import ResetRefused, ResetTokens, request_reset
from casework.accounts.scope import CaseNotFound, check_case, count_visible, visible_cases
from casework.accounts.sessions import (
    SessionRules,
    end_session,
    open_session,
    purge_sessions,
    session_user,
)
from casework.accounts.signin import LoginRefused, sign_in
from casework.accounts.throttle import Throttle
from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.clock import FixedClock
from casework.models import Beneficiary, Case, OutboxMail, User
from casework.models.tables import CASES, SESSIONS, USERS
from casework.staff import deactivate
from tests.factories import NEW_KEY, OLD_KEY, add_case, events
from tests.staff import PASSWORD, staff_user

RULES = SessionRules(idle=timedelta(minutes=30), lifetime=timedelta(hours=10))


def user_of(app: App, login: str) -> object:
    with app.db.read() as conn:
        return conn.execute(select(USERS).where(USERS.c.login == login)).one()


def test_a_session_ends_after_its_idle_time_and_its_lifetime(app: App, clock: FixedClock) -> None:
    user_id = staff_user(app, "claire")
    with app.db.transaction() as conn:
        idle = open_session(conn, user_id, clock.now(), "192.0.2.1")
        busy = open_session(conn, user_id, clock.now(), None)
    for _ in range(20):  # busy is used every 29 minutes, 9 h 40 long
        clock.advance(timedelta(minutes=29))
        assert session_user(app.db, busy, clock.now(), RULES).login == "claire"
    assert session_user(app.db, idle, clock.now(), RULES) is None  # idle since the start
    clock.advance(timedelta(minutes=29))  # 10 h 09 after the login
    assert session_user(app.db, busy, clock.now(), RULES) is None
    assert session_user(app.db, "made-up", clock.now(), RULES) is None


def test_sessions_that_can_never_work_again_are_purged_a_day_later(
    app: App, clock: FixedClock
) -> None:
    user_id = staff_user(app, "claire")
    with app.db.transaction() as conn:
        logged_out = open_session(conn, user_id, clock.now(), None)
        end_session(conn, logged_out, clock.now())
        open_session(conn, user_id, clock.now(), None)  # never used again: idle

    def left() -> int:
        with app.db.transaction() as conn:
            purge_sessions(conn, clock.now(), RULES)
            return conn.execute(select(func.count()).select_from(SESSIONS)).scalar_one()

    assert left() == 2  # ended, but not a day ago
    clock.advance(timedelta(hours=24, minutes=1))
    assert left() == 1  # the logged-out one; the idle one ended 30 minutes after its login
    with app.db.transaction() as conn:
        fresh = open_session(conn, user_id, clock.now(), None)
    clock.advance(timedelta(minutes=30))
    assert left() == 1  # idle a day and 30 minutes: gone; the fresh one stays
    assert session_user(app.db, fresh, clock.now(), RULES).login == "claire"


def test_a_password_change_and_a_deactivation_end_every_session(
    app: App, clock: FixedClock
) -> None:
    user_id = staff_user(app, "claire")
    staff_user(app, "paul")
    with app.db.transaction() as conn:
        tokens = [open_session(conn, user_id, clock.now(), None) for _ in range(2)]
    with app.db.transaction() as conn:
        ended = set_password(
            conn,
            user_of(app, "claire"),
            hash_password("une autre phrase de passe"),
            by=Actor.person("paul"),
            now=clock.now(),
            why="set-password",
        )
    assert ended == 2
    assert all(session_user(app.db, t, clock.now(), RULES) is None for t in tokens)
    changed = [e for e in events(app, "user", user_id) if e.trigger == "set_password"]
    assert changed[0].data == {"how": "set-password", "sessions": 2}
    assert "argon2" not in str(changed[0].data)
    with app.db.transaction() as conn:
        token = open_session(conn, user_id, clock.now(), None)
    with app.db.transaction() as conn:
        deactivate(app, conn, "claire", successor=None, reason="départ", by=Actor.person("paul"))
    assert session_user(app.db, token, clock.now(), RULES) is None
    with app.db.transaction() as conn:
        conn.execute(update(User).where(User.id == user_id).values(active=True))
    assert session_user(app.db, token, clock.now(), RULES) is None  # ended stays ended


def test_failed_logins_are_throttled_per_account_and_per_address(
    app: App, clock: FixedClock
) -> None:
    staff_user(app, "claire")
    throttle = Throttle.from_settings(app.settings.web)
    for _ in range(throttle.per_account):
        with pytest.raises(LoginRefused) as refused:
            sign_in(app, "claire", "pas le bon mot de passe", "192.0.2.1")
        assert not refused.value.throttled
    # Now even the right password is refused, from anywhere, and an unknown login is told
    # exactly the same thing once it has failed as often.
    with pytest.raises(LoginRefused) as refused:
        sign_in(app, "claire", PASSWORD, "198.51.100.7")
    assert refused.value.throttled
    for _ in range(throttle.per_account):
        with pytest.raises(LoginRefused):
            sign_in(app, "personne", "x", "198.51.100.8")
    with pytest.raises(LoginRefused) as unknown:
        sign_in(app, "personne", "x", "198.51.100.8")
    assert unknown.value.french() == refused.value.french()
    # The window passes: the right password works again, and clears the count.
    clock.advance(timedelta(minutes=app.settings.web.login_window_minutes, seconds=1))
    assert sign_in(app, " claire ", PASSWORD, "198.51.100.7").user.login == "claire"
    # Per address: many logins tried from one address.
    with app.db.transaction() as conn:
        for n in range(throttle.per_address):
            throttle.failed(conn, f"login{n}", "203.0.113.9", clock.now())
    with pytest.raises(LoginRefused) as by_address:
        sign_in(app, "claire", PASSWORD, "203.0.113.9")
    assert by_address.value.throttled
    assert sign_in(app, "claire", PASSWORD, "203.0.113.10").user.login == "claire"


def test_an_inactive_user_or_one_without_a_password_cannot_sign_in(app: App) -> None:
    staff_user(app, "claire")
    staff_user(app, "paul")
    with app.db.transaction() as conn:
        conn.execute(update(User).where(User.login == "claire").values(active=False))
        conn.execute(update(User).where(User.login == "paul").values(password_hash=None))
    for login in ("claire", "paul"):
        with pytest.raises(LoginRefused):
            sign_in(app, login, PASSWORD, None)


def test_a_reset_link_works_once_until_it_expires(app: App, clock: FixedClock) -> None:
    user_id = staff_user(app, "claire")
    tokens = ResetTokens([OLD_KEY, NEW_KEY])
    with app.db.transaction() as conn:
        session = open_session(conn, user_id, clock.now(), None)
    expires = clock.now() + timedelta(hours=1)
    token = tokens.make(user_of(app, "claire"), expires)
    with app.db.transaction() as conn:
        assert tokens.check(conn, token, clock.now()).login == "claire"
        tokens.use(conn, token, hash_password("une autre phrase de passe"), clock.now())
    assert session_user(app.db, session, clock.now(), RULES) is None
    assert sign_in(app, "claire", "une autre phrase de passe", None).user.login == "claire"
    for bad in (token, token[:-2] + "xx", "garbage", ""):
        with app.db.transaction() as conn, pytest.raises(ResetRefused):
            tokens.use(conn, bad, hash_password("encore une autre phrase"), clock.now())
    # Expired; and voided by any other password change meanwhile.
    late = tokens.make(user_of(app, "claire"), clock.now() + timedelta(minutes=5))
    voided = tokens.make(user_of(app, "claire"), expires)
    clock.advance(timedelta(minutes=5))
    with app.db.read() as conn, pytest.raises(ResetRefused):
        tokens.check(conn, late, clock.now())
    with app.db.transaction() as conn:
        conn.execute(update(User).where(User.id == user_id).values(password_hash="$other"))
    with app.db.read() as conn, pytest.raises(ResetRefused):
        tokens.check(conn, voided, clock.now())
    # Signed with another key (another deployment's): refused.
    with app.db.read() as conn, pytest.raises(ResetRefused):
        tokens.check(
            conn, ResetTokens(["x" * 40]).make(user_of(app, "claire"), expires), clock.now()
        )


def test_asking_for_a_reset_queues_one_mail_and_says_nothing_of_who_exists(
    app: App, clock: FixedClock
) -> None:
    staff_user(app, "claire")
    throttle = Throttle.from_settings(app.settings.web)
    hour = timedelta(hours=1)
    with app.db.transaction() as conn:
        assert request_reset(conn, "claire", clock.now(), hour, throttle)
        assert request_reset(conn, "CLAIRE@ml.example", clock.now(), hour, throttle)
        assert not request_reset(conn, "personne", clock.now(), hour, throttle)
        assert request_reset(conn, "claire", clock.now(), hour, throttle)
        assert not request_reset(conn, "claire", clock.now(), hour, throttle)  # 3 a window
    with app.db.read() as conn:
        mails = conn.execute(select(OutboxMail.template, OutboxMail.context)).all()
    assert len(mails) == 3
    assert mails[0].template == "staff/password_reset"
    assert mails[0].context == {
        "login": "claire",
        "password_reset": (clock.now() + hour).isoformat(),
    }


def scoped_cases(app: App) -> dict[str, int]:
    cases = {
        "claire's in 53": add_case(app, referent="claire"),
        "paul's in 72": add_case(app, referent="paul"),
        "paul's in 53": add_case(app, referent="paul"),
        "sophie's own, in 35": add_case(app, referent="sophie"),
    }
    where = {"claire's in 53": "53", "paul's in 72": "72", "paul's in 53": "53"}
    with app.db.transaction() as conn:
        for name, code in {**where, "sophie's own, in 35": "35"}.items():
            person = select(CASES.c.beneficiary_id).where(CASES.c.id == cases[name])
            conn.execute(
                update(Beneficiary)
                .where(Beneficiary.id == person.scalar_subquery())
                .values(departement=code)
            )
    return cases


@pytest.mark.parametrize(
    ("login", "role", "territory", "expected"),
    [
        ("claire", "counsellor", [], {"claire's in 53"}),
        ("paul", "counsellor", ["53", "72"], {"paul's in 72", "paul's in 53"}),
        ("sophie", "manager", ["53"], {"claire's in 53", "paul's in 53", "sophie's own, in 35"}),
        ("lea", "manager", [], "all"),
        ("admin", "administrator", ["72"], "all"),
        ("eva", "evaluator", [], set()),
    ],
)
def test_each_role_sees_its_scope(
    app: App, login: str, role: str, territory: list[str], expected: object
) -> None:
    for other in {"claire", "paul", "sophie"} - {login}:
        staff_user(app, other)
    staff_user(app, login, role=role, territory=territory)
    cases = scoped_cases(app)
    user = user_of(app, login)
    wanted = set(cases) if expected == "all" else expected
    with app.db.read() as conn:
        seen = set(conn.execute(select(Case.id).where(visible_cases(user))).scalars())
        assert seen == {cases[name] for name in wanted}  # type: ignore[union-attr]
        assert count_visible(conn, user) == len(seen)
        for name, case_id in cases.items():
            if name in wanted:  # type: ignore[operator]
                check_case(conn, user, case_id)
            else:
                with pytest.raises(CaseNotFound):
                    check_case(conn, user, case_id)
        with pytest.raises(CaseNotFound):
            check_case(conn, user, 999_999)


def test_the_access_log_and_its_command_for_administrators(
    app: App, clock: FixedClock, db_url: str
) -> None:
    staff_user(app, "admin", role="administrator")
    staff_user(app, "claire")
    case = add_case(app, referent="claire")
    with app.db.transaction() as conn:
        record_access(conn, login="claire", page="/", now=clock.now())
        clock.advance(timedelta(days=2))
        record_access(
            conn,
            login="claire",
            page="/dossiers/{case_id}",
            now=clock.now(),
            case_id=case,
            address="192.0.2.1",
        )
    with app.db.read() as conn:
        assert [r.page for r in read_access_log(conn, case_id=case)] == ["/dossiers/{case_id}"]
        assert len(read_access_log(conn, login="claire")) == 2
    runner = CliRunner()
    shown = runner.invoke(main, ["--database", db_url, "access-log", "--as", "admin"])
    assert shown.exit_code == 0, shown.output
    assert shown.output.splitlines() == [
        f"03/09/2026 10:00  claire  /dossiers/{{case_id}}  dossier n° {case}  depuis 192.0.2.1",
        "01/09/2026 10:00  claire  /",
    ]
    since_claire = ("--since", "2026-09-02", "--user", "claire", "--as", "admin")
    since = runner.invoke(main, ["--database", db_url, "access-log", *since_claire])
    assert len(since.output.splitlines()) == 1
    # The administrator's readings of the log are in it too (from the terminal).
    with app.db.read() as conn:
        assert [r.page for r in read_access_log(conn, login="admin")] == [
            "casework access-log --user claire --since 2026-09-02",
            "casework access-log",
        ]
    refused = runner.invoke(main, ["--database", db_url, "access-log", "--as", "claire"])
    assert refused.exit_code == 1
    assert "le journal des consultations leur est réservé" in refused.output


def test_set_password_from_the_command_line(app: App, db_url: str, clock: FixedClock) -> None:
    user_id = staff_user(app, "claire")
    with app.db.transaction() as conn:
        session = open_session(conn, user_id, clock.now(), None)
    runner = CliRunner()
    command = ["--database", db_url, "users", "set-password", "claire", "--stdin"]
    weak = runner.invoke(main, command, input="azertyuiop2024\n")
    assert weak.exit_code == 1
    assert "Mot de passe refusé : c'est l'un des mots de passe les plus répandus." in weak.output
    done = runner.invoke(main, command, input="ma nouvelle phrase secrète\n")
    assert done.exit_code == 0, done.output
    assert done.output == "Mot de passe de « claire » enregistré ; sa session ouverte est fermée.\n"
    assert session_user(app.db, session, clock.now(), RULES) is None
    assert sign_in(app, "claire", "ma nouvelle phrase secrète", None).user.login == "claire"
    prompted = runner.invoke(
        main, command[:-1], input="une phrase bien longue\nune phrase bien longue\n"
    )
    assert prompted.exit_code == 0, prompted.output
    assert "Nouveau mot de passe : " in prompted.output
    unknown = runner.invoke(main, [*command[:4], "personne", "--stdin"], input="x\n")
    assert unknown.exit_code == 1
    assert "Utilisateur « personne » inconnu" in unknown.output
