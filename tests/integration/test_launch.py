"""Launching a cohort: every test case gets a referent (one login, or allocated by caseload and
territory), then the workflow starts in the assignment's transaction; or later, with
`casework cases start`. Control cases get no referent and no mail."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, update

from casework.actors import Actor
from casework.app import App
from casework.cli import main
from casework.demo.mailcatcher import MailCatcher
from casework.intake.assignment import assign
from casework.intake.launch import LaunchRefused, Referents
from casework.intake.matching import match
from casework.models import AssignmentDraw, Beneficiary, Case, OutboxMail, User
from casework.notify.sender import MailSender
from tests.factories import add_case, add_user, events
from tests.integration.test_intake import COHORT, ME, import_both, season

TEAM = {"claire": ["53"], "paul": ["53", "72"], "lea": ["72"]}


def staffed(app: App) -> None:
    for login, territory in TEAM.items():
        add_user(app, login=login, email=f"{login}@ml.example")
        with app.db.transaction() as conn:
            conn.execute(update(User).where(User.login == login).values(territory=territory))


def matched(app: App, tmp_path: Path, n: int = 60) -> None:
    import_both(app, *season(tmp_path, n))
    match(app, COHORT)


def cases_of(app: App) -> list:
    with app.db.read() as conn:
        return list(
            conn.execute(
                select(Case.id, Case.group, Case.referent, Case.state, Beneficiary.departement)
                .join(Beneficiary, Beneficiary.id == Case.beneficiary_id)
                .order_by(Case.id)
            ).all()
        )


def count(app: App, model: type) -> int:
    with app.db.read() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def test_balanced_allocation_evens_caseloads_and_starts_the_cohort(
    app: App, tmp_path: Path
) -> None:
    staffed(app)
    for _ in range(4):  # claire already follows four young people
        add_case(app, state="follow_up", cycle=1, referent="claire")
    matched(app, tmp_path)
    report = assign(app, COHORT, "parity", actor=ME, referents=Referents(allocate="balanced"))
    made = [c for c in cases_of(app) if c.id > 4]
    tests = [c for c in made if c.group == "test"]
    controls = [c for c in made if c.group == "control"]
    assert report.started == {"test": len(tests), "control": len(controls)}
    # Every test case has its referent; the loads, old cases counted, differ by one at most.
    assert all(c.referent in TEAM for c in tests)
    loads = Counter(c.referent for c in tests) + Counter({"claire": 4})
    assert max(loads.values()) - min(loads.values()) <= 1
    assert all(c.referent is None for c in controls)  # nobody follows the control group
    assert {c.state for c in tests} <= {"consent_asked", "rupture"}
    assert {c.state for c in controls} <= {"outcome_tracking", "rupture_recorded"}
    first = tests[0]
    created, asked = events(app, "case", first.id)[:2]
    assert created.data["referent"] == first.referent
    assert (asked.trigger, asked.actor) == ("ask_consent", "referente")


def test_the_consent_mails_reach_each_case_s_own_referent(
    mail_app: App, catcher: MailCatcher, tmp_path: Path
) -> None:
    staffed(mail_app)
    matched(mail_app, tmp_path, n=30)
    assign(mail_app, COHORT, "parity", actor=ME, referents=Referents(allocate="balanced"))
    MailSender(mail_app).drain_sync()
    by_case = {c.id: c for c in cases_of(mail_app)}
    with mail_app.db.read() as conn:
        mails = conn.execute(select(OutboxMail.case_id, OutboxMail.template)).all()
    asked = [m for m in mails if m.template == "case/consent_request"]
    assert asked
    assert all(by_case[m.case_id].group == "test" for m in mails)  # never the control group
    received = catcher.wait_for(len(mails))
    consent = [c for c in received if "onsentement" in str(c.message["Subject"])]
    assert len(consent) == len(asked)
    for caught in consent:
        (to,) = caught.recipients
        assert to.split("@")[0] in TEAM


def test_allocation_by_territory_refuses_a_departement_nobody_covers(
    app: App, tmp_path: Path
) -> None:
    add_user(app, login="claire", email="claire@ml.example")
    with app.db.transaction() as conn:  # claire covers the Sarthe only
        conn.execute(update(User).where(User.login == "claire").values(territory=["72"]))
    matched(app, tmp_path, n=40)
    with pytest.raises(LaunchRefused) as refused:
        assign(app, COHORT, "parity", actor=ME, referents=Referents(allocate="territory"))
    said = refused.value.french()
    assert "aucun conseiller actif ne couvre le département de ces dossiers : " in said
    assert "53 (" in said
    assert "72 (" not in said
    assert count(app, Case) == 0  # nothing of the draw was written
    assert count(app, AssignmentDraw) == 0


@pytest.mark.parametrize(
    ("referents", "said"),
    [
        (Referents(), "resteraient sans référent : indiquez --referent"),
        (Referents("personne"), "« personne » n'est pas un utilisateur de casework"),
        (Referents("evaluatrice"), "ne peut pas suivre de dossiers (rôle : évaluateur"),
    ],
)
def test_an_assignment_leaving_a_test_case_without_referent_is_refused(
    app: App, tmp_path: Path, referents: Referents, said: str
) -> None:
    add_user(app, login="evaluatrice", email="eval@ml.example", role="evaluator")
    matched(app, tmp_path, n=20)
    with pytest.raises(LaunchRefused) as refused:
        assign(app, COHORT, "parity", actor=ME, referents=referents)
    assert said in refused.value.french()
    assert count(app, Case) == 0


def test_no_start_then_cases_start_gives_referents_and_starts(
    app: App, db_url: str, tmp_path: Path
) -> None:
    staffed(app)
    add_user(app)  # referente, who runs the commands
    cma, ml = season(tmp_path, 40)

    def run(*args: str, code: int = 0) -> str:
        done = CliRunner().invoke(
            main, ["--database", db_url, *args], env={"CASEWORK_AS": "referente"}
        )
        assert done.exit_code == code, done.output
        return done.output

    run("intake", "import", "cma", str(cma), "--skip-invalid")
    run("intake", "import", "ml", str(ml))
    run("intake", "match", str(COHORT))
    said = run(
        "intake", "assign", str(COHORT), "--method", "parity", "--referent", "paul", "--no-start"
    )
    assert f"Dossiers créés sans démarrer : casework cases start --cohort {COHORT}." in said
    assert {c.state for c in cases_of(app)} == {"identified"} | (
        {"rupture", "rupture_recorded"} & {c.state for c in cases_of(app)}
    )
    # A test case loses its referent (as if never given): start asks for one, then gives it.
    orphan = next(c.id for c in cases_of(app) if c.group == "test" and c.state == "identified")
    with app.db.transaction() as conn:
        conn.execute(update(Case).where(Case.id == orphan).values(referent=None))
    refused = run("cases", "start", "--cohort", str(COHORT), code=1)
    assert "1 dossier(s) du groupe test resteraient sans référent" in refused
    started = run("cases", "start", "--cohort", str(COHORT), "--allocate", "balanced")
    assert "1 dossier(s) du groupe test ont reçu un référent." in started
    assert f"Cohorte {COHORT} : " in started
    assert "consentement demandé au référent" in started
    assert {c.state for c in cases_of(app)} <= {
        "consent_asked",
        "outcome_tracking",
        "rupture",
        "rupture_recorded",
    }
    given = [e for e in events(app, "case", orphan) if e.trigger == "reassign"]
    assert given[0].data["to"] in TEAM
    again = run("cases", "start", "--cohort", str(COHORT))
    assert "Aucun dossier à démarrer." in again
    assert "--referent" in run("cases", "start", "--help")


def test_a_control_case_is_started_with_no_referent_and_no_mail(app: App) -> None:
    case_id = add_case(app, group="control", referent=None)
    from casework.intake.launch import start

    with app.db.transaction() as conn:
        done = start(conn, app, {case_id: "control"}, Actor.person("referente"))
    assert done.started == {"control": 1}
    assert count(app, OutboxMail) == 0


def test_a_test_case_without_referent_is_not_asked_for_consent(app: App) -> None:
    from casework.errors import TransitionRefused

    case_id = add_case(app, referent=None)
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "ask_consent", ME)
    assert "le dossier n'a pas de référent : casework case reassign" in refused.value.french()
    assert count(app, OutboxMail) == 0


def test_a_control_case_nobody_follows_gets_no_referent(app: App) -> None:
    from casework.errors import TransitionRefused

    add_user(app)
    case_id = add_case(app, group="control", referent=None)
    with pytest.raises(TransitionRefused) as refused:
        app.engine.fire_case(case_id, "reassign", ME, to="referente")
    assert "groupe témoin : personne ne le suit" in refused.value.french()


def test_by_territory_a_young_person_with_no_departement_goes_only_to_an_unlimited_one(
    app: App, tmp_path: Path
) -> None:
    from casework.intake.launch import allocate

    staffed(app)  # each with a territory
    with app.db.transaction() as conn, pytest.raises(LaunchRefused) as refused:
        allocate(conn, app, [("A", None), ("B", "53")], Referents(allocate="territory"))
    assert "département inconnu (1)" in refused.value.french()
    add_user(app, login="zoe", email="zoe@ml.example")  # no territory: covers everywhere
    with app.db.transaction() as conn:
        chosen = allocate(conn, app, [("A", None), ("B", "53")], Referents(allocate="territory"))
    assert chosen["A"] == "zoe"


@pytest.mark.postgres_only
def test_an_assignment_waits_for_a_deactivation_of_its_referent_and_sees_it(app: App) -> None:
    """PostgreSQL: the deactivation locks the person's row; an allocation reading it (FOR SHARE)
    waits, then finds them inactive, instead of giving cases to someone who is leaving."""
    import threading

    from casework.intake.launch import allocate
    from casework.staff import user_row

    add_user(app, login="claire", email="claire@ml.example")
    outcome: dict[str, object] = {}
    with app.db.transaction() as leaving:
        user_row(leaving, "claire", lock=True)

        def assign_meanwhile() -> None:
            try:
                with app.db.transaction() as conn:
                    outcome["chosen"] = allocate(conn, app, [("A", "53")], Referents("claire"))
            except LaunchRefused as refused:
                outcome["refused"] = refused.french()

        other = threading.Thread(target=assign_meanwhile)
        other.start()
        other.join(timeout=1.0)
        assert other.is_alive()  # waiting for the deactivation
        leaving.execute(update(User).where(User.login == "claire").values(active=False))
    other.join(timeout=30)
    assert "« claire » est un utilisateur désactivé" in str(outcome.get("refused"))


def test_without_starting_referents_may_come_later(app: App, tmp_path: Path) -> None:
    staffed(app)
    matched(app, tmp_path, n=30)
    report = assign(app, COHORT, "parity", actor=ME, start=False)  # no referent given
    assert report.referents == {}
    tests = [c for c in cases_of(app) if c.group == "test"]
    assert tests
    assert {c.referent for c in tests} == {None}
    from casework.intake.launch import allocate, start, waiting

    with app.db.transaction() as conn:
        found = waiting(conn, app, COHORT)
        chosen = allocate(
            conn, app, [(str(i), d) for i, g, _r, d in found if g == "test"], Referents("paul")
        )
        for case_id, login in chosen.items():
            app.engine.fire_case(int(case_id), "reassign", ME, conn=conn, to=login)
        done = start(conn, app, {i: g for i, g, _r, _d in found}, ME)
    assert done.started["test"] == len([c for c in tests if c.state == "identified"])


def test_the_assignment_says_how_many_each_referent_got(app: App, tmp_path: Path) -> None:
    staffed(app)
    matched(app, tmp_path, n=30)
    report = assign(app, COHORT, "parity", actor=ME, referents=Referents(allocate="balanced"))
    assert sum(report.referents.values()) == report.cases["test"]
    assert set(report.referents) <= set(TEAM)
