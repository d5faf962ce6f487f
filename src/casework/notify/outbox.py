"""The outbox table: queueing in the transition's transaction, claiming, marking.

Guarantees, path by path:
- *Queued with the cause.* The engine calls `queue_for` inside the transaction that applies the
  transition, so a mail exists exactly when its transition does (a rollback drops both).
- *Claimed by one sender at a time.* `claim` pushes each claimed mail's `next_attempt_at` one
  lease ahead in the claiming transaction (rows locked with SKIP LOCKED on PostgreSQL; SQLite
  holds its write lock), so no other sender sees it as due while it is being sent.
- *Never lost.* A sender that dies holding mails lets them fall due again when the lease ends;
  another sender (or the same one, restarted) takes them. That is also why delivery is
  at-least-once: a mail sent but not yet marked is sent again, with its stored Message-ID, so
  the receiving side can drop the duplicate.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, and_, func, insert, select, update

from casework.models import MailStatus
from casework.models.base import Group
from casework.models.tables import OUTBOX
from casework.states.fields import to_json

if TYPE_CHECKING:
    from casework.engine.context import TransitionContext
    from casework.engine.entities import EntityKind
    from casework.engine.fastsql import FastSQL

# Once a mail is done with (sent, or failed for good), its body goes: the outbox keeps no copy of
# the personal data it carried and no usable link (only hashes of links are kept elsewhere).
# The subject, the addresses, the Message-ID and the context (what the transition said) stay.
_DONE = {"message": None}
QUEUE_COLUMNS = (
    "case_id",
    "entity",
    "entity_id",
    "version",
    "state_entry",
    "template",
    "recipient_role",
    "recipients",
    "context",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
# Columns with few distinct values in a batch (see FastSQL.insert).
_FEW = frozenset(QUEUE_COLUMNS) - {"case_id", "entity_id", "version", "state_entry"}


class Outbox:
    def __init__(self, sql: FastSQL, postgresql: bool):
        self.sql = sql
        self.postgresql = postgresql

    # -- queueing (inside the engine's transaction) -------------------------------------------

    def queue_for(
        self,
        conn: Connection,
        entity: EntityKind,
        decided: Sequence[TransitionContext],
        now: datetime,
    ) -> int:
        """One outbox row per mail each applied transition declares. The row holds what only
        the transition knows (its data, the links to offer, the state entry they are valid
        for); the renderer reads the rest (names, dates, addresses) when it renders."""
        sql = self.sql
        at = sql.converter(OUTBOX.c.next_attempt_at)(now)
        json_value = sql.converter(OUTBOX.c.context)
        status = sql.converter(OUTBOX.c.status)(MailStatus.QUEUED)
        no_recipients = json_value([])
        rows: list[tuple[Any, ...]] = []
        contexts: dict[tuple[Any, ...], Any] = {}
        for ctx in decided:
            tdef = ctx.transition
            assert tdef is not None
            if not tdef.mails:
                continue
            if getattr(ctx.row, "group", None) == Group.CONTROL:
                # Validation already forbids mail around control-group states; never mail one.
                continue
            version = ctx.row.version + 1
            entered = ctx.row.entered_version if tdef.internal else version
            workflow = ctx.machine.definition.name
            for mail in tdef.mails:
                context = _context(ctx, mail, contexts, json_value)
                rows.append(
                    (
                        ctx.case_id,
                        entity.name,
                        ctx.row.id,
                        version,
                        entered,
                        f"{workflow}/{mail.template}",
                        mail.recipient,
                        no_recipients,
                        context,
                        status,
                        0,
                        at,
                        at,
                    )
                )
        sql.insert(conn, OUTBOX, QUEUE_COLUMNS, rows, few=_FEW)
        return len(rows)

    @staticmethod
    def queue_one(conn: Connection, now: datetime, **values: Any) -> int:
        """One mail outside a transition (a digest, a notice, a copy for another address):
        `values` give at least its template, recipient role and context."""
        row = {
            "recipients": [],
            "status": MailStatus.QUEUED,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
            **values,
        }
        return int(conn.execute(insert(OUTBOX).returning(OUTBOX.c.id), row).scalar_one())

    # -- the sender's side ---------------------------------------------------------------------

    def claim(self, conn: Connection, now: datetime, limit: int, lease: timedelta) -> list[int]:
        """Take up to `limit` due mails, oldest first, for one lease."""
        due = (
            select(OUTBOX.c.id)
            .where(and_(OUTBOX.c.status == MailStatus.QUEUED, OUTBOX.c.next_attempt_at <= now))
            .order_by(OUTBOX.c.next_attempt_at, OUTBOX.c.id)
            .limit(limit)
        )
        if self.postgresql:
            due = due.with_for_update(skip_locked=True)
        ids = list(conn.execute(due).scalars())
        if ids:
            conn.execute(
                update(OUTBOX).where(OUTBOX.c.id.in_(ids)).values(next_attempt_at=now + lease)
            )
        return ids

    @staticmethod
    def mark_sent(conn: Connection, ids: Iterable[int], now: datetime) -> None:
        """Sent: the body is dropped (see `_DONE`). A mail cancelled while the relay was taking
        it (consent withdrawn at that very moment) did leave: the record says so."""
        conn.execute(
            update(OUTBOX)
            .where(
                OUTBOX.c.id.in_(list(ids)),
                OUTBOX.c.status.in_([MailStatus.QUEUED, MailStatus.CANCELLED]),
            )
            .values(status=MailStatus.SENT, sent_at=now, attempts=OUTBOX.c.attempts + 1, **_DONE)
        )

    @staticmethod
    def retry_later(conn: Connection, mail_id: int, when: datetime, error: str) -> None:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == mail_id)
            .values(next_attempt_at=when, attempts=OUTBOX.c.attempts + 1, last_error=error)
        )

    @staticmethod
    def release(conn: Connection, ids: Iterable[int], when: datetime) -> None:
        """Give back claimed mails that were not tried (the relay went away first)."""
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id.in_(list(ids)), OUTBOX.c.status == MailStatus.QUEUED)
            .values(next_attempt_at=when)
        )

    @staticmethod
    def give_up(
        conn: Connection, mail_id: int, status: MailStatus, error: str, tried: bool = True
    ) -> None:
        conn.execute(
            update(OUTBOX)
            .where(OUTBOX.c.id == mail_id)
            .values(
                status=status,
                last_error=error,
                attempts=OUTBOX.c.attempts + (1 if tried else 0),
                **_DONE,
            )
        )

    @staticmethod
    def waiting(conn: Connection, now: datetime) -> dict[str, int]:
        """Mails queued, and due now: read from the partial index of waiting mails, whatever
        the number of mails already sent (for /health)."""
        waiting = OUTBOX.c.status == MailStatus.QUEUED
        queued, due = conn.execute(
            select(func.count(), func.count().filter(OUTBOX.c.next_attempt_at <= now)).where(
                waiting
            )
        ).one()
        return {"queued": int(queued), "due": int(due)}

    @staticmethod
    def counts(conn: Connection) -> dict[str, int]:
        rows = conn.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))
        found = {str(status): n for status, n in rows}
        return {s.value: found.get(s.value, 0) for s in MailStatus}


def _context(
    ctx: TransitionContext, mail: Any, contexts: dict[Any, Any], json_value: Callable[[Any], Any]
) -> Any:
    """A mail's stored context: what only its transition knows. Rows of a batch share their
    data: each mail's context is serialised once (`contexts` remembers them for the batch)."""
    try:
        key: Any = (id(ctx.data), id(mail), *ctx.notes.items())
        context = contexts.get(key)
    except TypeError:  # a note that cannot be a key (a list)
        key, context = None, None
    if context is None:
        context = json_value(
            {
                "trigger": ctx.trigger,
                "data": to_json({**ctx.data, **ctx.notes}),
                "links": list(mail.links),
                "reply": mail.reply,
            }
        )
        if key is not None:
            contexts[key] = context
    return context
