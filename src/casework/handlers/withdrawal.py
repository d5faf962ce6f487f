"""Guards and handlers of consent withdrawn (`withdraw_consent` in the case workflows): the
date is checked here, the rest is `casework.privacy.withdrawal`, deferred into the
transition's transaction."""

from __future__ import annotations

from sqlalchemy import Connection

from casework.clock import to_local
from casework.engine.context import TransitionContext
from casework.handlers.registry import registry
from casework.privacy.withdrawal import carry_out


@registry.guard
def withdrawal_date_known(ctx: TransitionContext) -> bool:
    """Consent is withdrawn on a day that has come (Paris): a date ahead is a typing slip."""
    day = ctx.data["withdrawn_on"]
    today = to_local(ctx.now).date()
    if day > today:
        return ctx.refuse(f"la date du retrait ({day:%d/%m/%Y}) est dans le futur")
    return True


@registry.handler
def withdraw_consent(ctx: TransitionContext) -> None:
    """Stop everything about the young person (see `privacy.withdrawal`); the case stays."""
    engine, actor, now = ctx.engine, ctx.actor, ctx.now
    case_id, person_id, day = ctx.row.id, ctx.row.beneficiary_id, ctx.data["withdrawn_on"]

    def stop(conn: Connection) -> None:
        carry_out(conn, engine, case_id, person_id, actor, now, day)

    ctx.defer(stop)
