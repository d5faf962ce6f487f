"""The kinds of rows a workflow drives, and what handlers may change on each."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table

from casework.models import Case, LiaisonSheet


@dataclass(frozen=True)
class EntityKind:
    name: str  # the `entity` of the workflow YAML and of audit events
    table: Table
    # The column holding the case this row belongs to (events carry it for the case timeline).
    case_id_column: str
    # Columns handlers may set with `ctx.set`; state, version and timestamps are the engine's.
    writable: frozenset[str]


CASE = EntityKind(
    name="case",
    table=Case.__table__,  # type: ignore[arg-type]
    case_id_column="id",
    writable=frozenset({"cycle", "exit_kind", "referent"}),
)
LIAISON = EntityKind(
    name="liaison",
    table=LiaisonSheet.__table__,  # type: ignore[arg-type]
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
