"""Wiring: build every long-lived part once, from the settings, at the entry point."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time

from casework.clock import Clock, SystemClock
from casework.database import Database
from casework.engine import Engine
from casework.errors import UnknownWorkflow
from casework.handlers import Registry, registry
from casework.settings import CalendarSettings, Settings, SettingsError
from casework.states.catalog import WorkflowSet, load_workflows
from casework.timers.calendar import Calendar
from casework.timers.sweep import Sweeper


@dataclass
class App:
    settings: Settings
    db: Database
    workflows: WorkflowSet
    engine: Engine
    clock: Clock
    sweeper: Sweeper

    def close(self) -> None:
        self.db.dispose()


def build_app(
    settings: Settings, clock: Clock | None = None, handlers: Registry | None = None
) -> App:
    """Load and validate the workflows (refusing to start on any problem), open the database."""
    clock = clock or SystemClock()
    workflows = load_workflows(
        settings.paths.workflows, handlers or registry, settings.paths.templates
    )
    check_cohort_workflows(settings, workflows)
    db = Database(settings.database)
    engine = Engine(db, workflows, clock, build_calendar(settings.calendar))
    return App(settings, db, workflows, engine, clock, Sweeper(engine, settings.timers))


def check_cohort_workflows(settings: Settings, workflows: WorkflowSet) -> None:
    """Every cohort's workflow (and version) is loaded, and made for cases: else nothing starts,
    rather than an assignment failing months later."""
    for key, (name, version) in settings.intake.eligibility.workflows().items():
        try:
            workflows.starting(name, version, "case")
        except UnknownWorkflow:
            shown = f"« {name} »" + ("" if version is None else f" en version {version}")
            known = ", ".join(sorted({d.name for d in workflows if d.entity == "case"}))
            raise SettingsError(
                "configuration",
                f"{key}.workflow",
                f"aucun workflow de dossiers {shown} (chargés : {known})",
            ) from None


def build_calendar(settings: CalendarSettings) -> Calendar:
    try:
        hours, minutes = (int(part) for part in settings.day_start.split(":"))
        day_start = time(hours, minutes)
    except ValueError:
        raise SettingsError(
            "configuration", "calendar.day_start", f"heure invalide {settings.day_start!r} (HH:MM)"
        ) from None
    return Calendar(subdivision=settings.subdivision or None, day_start=day_start)
