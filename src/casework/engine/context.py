"""What guards and handlers receive: the row, the request, and ways to stage effects.

Guards and handlers never write the entity's state or version. They stage:
- `set(...)`: other columns of the entity's own row, written with the state change in one UPDATE;
- `note(...)`: details added to the transition's audit event;
- `defer(fn)`: any other write, run after the entity row and its event are written, in the same
  transaction (so a failure anywhere rolls everything back).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Row

from casework.actors import Actor

if TYPE_CHECKING:
    from casework.engine.engine import Engine
    from casework.engine.entities import EntityKind
    from casework.states.definition import TransitionDef
    from casework.states.machine import WorkflowMachine


class TransitionContext:
    __slots__ = (
        "actor",
        "changes",
        "conn",
        "data",
        "deferred",
        "dest",
        "engine",
        "kind",
        "machine",
        "notes",
        "now",
        "params",
        "refusal",
        "row",
        "transition",
        "trigger",
    )

    def __init__(
        self,
        engine: Engine,
        kind: EntityKind,
        row: Row[Any],
        trigger: str,
        actor: Actor,
        data: Mapping[str, Any],
        now: datetime,
        machine: WorkflowMachine,
        conn: Connection,
    ):
        self.engine = engine
        self.kind = kind
        self.row = row
        self.trigger = trigger
        self.actor = actor
        self.data = data
        self.now = now
        self.machine = machine
        self.params = machine.parameters
        self.conn = conn
        self.transition: TransitionDef | None = None  # set by the machine when one is taken
        self.dest: str | None = None
        self.changes: dict[str, Any] = {}
        self.notes: dict[str, Any] = {}
        self.deferred: list[Callable[[Connection], None]] = []
        self.refusal: str | None = None

    @property
    def source(self) -> str:
        return self.row.state  # type: ignore[no-any-return]

    @property
    def case_id(self) -> int:
        return getattr(self.row, self.kind.case_id_column)  # type: ignore[no-any-return]

    def set(self, **values: Any) -> None:
        unknown = set(values) - self.kind.writable
        if unknown:
            raise ValueError(f"handlers may not set {sorted(unknown)} on a {self.kind.name}")
        self.changes.update(values)

    def note(self, **details: Any) -> None:
        self.notes.update(details)

    def defer(self, fn: Callable[[Connection], None]) -> None:
        self.deferred.append(fn)

    def value_of(self, name: str) -> Any:
        """A value the row carries or this transition is setting: "sent_at",
        "contract.start_date" (read as the row's `contract_start_date`)."""
        attribute = name.replace(".", "_")
        if attribute in self.changes:
            return self.changes[attribute]
        return getattr(self.row, attribute, None)

    def refuse(self, reason: str) -> bool:
        """For guards: say why in French, and return False."""
        self.refusal = reason
        return False
