"""Several programmes side by side: each cohort's cases are made by intake in the workflow its
rule names (`[intake.eligibility.<cohort>] workflow`), follow that workflow's own states and
timers, get its own mails, and never mix with the other's."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from casework.actors import Actor
from casework.app import App, build_app
from casework.cli import main
from casework.clock import FixedClock
from casework.intake.eligibility import Eligibility, Rule
from casework.intake.matching import match
from casework.models import Case, Event, OutboxMail
from casework.settings import Settings, SettingsError
from casework.states.catalog import WorkflowSet
from tests.factories import assign
from tests.integration.test_intake import import_both

APPRENTICES, PRE = 2026, 2027  # the two cohorts, one per programme
PERSON = Actor.person("referente")


def two_programmes(settings: Settings) -> Settings:
    rules = Eligibility(Rule(), {PRE: Rule(workflow="pre_apprenticeship")})
    return dataclasses.replace(
        settings, intake=dataclasses.replace(settings.intake, eligibility=rules)
    )


@pytest.fixture
def programmes(settings: Settings, clock: FixedClock) -> Iterator[App]:
    application = build_app(two_programmes(settings), clock)
    try:
        yield application
    finally:
        application.close()


def launch_both(app: App, tmp_path: Path) -> None:
    """Each cohort's files imported, cross-matched, drawn and started by intake."""
    from casework.intake.sample_files import write_sample_files

    for cohort, seed in ((APPRENTICES, 9), (PRE, 31)):
        folder = tmp_path / str(cohort)
        folder.mkdir()
        write_sample_files(folder, 24, seed=seed, cohort=cohort)
        import_both(app, folder / "contrats_cma.csv", folder / "jeunes_ml.xlsx")
        match(app, cohort)
        assign(app, cohort, "parity", actor=PERSON)


def cases(app: App) -> list[Any]:
    with app.db.read() as conn:
        query = select(
            Case.id, Case.cohort, Case.group, Case.state, Case.cycle, Case.workflow_name
        ).order_by(Case.id)
        return list(conn.execute(query))


def in_state(app: App, workflow: str, state: str) -> list[int]:
    return [c.id for c in cases(app) if c.workflow_name == workflow and c.state == state]


def never_mixed(app: App) -> None:
    """Every state a case went through, and every mail it got, is its own workflow's."""
    workflows: WorkflowSet = app.workflows
    with app.db.read() as conn:
        own = dict(conn.execute(select(Case.id, Case.workflow_name)).all())
        moves = conn.execute(
            select(Event.entity_id, Event.from_state, Event.to_state).where(Event.entity == "case")
        )
        for case_id, *states in moves:
            known = workflows.latest(own[case_id]).definition.states
            assert {s for s in states if s is not None} <= set(known), (case_id, states)
        mails = conn.execute(
            select(OutboxMail.case_id, OutboxMail.template).where(OutboxMail.entity == "case")
        )
        for case_id, template in mails:
            assert template.split("/")[0] == own[case_id], (case_id, template)


def test_each_cohort_s_cases_follow_their_own_programme(programmes: App, tmp_path: Path) -> None:
    app, clock = programmes, programmes.clock
    launch_both(app, tmp_path)
    made = cases(app)
    assert {c.workflow_name for c in made if c.cohort == APPRENTICES} == {"case"}
    assert {c.workflow_name for c in made if c.cohort == PRE} == {"pre_apprenticeship"}
    apprentices = in_state(app, "case", "consent_asked")
    pre = in_state(app, "pre_apprenticeship", "consent_asked")
    assert apprentices
    assert pre
    with app.db.read() as conn:
        query = select(OutboxMail.case_id, OutboxMail.template)
        templates = dict(conn.execute(query.where(OutboxMail.case_id.in_(apprentices + pre))).all())
    assert {templates[i] for i in apprentices} == {"case/consent_request"}
    assert {templates[i] for i in pre} == {"pre_apprenticeship/consent_request"}

    # Their own timers: the pre-apprenticeship reminds after 3 working days, the case after 5.
    clock.advance(timedelta(days=4))  # Saturday: Wednesday, Thursday, Friday have passed
    app.sweeper.drain(clock.now())
    assert set(pre) <= set(in_state(app, "pre_apprenticeship", "consent_reminded"))
    assert set(apprentices) <= set(in_state(app, "case", "consent_asked"))

    # Consent given: check-ins a fortnight apart, three of them, against monthly ones.
    for case_id in (apprentices[0], pre[0]):
        app.engine.fire_case(case_id, "give_consent", PERSON, given_by="apprentice")
    app.sweeper.drain(clock.now())
    by_id = {c.id: c for c in cases(app)}
    assert (by_id[apprentices[0]].state, by_id[apprentices[0]].cycle) == ("follow_up", 1)
    assert (by_id[pre[0]].state, by_id[pre[0]].cycle) == ("follow_up", 1)
    clock.advance(timedelta(days=15))
    app.sweeper.drain(clock.now())
    by_id = {c.id: c for c in cases(app)}
    assert by_id[apprentices[0]].cycle == 1
    assert by_id[pre[0]].cycle == 2
    for _ in range(2):  # cycle 3, then the search for a contract
        clock.advance(timedelta(days=15))
        app.sweeper.drain(clock.now())
    by_id = {c.id: c for c in cases(app)}
    assert by_id[pre[0]].state == "placement"  # three check-ins done
    assert by_id[apprentices[0]].cycle == 2  # the case's monthly cycle goes on
    # A pre-apprenticeship case ends in its own final state, which the case workflow lacks.
    app.engine.fire_case(
        pre[0], "sign_contract", PERSON, employer="Boulangerie Éole", start_date="2026-11-02"
    )
    assert in_state(app, "pre_apprenticeship", "apprenticeship_signed") == [pre[0]]
    never_mixed(app)


def test_the_command_line_names_each_case_s_states_in_its_own_workflow(
    programmes: App, tmp_path: Path
) -> None:
    app = programmes
    launch_both(app, tmp_path)
    pre = in_state(app, "pre_apprenticeship", "consent_asked")[0]
    apprentice = in_state(app, "case", "consent_asked")[0]
    url = app.settings.database.url
    config = tmp_path / "casework.toml"
    config.write_text(
        f'[intake.eligibility.{PRE}]\nworkflow = "pre_apprenticeship"\n', encoding="utf-8"
    )

    def run(*args: str) -> str:
        result = CliRunner().invoke(
            main, ["--config", str(config), "--database", url, *args], catch_exceptions=False
        )
        assert result.exit_code == 0, result.output
        return result.output

    listed = run("case", "list", "--limit", "500")
    line = next(x for x in listed.splitlines() if x.strip().startswith(f"{pre} "))
    assert "Accord à recueillir" in line
    line = next(x for x in listed.splitlines() if x.strip().startswith(f"{apprentice} "))
    assert "Consentement à recueillir" in line
    summary = run("case", "list", "--summary")
    assert "Accord à recueillir (Suivi d'un jeune en prépa-apprentissage)" in summary
    assert "Consentement à recueillir (Suivi d'un apprenti)" in summary
    shown = run("case", "show", str(pre))
    assert "prépa-apprentissage, version 1" in shown
    fired = run(
        "case", "fire", str(pre), "give_consent", "-d", "given_by=apprentice", "--as", "referente"
    )
    assert "Accord recueilli — Accord à recueillir → Point d'étape." in fired
    assert "Point d'étape" in run("history", str(pre))
    assert "Passer au point d'étape suivant" in run("timers")


def test_a_cohort_naming_a_workflow_not_loaded_stops_the_start(
    settings: Settings, clock: FixedClock
) -> None:
    for rule, said in (
        (Rule(workflow="prepa"), "aucun workflow de dossiers « prepa »"),
        (Rule(workflow="liaison"), "aucun workflow de dossiers « liaison »"),
        (Rule(workflow_version=9), "« case » en version 9"),
    ):
        wrong = dataclasses.replace(
            settings,
            intake=dataclasses.replace(
                settings.intake, eligibility=Eligibility(Rule(), {PRE: rule})
            ),
        )
        with pytest.raises(SettingsError) as refused:
            build_app(wrong, clock)
        assert said in refused.value.french()
        assert f"intake.eligibility.{PRE}.workflow" in refused.value.french()
