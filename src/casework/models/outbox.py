"""The outbox: mail queued in the transaction of the transition that causes it.

A row starts `queued` with its flat context (the template never reaches into the database).
The sender renders it once — Message-ID, Date and body fixed then and stored — and sends it;
retries resend exactly the stored message. Once sent (or failed for good) the body is dropped.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, BigId, JSONDoc, UTCDateTime, str_enum


class MailStatus(enum.StrEnum):
    QUEUED = "queued"  # waiting for its first or next attempt
    SENT = "sent"  # the relay accepted it
    FAILED = "failed"  # refused for good (5xx) or out of attempts: the counsellor is told
    BOUNCED = "bounced"  # accepted, then returned by the recipient's server
    UNDELIVERABLE = "undeliverable"  # no address to send it to: nothing was sent
    CANCELLED = "cancelled"  # never sent: the young person withdrew consent (privacy/withdrawal)


_WAITING = text("status = 'queued'")
_FAILED = text("status = 'failed'")
_RENDERED = text("message_id IS NOT NULL")
_REPLYING = text("reply_token IS NOT NULL")


class OutboxMail(Base):
    __tablename__ = "outbox"
    __table_args__ = (
        Index(
            "ix_outbox_waiting",
            "next_attempt_at",
            "id",
            sqlite_where=_WAITING,
            postgresql_where=_WAITING,
        ),
        # Mails failed for good, counted by `casework status` and the steering page: a few.
        Index("ix_outbox_failed", "id", sqlite_where=_FAILED, postgresql_where=_FAILED),
        # Unique among rendered mails; a queued row (NULL) costs these indexes nothing.
        Index(
            "uq_outbox_message_id",
            "message_id",
            unique=True,
            sqlite_where=_RENDERED,
            postgresql_where=_RENDERED,
        ),
        Index(
            "uq_outbox_reply_token",
            "reply_token",
            unique=True,
            sqlite_where=_REPLYING,
            postgresql_where=_REPLYING,
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # What caused it: the row and the version its transition left (None for digests).
    entity: Mapped[str | None] = mapped_column(String(20))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    version: Mapped[int | None] = mapped_column(Integer)
    # The state entry (`entered_version`) of that row the mail is about: its links act there.
    state_entry: Mapped[int | None] = mapped_column(Integer)
    # "case/follow_up_due", and whom it is for ("counsellor", "partner"…).
    template: Mapped[str] = mapped_column(String(120))
    recipient_role: Mapped[str] = mapped_column(String(40))
    recipients: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    context: Mapped[dict[str, Any]] = mapped_column(JSONDoc, default=dict)
    # Set when the mail expects an answer: replies to reply+<token>@domain come back to it.
    reply_token: Mapped[str | None] = mapped_column(String(200))
    # Fixed when rendered, before the first attempt.
    message_id: Mapped[str | None] = mapped_column(String(250))
    subject: Mapped[str | None] = mapped_column(Text)
    # The MIME message, kept while it may still be (re)sent.
    message: Mapped[str | None] = mapped_column(Text)
    status: Mapped[MailStatus] = mapped_column(
        str_enum(MailStatus, "mail_status"), default=MailStatus.QUEUED
    )
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # When a sender may next take it. Claiming a mail pushes this a lease ahead: a sender that
    # dies holding it lets the mail fall due again, for another sender (never lost).
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # A notice to the counsellor about this failed mail (never a notice about a notice).
    about_mail_id: Mapped[int | None] = mapped_column(BigId)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the retention purge emptied it (recipients, context, subject, message, error).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
