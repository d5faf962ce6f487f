"""Guards and handlers of the liaison-sheet workflow (`workflows/liaison.yaml`)."""

from __future__ import annotations

from casework.engine.context import TransitionContext
from casework.handlers.registry import registry


@registry.guard
def young_person_consents(ctx: TransitionContext) -> bool:
    """A sheet is never sent without the young person's agreement."""
    return bool(ctx.row.consent) or ctx.refuse("le jeune n'a pas donné son accord pour cette fiche")


@registry.handler
def stamp_sent(ctx: TransitionContext) -> None:
    ctx.set(sent_at=ctx.now)


@registry.handler
def stamp_acknowledged(ctx: TransitionContext) -> None:
    ctx.set(acknowledged_at=ctx.now)


@registry.handler
def record_feedback(ctx: TransitionContext) -> None:
    ctx.set(feedback=ctx.data["feedback"], feedback_at=ctx.now)


@registry.handler
def stamp_closed(ctx: TransitionContext) -> None:
    ctx.set(closed_at=ctx.now)
