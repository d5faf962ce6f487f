"""The young person followed: identity, contact details, legal guardian."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import Date, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, Sex, UTCDateTime, str_enum
from casework.names import name_key

MAJORITY_AGE = 18


def _birth_name_key(context: Any) -> str | None:
    """`name_key` follows `birth_name` on insert. (An update that changes `birth_name` sets
    `name_key` too: an `onupdate` would blank it on updates of other columns.)"""
    name = context.get_current_parameters().get("birth_name")
    return None if name is None else name_key(name)


class Beneficiary(Base):
    __tablename__ = "beneficiaries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    birth_name: Mapped[str] = mapped_column(String(120))
    # The birth name folded (see `casework.names`), indexed: how a name written in a mail by a
    # partner, with or without accents and hyphens, is found among a million.
    name_key: Mapped[str | None] = mapped_column(String(120), index=True, default=_birth_name_key)
    # All first names, in civil-status order, space separated ("Marie Louise Anne").
    first_names: Mapped[str] = mapped_column(String(200))
    # None once anonymised (`casework.privacy.anonymise`): only `birth_year` stays.
    birth_date: Mapped[date | None] = mapped_column(Date)
    birth_year: Mapped[int | None] = mapped_column(Integer)
    # None: unknown (a file that does not give it); never guessed from a first name.
    sex: Mapped[Sex | None] = mapped_column(str_enum(Sex, "sex"))
    phone: Mapped[str | None] = mapped_column(String(32))
    email: Mapped[str | None] = mapped_column(String(254))
    address_line: Mapped[str | None] = mapped_column(String(200))
    postcode: Mapped[str | None] = mapped_column(String(10))
    commune: Mapped[str | None] = mapped_column(String(120))
    # Département code ("53", "2A", "974"): apprentices may live outside the pilot's territory.
    # Indexed: a manager's scope is the cases of the young people living in their territory.
    departement: Mapped[str | None] = mapped_column(String(3), index=True)
    # Identifier in the Mission Locale's own information system.
    ml_id: Mapped[str | None] = mapped_column(String(40), unique=True)
    # A minor's legal guardian takes part in consent. Whether the person is a minor is derived
    # from the birth date on the day it matters (see `is_minor`), never stored.
    guardian_name: Mapped[str | None] = mapped_column(String(200))
    guardian_phone: Mapped[str | None] = mapped_column(String(32))
    guardian_email: Mapped[str | None] = mapped_column(String(254))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When names, birth date, contact details and identifiers were removed (retention reached,
    # or erasure on request); the coded values the evaluation counts stay.
    anonymised_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    def age_on(self, day: date) -> int:
        assert self.birth_date is not None, "an anonymised person has no birth date"
        return age_on(self.birth_date, day)

    def is_minor(self, day: date) -> bool:
        return self.age_on(day) < MAJORITY_AGE

    @property
    def display_name(self) -> str:
        return display_name(self.first_names, self.birth_name)


def display_name(first_names: str, birth_name: str) -> str:
    """How people read a young person's name: the usual first name, then the name in capitals
    ("Léa MARTIN" for "Léa Marie" Martin)."""
    first = first_names.split()[0] if first_names.split() else ""
    return f"{first} {birth_name.upper()}".strip()


def age_on(birth_date: date, day: date) -> int:
    """Age in whole years on `day` (someone born on 29 February ages on 1 March)."""
    had_birthday = (day.month, day.day) >= (birth_date.month, birth_date.day)
    return day.year - birth_date.year - (0 if had_birthday else 1)
