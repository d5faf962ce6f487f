"""People who use casework: counsellors (referents), evaluators, administrators."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, UTCDateTime, str_enum


class Role(enum.StrEnum):
    COUNSELLOR = "counsellor"
    EVALUATOR = "evaluator"
    ADMINISTRATOR = "administrator"


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What `cases.referent` and audit events name.
    login: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
