"""Guards and handlers of the case workflow (`workflows/case.yaml`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from casework.clock import to_local
from casework.engine.context import TransitionContext
from casework.handlers.registry import registry
from casework.models import ContactLog, Contract, ExitKind, Group, Partner
from casework.models.beneficiary import MAJORITY_AGE, age_on

# -- guards -------------------------------------------------------------------------------------


@registry.guard
def in_test_group(ctx: TransitionContext) -> bool:
    return ctx.row.group == Group.TEST or ctx.refuse("le dossier est dans le groupe témoin")


@registry.guard
def in_control_group(ctx: TransitionContext) -> bool:
    return ctx.row.group == Group.CONTROL


@registry.guard
def cycles_remaining(ctx: TransitionContext) -> bool:
    """True while the case has monthly follow-up cycles left (count set in the YAML)."""
    return ctx.row.cycle < int(ctx.params["follow_up_cycles"])


@registry.guard
def guardian_agrees_if_minor(ctx: TransitionContext) -> bool:
    """A minor's consent counts only with the legal guardian's agreement."""
    if not beneficiary_minor(ctx.row, ctx.now):
        return True
    why = "est mineur(e)" if ctx.row.beneficiary_birth_date else "a peut-être moins de 18 ans"
    return bool(ctx.data.get("guardian_agreed")) or ctx.refuse(
        f"l'apprenti(e) {why} : l'accord du représentant légal est nécessaire"
    )


# -- conditions (a field's `when:`) ---------------------------------------------------------------


@registry.condition("beneficiary.minor", entity="case", says="l'apprenti(e) est mineur(e)")
def beneficiary_minor(row: Any, now: datetime) -> bool:
    """Under 18 today (Paris). A birth date not known counts as a minor's: better ask for the
    guardian's agreement once too often than record a minor's consent without it."""
    born = row.beneficiary_birth_date
    return born is None or age_on(born, to_local(now).date()) < MAJORITY_AGE


@registry.guard
def partner_handles_need(ctx: TransitionContext) -> bool:
    """A sheet goes to a partner whose charter role covers the need."""
    categories = ctx.conn.execute(
        select(Partner.need_categories).where(Partner.id == ctx.data["partner_id"])
    ).scalar_one_or_none()
    if categories is None:
        return ctx.refuse(f"partenaire {ctx.data['partner_id']} inconnu")
    return ctx.data["need_category"] in categories or ctx.refuse(
        "ce partenaire ne traite pas ce besoin selon la charte"
    )


# -- handlers -----------------------------------------------------------------------------------


@registry.handler
def start_first_cycle(ctx: TransitionContext) -> None:
    ctx.set(cycle=1)


@registry.handler
def advance_cycle(ctx: TransitionContext) -> None:
    ctx.set(cycle=ctx.row.cycle + 1)
    ctx.note(cycle=ctx.row.cycle + 1)


@registry.handler
def log_contact(ctx: TransitionContext) -> None:
    """Record a contact with the apprentice in the counsellor's log."""
    values = {
        "case_id": ctx.row.id,
        "at": ctx.now,
        "channel": ctx.data["channel"],
        "duration_min": ctx.data["duration_min"],
        "difficulties": ctx.data.get("difficulties", []),
        "notes": ctx.data.get("notes"),
        "author": ctx.actor.id,
        "cycle": ctx.row.cycle,
        "phase": ctx.row.state,
    }
    ctx.defer(lambda conn: conn.execute(insert(ContactLog), values))


@registry.handler
def record_rupture(ctx: TransitionContext) -> None:
    """Write what is known of the rupture on the contract (an import may have done it already)."""
    values = {
        column: ctx.data[key]
        for key, column in (
            ("rupture_date", "rupture_date"),
            ("reason", "rupture_reason"),
            ("initiative", "rupture_initiative"),
        )
        if key in ctx.data
    }
    if values:
        values["updated_at"] = ctx.now
        contract_id = ctx.row.contract_id
        ctx.defer(
            lambda conn: conn.execute(
                update(Contract).where(Contract.id == contract_id).values(values)
            )
        )


@registry.handler
def record_positive_exit(ctx: TransitionContext) -> None:
    ctx.set(exit_kind=ExitKind(ctx.data["exit_kind"]))


@registry.handler
def record_exit_without_solution(ctx: TransitionContext) -> None:
    ctx.set(exit_kind=ExitKind.WITHOUT_SOLUTION)


@registry.handler
def record_lost_contact(ctx: TransitionContext) -> None:
    ctx.set(exit_kind=ExitKind.LOST_CONTACT)


@registry.handler
def open_liaison_sheet(ctx: TransitionContext) -> None:
    """Create the liaison sheet (as a draft) that this referral describes."""
    values = {
        "case_id": ctx.row.id,
        "partner_id": ctx.data["partner_id"],
        "need_category": ctx.data["need_category"],
        "description": ctx.data["description"],
        "consent": ctx.data["consent"],
        "consent_at": ctx.now if ctx.data["consent"] else None,
    }
    engine, actor = ctx.engine, ctx.actor

    def create(conn: Connection) -> None:
        engine.create_sheet(conn, actor, **values)

    ctx.defer(create)
