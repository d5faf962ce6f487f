"""Mail that came in: every message is kept (raw), with what was made of it."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, LargeBinary, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, BigId, UTCDateTime, str_enum


class InboundKind(enum.StrEnum):
    ANSWER = "answer"  # written by a person
    AUTO_REPLY = "auto_reply"  # out of office, lists, robots: stored, never counts
    BOUNCE = "bounce"  # a delivery report about one of our mails
    UNREADABLE = "unreadable"  # could not be parsed at all


class InboundStatus(enum.StrEnum):
    RECORDED = "recorded"  # it moved a sheet (or marked a mail bounced)
    IGNORED = "ignored"  # an automatic reply: kept, nothing else
    QUARANTINED = "quarantined"  # a person must look: attach it to a sheet or reject it
    REJECTED = "rejected"  # a person looked and set it aside


_HAS_MESSAGE_ID = text("message_id IS NOT NULL")
_FROM_IMAP = text("imap_uid IS NOT NULL")


class InboundMail(Base):
    __tablename__ = "inbound_mails"
    __table_args__ = (
        # Once only: the same message (by Message-ID) ingested twice is one record.
        Index(
            "uq_inbound_message_id",
            "message_id",
            unique=True,
            sqlite_where=_HAS_MESSAGE_ID,
            postgresql_where=_HAS_MESSAGE_ID,
        ),
        Index("ix_inbound_status", "status"),
        # Once only, for IMAP: a mailbox's (UIDVALIDITY, UID) names one message for good.
        Index(
            "uq_inbound_imap_uid",
            "imap_uidvalidity",
            "imap_uid",
            unique=True,
            sqlite_where=_FROM_IMAP,
            postgresql_where=_FROM_IMAP,
        ),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)
    source: Mapped[str] = mapped_column(String(60))  # "lmtp", "imap:INBOX", "test"…
    imap_uidvalidity: Mapped[int | None] = mapped_column(BigId)
    imap_uid: Mapped[int | None] = mapped_column(BigId)
    # The sender's Message-ID, or a hash of the raw bytes when it has none.
    message_id: Mapped[str | None] = mapped_column(String(250))
    sender: Mapped[str | None] = mapped_column(String(254))
    subject: Mapped[str | None] = mapped_column(Text)
    raw: Mapped[bytes] = mapped_column(LargeBinary)
    # What the person wrote, without quotes and signature: what people are shown.
    text: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[InboundKind] = mapped_column(str_enum(InboundKind, "inbound_kind"))
    status: Mapped[InboundStatus] = mapped_column(str_enum(InboundStatus, "inbound_status"))
    reason: Mapped[str | None] = mapped_column(Text)  # why it was quarantined or ignored
    # What it was matched to: our mail it answers, its sheet and case.
    outbox_id: Mapped[int | None] = mapped_column(BigId)
    sheet_id: Mapped[int | None] = mapped_column(ForeignKey("liaison_sheets.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"), index=True)
    # The event the answer made (the sheet's version after it).
    event_version: Mapped[int | None] = mapped_column(Integer)
    # When the retention purge emptied it (raw, text, sender, subject; attachments deleted).
    purged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class InboundAttachment(Base):
    """A file sent with an inbound message, kept up to `inbound.max_attachment_bytes`; past it,
    only its name and size (the raw message still holds everything)."""

    __tablename__ = "inbound_attachments"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    inbound_id: Mapped[int] = mapped_column(BigId, ForeignKey("inbound_mails.id"), index=True)
    filename: Mapped[str | None] = mapped_column(String(255))
    content_type: Mapped[str] = mapped_column(String(120))
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes | None] = mapped_column(LargeBinary)
