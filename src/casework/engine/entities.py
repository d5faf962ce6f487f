"""The kinds of rows a workflow drives: what guards and handlers see of a row, and what they may
change on it."""

from __future__ import annotations

from collections import namedtuple
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import ColumnElement, Enum, Select, String, Table, select, type_coerce

from casework.models import Beneficiary, Case, Contract, LiaisonSheet

CASES: Table = Case.__table__  # type: ignore[assignment]
SHEETS: Table = LiaisonSheet.__table__  # type: ignore[assignment]
# Nothing decides on these, and reading timestamps costs (SQLite stores text to parse).
_NOT_READ = {"created_at", "updated_at", "state_since"}


@dataclass(frozen=True)
class EntityKind:
    """A workflow-driven table. Rows are handed to guards and handlers as `row_type` tuples:
    attribute access on a named tuple is ten times cheaper than on a SQLAlchemy Row."""

    name: str  # the `entity` of the workflow YAML and of audit events
    table: Table
    # The row guards and handlers see: the entity's columns plus facts of related rows a
    # workflow decides on (a minor needs a guardian; timers count from contract dates), read in
    # the same query so that a batch of a thousand rows costs one SELECT, not a thousand.
    view: Select
    # The column holding the case this row belongs to (events carry it for the case timeline).
    case_id_column: str
    # Columns handlers may set with `ctx.set`; state, version and timestamps are the engine's.
    writable: frozenset[str]

    @cached_property
    def row_type(self) -> type[tuple[Any, ...]]:
        return namedtuple(f"{self.name.title()}Row", [c.name for c in self.view.selected_columns])  # type: ignore[misc]


def _own_columns(table: Table) -> list[ColumnElement[object]]:
    """The row's columns; closed vocabularies come as their plain string value (a StrEnum
    compares equal to it), which spares building an enum object per value read."""
    return [
        type_coerce(c, String).label(c.name) if isinstance(c.type, Enum) else c
        for c in table.c
        if c.name not in _NOT_READ
    ]


CASE = EntityKind(
    name="case",
    table=CASES,
    view=select(
        *_own_columns(CASES),
        Beneficiary.birth_date.label("beneficiary_birth_date"),
        Contract.start_date.label("contract_start_date"),
        Contract.planned_end_date.label("contract_planned_end_date"),
        Contract.trial_end_date.label("contract_trial_end_date"),
    )
    .join(Contract, Contract.id == CASES.c.contract_id)
    .join(Beneficiary, Beneficiary.id == CASES.c.beneficiary_id),
    case_id_column="id",
    writable=frozenset({"cycle", "exit_kind", "referent"}),
)
LIAISON = EntityKind(
    name="liaison",
    table=SHEETS,
    view=select(*_own_columns(SHEETS)),
    case_id_column="case_id",
    writable=frozenset(
        {
            "sent_at",
            "acknowledged_at",
            "feedback_at",
            "closed_at",
            "feedback",
            "consent",
            "consent_at",
        }
    ),
)
KINDS = {k.name: k for k in (CASE, LIAISON)}
