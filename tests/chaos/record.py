"""What the chaos checks read (loaded once from the database) and what they find."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import select

from casework.app import App
from casework.models import Case, Event, LiaisonSheet, OutboxMail, ServiceHeartbeat, Timer
from casework.states.definition import TransitionDef, WorkflowDef

SHOWN = 5  # examples quoted per violation


@dataclass
class Findings:
    figures: dict[str, Any] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)

    def expect(self, what: str, bad: list[Any]) -> None:
        """`bad` lists the offending items; none is the expected outcome."""
        if bad:
            examples = ", ".join(map(str, bad[:SHOWN]))
            self.violations.append(f"{what}: {len(bad)} (e.g. {examples})")


@dataclass
class Season:
    """What the checks read, loaded once."""

    rows: dict[tuple[str, int], Any]  # (entity, id) -> the case or sheet row
    groups: dict[int, str]  # case id -> test | control
    events: dict[tuple[str, int], list[Any]]  # versioned events of each row, in version order
    discards: list[Any]  # events of discarded timers
    timers: list[Any]
    outbox: list[Any]
    beats: list[Any]
    # Rows whose history is broken (reported once): the checks that read histories skip them.
    set_aside: set[tuple[str, int]] = field(default_factory=set)

    def histories(self) -> list[tuple[tuple[str, int], list[Any]]]:
        return [(k, c) for k, c in self.events.items() if k not in self.set_aside]


def load(app: App) -> Season:
    with app.db.read() as conn:
        rows: dict[tuple[str, int], Any] = {}
        for name, table in (("case", Case.__table__), ("liaison", LiaisonSheet.__table__)):
            rows.update(((name, r.id), r) for r in conn.execute(select(table)))
        groups = dict(conn.execute(select(Case.id, Case.group)).all())
        events: dict[tuple[str, int], list[Any]] = defaultdict(list)
        discards = []
        for e in conn.execute(
            select(Event.__table__)
            .where(Event.entity.in_(["case", "liaison"]))
            .order_by(Event.entity, Event.entity_id, Event.version, Event.id)
        ):
            if e.version is None:
                discards.append(e)
            else:
                events[(e.entity, e.entity_id)].append(e)
        timers = list(conn.execute(select(Timer.__table__)))
        columns = [c for c in OutboxMail.__table__.c if c.name not in ("message", "context")]
        outbox = list(conn.execute(select(*columns)))
        beats = list(conn.execute(select(ServiceHeartbeat.__table__)))
    return Season(rows, groups, events, discards, timers, outbox, beats)


class Transitions:
    """Which declared transition an event is: its trigger, from its state, to its state."""

    def __init__(self, app: App):
        self.app = app
        self.cache: dict[tuple[Any, ...], TransitionDef | None] = {}

    def definition(self, row: Any) -> WorkflowDef:
        return self.app.workflows.definition(row.workflow_name, row.workflow_version)

    def of(self, row: Any, event: Any) -> TransitionDef | None:
        key = (
            row.workflow_name,
            row.workflow_version,
            event.trigger,
            event.from_state,
            event.to_state,
        )
        if key not in self.cache:
            found = [
                t
                for t in self.definition(row).transitions_from(event.from_state)
                if t.trigger == event.trigger
                and t.destination_from(event.from_state) == event.to_state
            ]
            self.cache[key] = found[0] if len(found) == 1 else None
        return self.cache[key]
