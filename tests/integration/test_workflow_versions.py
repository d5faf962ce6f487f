"""Workflow versions: a running case stays on the version it started with when a new version is
loaded, and `casework workflows migrate` moves the cases of one version to another — shown
first with `--dry-run`, refused when a state has nowhere to go, then done in one transaction,
an event per case, timers re-planned from when each case entered its state."""

from __future__ import annotations

import dataclasses
import shutil
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sqlalchemy import select

from casework.actors import Actor
from casework.app import App, build_app
from casework.cli import main
from casework.clock import FixedClock
from casework.engine.migration import MigrationRefused
from casework.models import Case, Timer
from casework.resources import default_workflows_dir
from casework.settings import PathsSettings, Settings
from tests.factories import add_case, add_user, events

TIMER = Actor.timer()


def write_version_2(folder: Path) -> None:
    """The bundled workflows, plus a version 2 of the case workflow: the consent reminder after
    3 working days (not 5), and `consent_reminded` renamed `consent_chased`."""
    shutil.copytree(default_workflows_dir(), folder)
    text = (folder / "case.yaml").read_text(encoding="utf-8")
    assert "after: {working_days: 5}" in text
    text = text.replace("version: 1\n", "version: 2\n", 1)
    text = text.replace("after: {working_days: 5}", "after: {working_days: 3}")
    text = text.replace("consent_reminded", "consent_chased")
    (folder / "case.v2.yaml").write_text(text, encoding="utf-8")


@pytest.fixture
def versions(settings: Settings, clock: FixedClock, tmp_path: Path) -> Iterator[tuple[App, App]]:
    """The same database, first with version 1 only, then with versions 1 and 2 loaded."""
    first = build_app(settings, clock)
    write_version_2(tmp_path / "workflows")
    paths = PathsSettings(workflows=tmp_path / "workflows")
    second = build_app(dataclasses.replace(settings, paths=paths), clock)
    try:
        yield first, second
    finally:
        first.close()
        second.close()


def case_row(app: App, case_id: int) -> Any:
    with app.db.read() as conn:
        return conn.execute(select(Case.__table__).where(Case.id == case_id)).one()


def pending(app: App, case_id: int) -> list[Any]:
    with app.db.read() as conn:
        return list(
            conn.execute(
                select(Timer.__table__)
                .where(Timer.entity_id == case_id, Timer.status == "pending")
                .order_by(Timer.id)
            )
        )


def running_cases(app: App) -> dict[str, int]:
    """Cases on version 1: asked for consent, reminded, followed monthly."""
    add_user(app)
    cases = {"asked": add_case(app), "reminded": add_case(app), "followed": add_case(app)}
    for case_id in cases.values():
        app.engine.fire_case(case_id, "ask_consent", Actor.system())
    app.engine.fire_case(cases["reminded"], "remind_consent", TIMER)
    app.engine.fire_case(
        cases["followed"], "give_consent", Actor.person("referente"), given_by="both"
    )
    app.sweeper.drain(app.clock.now())  # consented → follow_up (its timer is due at once)
    return cases


def test_loading_version_2_keeps_running_cases_on_version_1(
    versions: tuple[App, App],
) -> None:
    old, new = versions
    cases = running_cases(old)
    assert new.workflows.latest("case").definition.version == 2
    # Version 1 rules still apply to them: remind_consent leads to a state version 2 lacks.
    new.engine.fire_case(cases["asked"], "remind_consent", TIMER)
    row = case_row(new, cases["asked"])
    assert (row.workflow_version, row.state) == (1, "consent_reminded")
    # A case made now starts on version 2.
    fresh = add_case(new)
    new.engine.fire_case(fresh, "ask_consent", Actor.system())
    assert case_row(new, fresh).workflow_version == 2
    new.engine.fire_case(fresh, "remind_consent", TIMER)
    assert case_row(new, fresh).state == "consent_chased"


def run(app: App, tmp_path: Path, *args: str) -> Any:
    config = tmp_path / "casework.toml"
    config.write_text(f'[paths]\nworkflows = "{tmp_path / "workflows"}"\n', encoding="utf-8")
    url = app.settings.database.url
    return CliRunner().invoke(main, ["--config", str(config), "--database", url, *args])


def test_a_migration_is_shown_refused_then_done_in_one_transaction(
    versions: tuple[App, App], tmp_path: Path
) -> None:
    old, new = versions
    cases = running_cases(old)
    before = {name: case_row(new, i) for name, i in cases.items()}
    follow_up_timer = pending(new, cases["followed"])[0]

    # A state version 2 lacks, and no --map: refused, in French, nothing written.
    refused = run(
        new,
        tmp_path,
        "workflows",
        "migrate",
        "case",
        "--from",
        "1",
        "--to",
        "2",
        "--as",
        "referente",
    )
    assert refused.exit_code == 1
    assert "1 dossier est dans un état qui n'existe plus en version 2" in refused.output
    assert "consent_reminded « Consentement à recueillir (relancé) » (1 dossier)" in refused.output
    assert "--map ancien=nouveau" in refused.output
    wrong = run(
        new, tmp_path, "workflows", "migrate", "case", "--from", "1", "--to", "2",
        "--map", "consent_reminded=consent_nagged", "--dry-run",
    )  # fmt: skip
    assert wrong.exit_code == 1
    assert "« consent_nagged » n'est pas un état de la version 2" in wrong.output

    # The dry run says which cases move and how their timers change; nothing is written.
    args = ("workflows", "migrate", "case", "--from", "1", "--to", "2")
    mapped = ("--map", "consent_reminded=consent_chased")
    shown = run(new, tmp_path, *args, *mapped, "--dry-run")
    assert shown.exit_code == 0, shown.output
    out = shown.output
    assert "Suivi d'un apprenti : de la version 1 à la version 2, 3 dossier(s)." in out
    asked, reminded, followed = cases["asked"], cases["reminded"], cases["followed"]
    # Asked on Tuesday 1 September: reminded after 5 working days (Tuesday 8), now 3 (Friday 4).
    assert (
        f"Dossier {asked} (Consentement à recueillir) : minuteurs : « Relancer pour le "
        "consentement » du 08/09/2026 09:00 annulé ; « Relancer pour le consentement » le "
        "04/09/2026 09:00 (nouveau)"
    ) in out  # fmt: skip
    assert (
        f"Dossier {reminded} (consent_reminded « Consentement à recueillir (relancé) » → "
        "consent_chased « Consentement à recueillir (relancé) ») : aucun minuteur"
    ) in out
    assert f"Dossier {followed} (Suivi mensuel) : minuteurs inchangés" in out
    assert "Simulation : rien n'a été enregistré." in out
    assert {name: case_row(new, i) for name, i in cases.items()} == before

    # Done: every case on version 2, version + 1, an event each; timers re-planned.
    add_user(new, login="admin", email="admin@ml.example", role="manager")
    done = run(new, tmp_path, *args, *mapped, "--as", "admin")
    assert done.exit_code == 0, done.output
    assert "Migration faite : 3 dossier(s) en version 2." in done.output
    for name, case_id in cases.items():
        row = case_row(new, case_id)
        assert row.workflow_version == 2
        assert row.version == before[name].version + 1
        assert row.entered_version == before[name].entered_version  # same state entry
        last = events(new, "case", case_id)[-1]
        assert (last.trigger, last.actor, last.data["to_version"]) == (
            "migrate_workflow",
            "admin",
            2,
        )
    assert case_row(new, reminded).state == "consent_chased"
    assert [t.id for t in pending(new, followed)] == [follow_up_timer.id]  # kept as it was
    (reminder,) = pending(new, asked)
    assert reminder.due_at == datetime(2026, 9, 4, 7, 0, tzinfo=UTC)
    history = run(new, tmp_path, "history", str(reminded))
    assert "Passage à une autre version du workflow" in history.output
    assert (
        "Passage à une autre version du workflow : Consentement à recueillir (relancé) → "
        "Consentement à recueillir (relancé)  (workflow : case ; de la version : 1 ; à la "
        "version : 2)"
    ) in history.output
    assert "consent_" not in history.output  # labels, not codes

    # The sweep fires the re-planned timer by version 2's rules.
    new.clock.advance(timedelta(days=3, hours=2))  # type: ignore[attr-defined]
    new.sweeper.drain(new.clock.now())
    assert case_row(new, asked).state == "consent_chased"

    # Nothing left on version 1: a second run finds no case.
    again = run(new, tmp_path, *args, "--dry-run")
    assert "0 dossier(s)" in again.output


def test_a_refused_migration_writes_nothing(versions: tuple[App, App]) -> None:
    old, new = versions
    cases = running_cases(old)
    before = [case_row(new, i) for i in cases.values()]
    with pytest.raises(MigrationRefused):
        new.engine.migrate_workflow("case", 1, 2, {}, Actor.system())
    with pytest.raises(MigrationRefused):
        new.engine.migrate_workflow("case", 1, 1, {}, Actor.system())
    assert [case_row(new, i) for i in cases.values()] == before
