"""The kinds of rows a workflow drives: what guards and handlers see of a row, how it is read,
and what they may change on it."""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from sqlalchemy import (
    BindParameter,
    ColumnElement,
    Connection,
    Enum,
    Select,
    String,
    Table,
    bindparam,
    select,
    type_coerce,
)

from casework.models import Beneficiary, Contract, Partner
from casework.models.tables import CASES, SHEETS

# Nothing decides on these, and reading timestamps costs (SQLite stores text to parse).
_NOT_READ = {"created_at", "updated_at", "state_since"}


@dataclass(frozen=True)
class Related:
    """Facts a workflow decides on, read from a related row: `columns` of `table` (as
    `(column, name in the row)`), for the row whose id is in the entity's column `via`."""

    via: str
    table: Table
    columns: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class EntityKind:
    name: str  # the `entity` of the workflow YAML and of audit events
    table: Table
    # The column holding the case this row belongs to (events carry it for the case timeline).
    case_id_column: str
    # Columns handlers may set with `ctx.set`; state, version and timestamps are the engine's.
    writable: frozenset[str]
    related: tuple[Related, ...] = ()

    @cached_property
    def own_columns(self) -> list[ColumnElement[Any]]:
        """The row's columns; closed vocabularies come as their plain string value (a StrEnum
        compares equal to it), which spares building an enum object per value read."""
        return [
            type_coerce(c, String).label(c.name) if isinstance(c.type, Enum) else c
            for c in self.table.c
            if c.name not in _NOT_READ
        ]

    @cached_property
    def row_type(self) -> type[tuple[Any, ...]]:
        """Rows reach guards and handlers as named tuples: attribute access on one is ten times
        cheaper than on a SQLAlchemy Row, and a batch reads thousands."""
        names = [c.name for c in self.own_columns]
        names += [label for rel in self.related for _column, label in rel.columns]
        return namedtuple(f"{self.name.title()}Row", names)  # type: ignore[misc]


class RowReader:
    """Reads rows of one kind by id, in id order, locked when asked (two batches over the same
    rows then wait for each other instead of deadlocking), with their related rows' values.

    How they come depends on the planner. SQLite joins by primary key, so one query does.
    PostgreSQL, given a few hundred ids, may hash whole related tables for a join; there each
    related table is read in its own query by primary key.

    The ids are rendered into the SQL (`literal_execute`): a thousand bound parameters cost
    more to process than the rows they fetch."""

    def __init__(self, entity: EntityKind, lock: bool, join: bool):
        table = entity.table
        self.make = entity.row_type._make  # type: ignore[attr-defined]
        names = [c.name for c in entity.own_columns]
        self.related: list[tuple[int, int, Select[Any]]] = []
        if join:
            source: Any = table
            related = []
            for rel in entity.related:
                source = source.join(rel.table, rel.table.c.id == table.c[rel.via])
                related += [rel.table.c[column] for column, _label in rel.columns]
            own = select(*entity.own_columns, *related).select_from(source)
        else:
            own = select(*entity.own_columns)
            self.related = [
                (
                    names.index(rel.via),
                    len(rel.columns),
                    select(rel.table.c.id, *(rel.table.c[c] for c, _label in rel.columns)).where(
                        rel.table.c.id.in_(_ids())
                    ),
                )
                for rel in entity.related
            ]
        own = own.where(table.c.id.in_(_ids())).order_by(table.c.id)
        # FOR NO KEY UPDATE, not FOR UPDATE: the batch changes no key, and a FOR UPDATE lock
        # also blocks the FOR KEY SHARE that PostgreSQL takes on a case for every row inserted
        # that references it (events, timers, mails, links, sheets), so a sheet's transition
        # waited for a batch holding its case, and deadlocked when the batch wanted the sheet.
        self.own = own.with_for_update(of=table, key_share=True) if lock else own

    def read(self, conn: Connection, ids: Sequence[int]) -> list[Any]:
        own = conn.execute(self.own, {"ids": list(ids)}).all()
        make = self.make
        if not self.related or not own:
            return [make(r) for r in own]
        found = []
        for position, width, query in self.related:
            keys = sorted({r[position] for r in own})
            values_of = {r[0]: tuple(r[1:]) for r in conn.execute(query, {"ids": keys})}
            found.append((position, values_of, (None,) * width))
        rows = []
        for r in own:
            values = tuple(r)
            for position, values_of, missing in found:
                values += values_of.get(r[position], missing)
            rows.append(make(values))
        return rows


def _ids() -> BindParameter[Any]:
    return bindparam("ids", expanding=True, literal_execute=True)


CASE = EntityKind(
    name="case",
    table=CASES,
    case_id_column="id",
    writable=frozenset({"cycle", "exit_kind", "referent"}),
    # A minor's consent needs the guardian; timers count from the contract's dates.
    related=(
        Related(
            "beneficiary_id", Beneficiary.__table__, (("birth_date", "beneficiary_birth_date"),)
        ),  # type: ignore[arg-type]
        Related(
            "contract_id",
            Contract.__table__,  # type: ignore[arg-type]
            (
                ("start_date", "contract_start_date"),
                ("planned_end_date", "contract_planned_end_date"),
                ("trial_end_date", "contract_trial_end_date"),
            ),
        ),
    ),
)
LIAISON = EntityKind(
    name="liaison",
    table=SHEETS,
    case_id_column="case_id",
    # A partner that signed the charter with its own deadlines: its sheets' timers count them.
    related=(
        Related(
            "partner_id",
            Partner.__table__,  # type: ignore[arg-type]
            (("ack_days", "partner_ack_days"), ("feedback_days", "partner_feedback_days")),
        ),
    ),
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
