"""Consent withdrawn (art. 7(3) GDPR): what the case's `withdraw_consent` transition also does,
in its own transaction (the handler in `casework.handlers.withdrawal` defers `carry_out`).

- Every mail of the case still queued is cancelled (status `cancelled`): nothing more is sent
  about the young person — to the counsellor, a partner or anyone.
- Every open liaison sheet of the case is withdrawn through its own workflow (`withdraw`): its
  timers go with the state it leaves, and a partner that received it is sent the one mail that
  still leaves, telling it to stop (`templates/mail/liaison/withdrawn.partner.*`). Those mails
  are queued after the cancellation, so they are the only ones left.
- The pending timers of the case and of all its sheets are cancelled (the engine already
  cancels those of the states left; this also catches any other).
- Every working action link of the case is revoked.
- The request is recorded on the person (`privacy.requests`).

The case itself is kept, in its group: the evaluation counts it where it was assigned
(intention to treat); its final state `consent_withdrawn` is tagged `no_contact`, so no mail
may ever be declared on a transition into or out of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select, update

from casework.actors import Actor
from casework.models import MailStatus
from casework.models.tables import OUTBOX, SHEETS
from casework.notify.revocation import revoke_links
from casework.privacy.requests import Request, record_request
from casework.states.requirements import requires

if TYPE_CHECKING:
    from casework.engine.engine import Engine

SHEET_TRIGGER = "withdraw"
requires(
    "liaison",
    by="le retrait du consentement (privacy/withdrawal.py)",
    triggers={SHEET_TRIGGER: {"reason": "text"}},
)
# What the sheets' events and the revocations say (the case's own event holds the person's
# reason, if they gave one).
SHEET_REASON = "retrait du consentement du jeune au suivi"
REVOKE_REASON = "retrait du consentement"


@dataclass(frozen=True)
class Withdrawal:
    """What a withdrawal did, as its request event records it."""

    sheets: list[int]
    mails_cancelled: int
    timers_cancelled: int
    links_revoked: int


def carry_out(
    conn: Connection,
    engine: Engine,
    case_id: int,
    person_id: int,
    actor: Actor,
    now: datetime,
    withdrawn_on: date,
) -> Withdrawal:
    """Stop everything about one case, in the caller's transaction (see the module's doc)."""
    mails = cancel_queued_mails(conn, case_id, now)
    sheets = _withdraw_open_sheets(conn, engine, case_id, actor)
    every_sheet = list(
        conn.execute(select(SHEETS.c.id).where(SHEETS.c.case_id == case_id)).scalars()
    )
    timers = engine.timers.cancel_pending(conn, "case", [case_id], now)
    timers += engine.timers.cancel_pending(conn, "liaison", every_sheet, now)
    links = revoke_links(conn, case_id=case_id, by=actor, reason=REVOKE_REASON, now=now)
    done = Withdrawal(sheets, mails, timers, links)
    record_request(
        conn,
        person_id,
        Request.CONSENT_WITHDRAWAL,
        actor,
        now,
        case=case_id,
        withdrawn_on=withdrawn_on.isoformat(),
        sheets=sheets,
        mails_cancelled=mails,
        timers_cancelled=timers,
        links_revoked=links,
    )
    return done


def cancel_queued_mails(conn: Connection, case_id: int, now: datetime) -> int:
    """Cancel the case's mails not sent yet (a retry waiting included); returns how many. A mail
    a sender is sending at this very moment may still leave: it was on its way already."""
    return conn.execute(
        update(OUTBOX)
        .where(OUTBOX.c.case_id == case_id, OUTBOX.c.status == MailStatus.QUEUED)
        .values(
            status=MailStatus.CANCELLED,
            last_error=f"annulé : {REVOKE_REASON}",
            message=None,  # no copy of the personal data it carried
        )
    ).rowcount


def _withdraw_open_sheets(
    conn: Connection, engine: Engine, case_id: int, actor: Actor
) -> list[int]:
    """Withdraw each sheet of the case not in a final state of its workflow, in one batch."""
    finals = {
        (d.name, d.version): {name for name, s in d.states.items() if s.final}
        for d in engine.workflows
        if d.entity == "liaison"
    }
    rows = conn.execute(
        select(SHEETS.c.id, SHEETS.c.state, SHEETS.c.workflow_name, SHEETS.c.workflow_version)
        .where(SHEETS.c.case_id == case_id)
        .order_by(SHEETS.c.id)
    ).all()
    open_ids = [
        r.id for r in rows if r.state not in finals.get((r.workflow_name, r.workflow_version), ())
    ]
    if not open_ids:
        return []
    result = engine.fire_many(
        "liaison", open_ids, SHEET_TRIGGER, actor, {"reason": SHEET_REASON}, conn=conn
    )
    if result.refused:  # a state a later liaison workflow added without `withdraw`
        raise result.refused[0]
    return sorted(t.entity_id for t in result.applied)
