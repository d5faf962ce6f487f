"""Guards and handlers of the case workflow (`workflows/case.yaml`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from casework.clock import to_local
from casework.engine.context import TransitionContext
from casework.handlers.registry import registry
from casework.handover import revoke_previous_links, successor_refusal
from casework.models import ContactLog, Contract, ExitKind, Group, Partner
from casework.models.beneficiary import MAJORITY_AGE, age_on
from casework.partners.proposals import propose_partners

# How many of the partners proposed for a referral its event keeps, best first.
PROPOSALS_KEPT = 10

# -- guards -------------------------------------------------------------------------------------


@registry.guard
def in_test_group(ctx: TransitionContext) -> bool:
    return ctx.row.group == Group.TEST or ctx.refuse("le dossier est dans le groupe témoin")


@registry.guard
def has_referent(ctx: TransitionContext) -> bool:
    """A test case is asked for consent only once someone follows it: the mail goes to its
    referent (an active one: allocation and handover give only those)."""
    return ctx.row.referent is not None or ctx.refuse(
        f"le dossier n'a pas de référent : casework case reassign {ctx.row.id} --to IDENTIFIANT"
    )


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


@registry.guard
def partner_takes_sheets(ctx: TransitionContext) -> bool:
    """A deactivated partner gets no new sheet (the sheets it has go on)."""
    active = ctx.conn.execute(
        select(Partner.active).where(Partner.id == ctx.data["partner_id"])
    ).scalar_one_or_none()
    return active is not False or ctx.refuse(
        "ce partenaire est désactivé : il ne reçoit plus de nouvelles fiches"
    )


@registry.guard
def choice_explained(ctx: TransitionContext) -> bool:
    """The counsellor takes the partner proposed first for the need (`propose_partners`), or
    says why not (`reason`). The proposals and the rank of the one chosen go with the event."""
    proposals = propose_partners(ctx.conn, ctx.row.id, ctx.data["need_category"])
    ids = [p.partner_id for p in proposals]
    chosen = ctx.data["partner_id"]
    rank = ids.index(chosen) + 1 if chosen in ids else None
    ctx.note(proposed=ids[:PROPOSALS_KEPT], rank=rank)
    if rank == 1 or (ctx.data.get("reason") or "").strip():
        return True
    first = proposals[0]
    return ctx.refuse(
        f"le partenaire proposé en premier pour ce besoin est « {first.name} » ({first.why}) ; "
        "pour en choisir un autre, indiquez le motif de votre choix"
    )


@registry.guard
def referent_can_take_over(ctx: TransitionContext) -> bool:
    """A case goes to an active counsellor or manager other than its referent."""
    to = ctx.data["to"]
    if ctx.row.referent == to:
        return ctx.refuse(f"« {to} » en est déjà le référent")
    if ctx.row.group == Group.CONTROL and ctx.row.referent is None:
        return ctx.refuse("le dossier est dans le groupe témoin : personne ne le suit")
    refusal = successor_refusal(ctx.conn, to)
    return refusal is None or ctx.refuse(refusal)


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
        "state": ctx.row.state,
        # The file's phases, not Python's: a workflow says which of its states are which phase.
        "phase": ctx.machine.definition.phase_of(ctx.row.state),
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


@registry.handler
def change_referent(ctx: TransitionContext) -> None:
    """The case gets its new referent; the previous one's working links for it are revoked."""
    previous = ctx.row.referent
    ctx.set(referent=ctx.data["to"])
    ctx.note(**{"from": previous})
    if previous is None:
        return
    case_id, actor, now = ctx.row.id, ctx.actor, ctx.now

    def revoke(conn: Connection) -> None:
        revoke_previous_links(conn, previous, case_id, actor, now)

    ctx.defer(revoke)
