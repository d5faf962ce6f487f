"""Guards and handlers of the assessments (`record_assessment` in `workflows/case.yaml`).

An assessment is written to `assessments` by the transition that records it, in its
transaction, once per case and moment (a unique constraint keeps it so even if two counsellors
post at once): the one-year one while the case is watched until its end, the contract-end one
as it closes the case. Which moment a transition records is named by its handler, in the YAML.
"""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from casework.clock import to_local
from casework.engine.context import TransitionContext
from casework.handlers.registry import registry
from casework.models import AssessmentMoment
from casework.models.tables import ASSESSMENTS
from casework.timers.calendar import add_months


@registry.guard
def one_year_reached(ctx: TransitionContext) -> bool:
    """The one-year assessment is made once the contract is a year old (Paris day)."""
    start = ctx.value_of("contract.start_date")
    due = add_months(start, 12)
    return to_local(ctx.now).date() >= due or ctx.refuse(
        f"le bilan à un an se fait à partir du {due:%d/%m/%Y}, un an après le début du contrat"
    )


@registry.guard
def not_assessed_at_one_year(ctx: TransitionContext) -> bool:
    recorded = ctx.conn.execute(
        select(ASSESSMENTS.c.id).where(
            ASSESSMENTS.c.case_id == ctx.row.id,
            ASSESSMENTS.c.moment == AssessmentMoment.ONE_YEAR.value,
        )
    ).first()
    return recorded is None or ctx.refuse("le bilan à un an est déjà enregistré")


@registry.handler
def store_one_year_assessment(ctx: TransitionContext) -> None:
    _store(ctx, AssessmentMoment.ONE_YEAR)


@registry.handler
def store_contract_end_assessment(ctx: TransitionContext) -> None:
    _store(ctx, AssessmentMoment.CONTRACT_END)


def _store(ctx: TransitionContext, moment: AssessmentMoment) -> None:
    values = {
        "case_id": ctx.row.id,
        "moment": moment.value,
        "situation": ctx.data["situation"],
        "diploma": ctx.data["diploma"],
        "satisfaction": ctx.data.get("satisfaction"),
        "comments": ctx.data.get("comments"),
        "author": ctx.actor.id,
        "recorded_at": ctx.now,
    }
    ctx.note(moment=moment.value)

    def write(conn: Connection) -> None:
        conn.execute(insert(ASSESSMENTS), values)

    ctx.defer(write)
