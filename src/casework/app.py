"""Wiring: build every long-lived part once, from the settings, at the entry point."""

from __future__ import annotations

from dataclasses import dataclass

from casework.clock import Clock, SystemClock
from casework.database import Database
from casework.engine import Engine
from casework.handlers import Registry, registry
from casework.settings import Settings
from casework.states.catalog import WorkflowSet, load_workflows


@dataclass
class App:
    settings: Settings
    db: Database
    workflows: WorkflowSet
    engine: Engine
    clock: Clock

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
    db = Database(settings.database)
    return App(settings, db, workflows, Engine(db, workflows, clock), clock)
