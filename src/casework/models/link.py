"""Signed action links: only a hash of each token is stored, and a link acts once."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, BigId, UTCDateTime


class ActionLink(Base):
    __tablename__ = "action_links"

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # sha256 of the token: a database leak gives no usable link.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    entity: Mapped[str] = mapped_column(String(20))
    entity_id: Mapped[int] = mapped_column(Integer)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id"), index=True)
    trigger: Mapped[str] = mapped_column(String(60))
    # The row's state entry (`entered_version`) when the mail was written; signed into the token.
    entered_version: Mapped[int] = mapped_column(Integer)
    # The state entry the link acts in; a step recorded through another link of the same mail
    # carries it along. When the row has moved on since, casework/web/links.py decides whether
    # the link is stale (moved by the other side) or still good (timers, its own side).
    valid_for_entry: Mapped[int] = mapped_column(Integer)
    mail_id: Mapped[int | None] = mapped_column(BigId)
    recipient: Mapped[str] = mapped_column(String(254))
    actor_kind: Mapped[str] = mapped_column(String(20))  # person or partner
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Revoked by a person (someone left, a mail went to the wrong address): the link then
    # answers 410 "Lien révoqué"; the case's timeline has an event saying who and why.
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by: Mapped[str | None] = mapped_column(String(120))
    revoke_reason: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
