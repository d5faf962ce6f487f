"""Declarative base, column types shared by every table, and the domain's closed vocabularies."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import JSON, BigInteger, DateTime, Enum, Integer, MetaData
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase
from sqlalchemy.types import TypeDecorator

# Named constraints make Alembic migrations deterministic on both backends.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (no time zones) as on PostgreSQL.

    A naive datetime is refused at bind time: it would silently be read as UTC.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r} cannot be stored")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# JSON documents: JSONB on PostgreSQL (indexable), JSON text on SQLite.
JSONDoc = JSON().with_variant(JSONB(), "postgresql")
# 64-bit keys for high-volume tables; SQLite needs INTEGER for its rowid alias.
BigId = BigInteger().with_variant(Integer(), "sqlite")


def str_enum(cls: type[enum.Enum], name: str) -> Enum:
    """A closed vocabulary stored as its string value, checked by a CHECK constraint."""
    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=max(len(m.value) for m in cls),
        values_callable=lambda members: [m.value for m in members],
        validate_strings=True,
    )


class Sex(enum.StrEnum):
    """As a file states it. Unknown is NULL, not a third value: it is information missing, not
    a sex, and a report shows it as "inconnu" rather than count it as one."""

    FEMALE = "F"
    MALE = "M"


class LearnerStatus(enum.StrEnum):
    """What the chamber's file says a young person is: an apprentice (a contract, a training
    centre for apprentices) or a student in higher education."""

    APPRENTICE = "apprentice"
    STUDENT = "student"


class PartnerKind(enum.StrEnum):
    MISSION_LOCALE = "mission_locale"
    HOUSING = "housing"
    TRAINING_CENTRE = "training_centre"
    SOCIAL_SERVICES = "social_services"
    OTHER = "other"


class NeedCategory(enum.StrEnum):
    HOUSING = "housing"
    MONEY = "money"
    HEALTH = "health"
    MOBILITY = "mobility"
    FAMILY = "family"
    EMPLOYER_CONFLICT = "employer_conflict"
    MOTIVATION = "motivation"
    TRAINING = "training"
    LEGAL = "legal"  # rights, justice, administrative steps
    OTHER = "other"


class ContactRole(enum.StrEnum):
    CONTACT = "contact"  # receives liaison sheets and reminders
    MANAGER = "manager"  # receives escalations


class Group(enum.StrEnum):
    TEST = "test"
    CONTROL = "control"


class AssignmentMethod(enum.StrEnum):
    PARITY = "parity"
    LOTTERY = "lottery"
    EVALUATOR = "evaluator"
    MANUAL = "manual"


class ActorKind(enum.StrEnum):
    PERSON = "person"
    PARTNER = "partner"
    TIMER = "timer"
    IMPORT = "import"
    SYSTEM = "system"


class ContactChannel(enum.StrEnum):
    PHONE = "phone"
    SMS = "sms"
    EMAIL = "email"
    VISIT = "visit"
    MEETING = "meeting"
    OTHER = "other"


class RuptureInitiative(enum.StrEnum):
    APPRENTICE = "apprentice"
    EMPLOYER = "employer"
    MUTUAL = "mutual"
    OTHER = "other"


class ExitKind(enum.StrEnum):
    """How a case ended after a rupture (positive exits first)."""

    NEW_CONTRACT_SAME_TRADE = "new_contract_same_trade"
    OTHER_ORIENTATION = "other_orientation"
    TRAINING = "training"
    JOB = "job"
    WITHOUT_SOLUTION = "without_solution"
    LOST_CONTACT = "lost_contact"


class AssessmentMoment(enum.StrEnum):
    """When an assessment is made: a year into the contract, or at its end."""

    ONE_YEAR = "one_year"
    CONTRACT_END = "contract_end"


class Situation(enum.StrEnum):
    """Where the apprentice stands at an assessment."""

    SAME_EMPLOYER = "same_employer"
    OTHER_EMPLOYER = "other_employer"
    TRAINING_WITHOUT_CONTRACT = "training_without_contract"
    EMPLOYED = "employed"
    UNEMPLOYED = "unemployed"
    UNKNOWN = "unknown"


class DiplomaOutcome(enum.StrEnum):
    OBTAINED = "obtained"
    NOT_OBTAINED = "not_obtained"
    PENDING = "pending"


def enum_values(cls: type[enum.Enum]) -> list[str]:
    """The values a closed vocabulary stores (its members' `.value`s), in declaration order."""
    return [m.value for m in cls]
