"""Partner organisations that take liaison sheets, and the people to write to there."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from casework.models.base import (
    Base,
    ContactRole,
    JSONDoc,
    PartnerKind,
    UTCDateTime,
    str_enum,
)
from casework.names import fold


def _name_key(context: Any) -> str:
    return fold(context.get_current_parameters()["name"])


class Partner(Base):
    __tablename__ = "partners"
    # A unique index, not a constraint: SQLite adds one in place, where a constraint would
    # mean copying a table that sheets, contacts and alerts refer to.
    __table_args__ = (Index("ix_partners_name_key", "name_key", unique=True),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The directory's key: importing a file again updates the partner of that name.
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # The name as partners are known by (`casework.names.fold`: without case, accents or
    # punctuation), unique: two imports at once cannot create "ADLJ 53" and "Adlj 53". Python
    # computes it (the folding has no SQL equivalent on both databases): every insert gets it
    # from the name; a rename sets it with the name (`partners.directory`).
    name_key: Mapped[str] = mapped_column(String(200), default=_name_key)
    kind: Mapped[PartnerKind] = mapped_column(str_enum(PartnerKind, "partner_kind"))
    # NeedCategory values this partner handles, per the charter of good practice.
    need_categories: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    # Its territory: département codes ("53", "2A", "974") and postcodes ("53000"). Both empty:
    # not said. Partners outside the young person's territory are still proposed, after.
    departements: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    postcodes: Mapped[list[str]] = mapped_column(JSONDoc, default=list)
    siret: Mapped[str | None] = mapped_column(String(14))
    # Training centres are known by their UAI: an apprentice's own is found by it.
    uai: Mapped[str | None] = mapped_column(String(8))
    # Its own deadlines when it signed the charter with others, in working days: to acknowledge
    # a sheet once sent, to report back once acknowledged. None: the workflow's.
    ack_days: Mapped[int | None] = mapped_column(Integer)
    feedback_days: Mapped[int | None] = mapped_column(Integer)
    # A deactivated partner gets no new sheet; the sheets it has go on.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    deactivated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    deactivated_by: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    contacts: Mapped[list[PartnerContact]] = relationship(back_populates="partner")


class PartnerContact(Base):
    __tablename__ = "partner_contacts"
    __table_args__ = (UniqueConstraint("partner_id", "email", name="partner_email"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    partner_id: Mapped[int] = mapped_column(ForeignKey("partners.id"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    # Stored in lower case: replies and bounces are matched on it.
    email: Mapped[str] = mapped_column(String(254), index=True)
    phone: Mapped[str | None] = mapped_column(String(32))
    role: Mapped[ContactRole] = mapped_column(
        str_enum(ContactRole, "contact_role"), default=ContactRole.CONTACT
    )
    # Set when mail to this address bounces, so nobody waits for an answer that cannot come;
    # cleared by a genuine reply from it, or by `casework partners reachable`.
    unreachable: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    partner: Mapped[Partner] = relationship(back_populates="contacts")
