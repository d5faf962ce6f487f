"""Partner organisations that take liaison sheets, and the people to write to there."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.models.base import (
    Base,
    ContactRole,
    JSONDoc,
    PartnerKind,
    UTCDateTime,
    str_enum,
)


class Partner(Base):
    __tablename__ = "partners"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[PartnerKind] = mapped_column(str_enum(PartnerKind, "partner_kind"))
    # NeedCategory values this partner handles, per the charter of good practice.
    need_categories: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    # Département code(s) served, e.g. "53"; partners outside the territory exist.
    territory: Mapped[str | None] = mapped_column(String(40))
    # Training centres are known by their UAI.
    uai: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    contacts: Mapped[list[PartnerContact]] = relationship(back_populates="partner")


class PartnerContact(Base):
    __tablename__ = "partner_contacts"
    __table_args__ = (UniqueConstraint("partner_id", "email", name="partner_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), index=True)
    role: Mapped[ContactRole] = mapped_column(
        str_enum(ContactRole, "contact_role"), default=ContactRole.CONTACT
    )
    # Set when mail to this address bounces, so nobody waits for an answer that cannot come.
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship(back_populates="contacts")
