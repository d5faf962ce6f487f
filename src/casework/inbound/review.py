"""The quarantine, reviewed by a person: attach a message to a sheet (it acknowledges or gives
feedback, as a matched reply would), to a case as an alert, or reject it.

Guarantees: only a quarantined message can be reviewed, once; each review is one transaction —
the sheet's transition (through the engine) or the alert, and the message's new status with who
decided — so a refused transition leaves the message in the quarantine, unchanged. Given a
connection (the staff page, which checks the person's scope first), a review joins its
transaction instead of opening one. Refusals are `InboundError`s, said in French.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import Connection, select, update

from casework.actors import Actor
from casework.app import App
from casework.errors import CaseworkError
from casework.inbound.alerts import AlertDesk
from casework.inbound.matching import SHEET_FLOW
from casework.inbound.replies import sheet_state, sheet_workflow
from casework.models import InboundStatus
from casework.models.tables import INBOUND, SHEETS
from casework.states.definition import ReplyDef

log = logging.getLogger("casework.inbound")


class InboundError(CaseworkError):
    """A person's request about inbound mail that cannot be done (said in French)."""


class Review:
    def __init__(self, app: App):
        self.app = app
        self.alerts = AlertDesk(app)

    def attach(
        self, inbound_id: int, sheet_id: int, actor: Actor, conn: Connection | None = None
    ) -> ReplyDef:
        """A person says this quarantined message answers that sheet: it acknowledges or gives
        feedback, as a matched reply would; returns what the reply did (the file's `replies:`)."""
        with self._transaction(conn) as conn:
            record = _quarantined(conn, inbound_id)
            state = conn.execute(
                select(*SHEET_FLOW, SHEETS.c.state, SHEETS.c.case_id).where(SHEETS.c.id == sheet_id)
            ).first()
            if state is None:
                raise InboundError(f"fiche n° {sheet_id} inconnue")
            answer = sheet_workflow(self.app.workflows, state).replies.get(state.state)
            if answer is None:
                raise InboundError(
                    f"la fiche n° {sheet_id} n'attend pas de réponse "
                    f"({sheet_state(self.app.workflows, state.state)})"
                )
            data = {answer.field: record.text or ""}
            done = self.app.engine.fire_sheet(sheet_id, answer.trigger, actor, conn=conn, **data)
            _settle(
                conn,
                inbound_id,
                status=InboundStatus.RECORDED,
                sheet_id=sheet_id,
                case_id=state.case_id,
                event_version=done.version,
                reason=f"rattaché à la fiche n° {sheet_id} par {actor.id}",
            )
        log.info(
            "inbound %s attached to sheet %s by %s (%s)",
            inbound_id,
            sheet_id,
            actor,
            answer.trigger,
        )
        return answer

    def attach_alert(
        self, inbound_id: int, case_id: int, actor: Actor, conn: Connection | None = None
    ) -> int:
        """A person says this quarantined message is an alert about that case; returns the
        alert's number."""
        with self._transaction(conn) as conn:
            record = _quarantined(conn, inbound_id)
            self.alerts.check_can_alert(conn, case_id)
            if not record.sender:
                raise InboundError(f"le courriel reçu n° {inbound_id} n'a pas d'expéditeur")
            partners = self.alerts.partners_of(conn, record.sender)
            alert_id = self.alerts.raise_alert(
                conn,
                case_id=case_id,
                inbound_id=inbound_id,
                partner_id=partners[0] if len(partners) == 1 else None,
                sender=record.sender,
                subject=record.subject,
                text=record.text or "",
                identified_by=actor,
                now=self.app.clock.now(),
            )
            _settle(
                conn,
                inbound_id,
                status=InboundStatus.RECORDED,
                case_id=case_id,
                reason=f"alerte sur le dossier n° {case_id}, rattachée par {actor.id}",
            )
        log.info(
            "inbound %s attached as alert %s on case %s by %s", inbound_id, alert_id, case_id, actor
        )
        return alert_id

    def reject(
        self, inbound_id: int, actor: Actor, reason: str, conn: Connection | None = None
    ) -> None:
        with self._transaction(conn) as conn:
            _quarantined(conn, inbound_id)
            rejected = f"écarté par {actor.id} : {reason}"
            _settle(conn, inbound_id, status=InboundStatus.REJECTED, reason=rejected)
        log.info("inbound %s rejected by %s", inbound_id, actor)  # the reason is free text

    @contextmanager
    def _transaction(self, conn: Connection | None) -> Iterator[Connection]:
        """The caller's transaction if one is given, else one of our own (committed)."""
        if conn is not None:
            yield conn
        else:
            with self.app.db.transaction() as own:
                yield own


def _quarantined(conn: Connection, inbound_id: int) -> Any:
    record = conn.execute(select(INBOUND).where(INBOUND.c.id == inbound_id)).first()
    if record is None:
        raise InboundError(f"courriel reçu n° {inbound_id} inconnu")
    if record.status != InboundStatus.QUARANTINED:
        raise InboundError(f"le courriel reçu n° {inbound_id} n'est pas en quarantaine")
    return record


def _settle(conn: Connection, inbound_id: int, **values: Any) -> None:
    """What a person decided about a quarantined message, written on its record."""
    conn.execute(update(INBOUND).where(INBOUND.c.id == inbound_id).values(**values))
