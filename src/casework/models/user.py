"""People who use casework: counsellors (referents), managers, evaluators, administrators."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import Boolean, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, JSONDoc, UTCDateTime, str_enum


class Role(enum.StrEnum):
    COUNSELLOR = "counsellor"
    # Leads a team of counsellors; may be a referent too (takes over cases in a handover).
    MANAGER = "manager"
    EVALUATOR = "evaluator"
    # Stored as "administrator" since the first release; the command line says "admin".
    ADMINISTRATOR = "administrator"


# Who may be a case's referent (receive its mails, take it over).
REFERENT_ROLES = frozenset({Role.COUNSELLOR, Role.MANAGER})


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # What `cases.referent` and audit events name.
    login: Mapped[str] = mapped_column(String(120), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254))
    role: Mapped[Role] = mapped_column(str_enum(Role, "user_role"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # The départements the person works in ("53", "2A", "971"), checked by casework.territory;
    # empty: not limited to any.
    territory: Mapped[list[str]] = mapped_column(JSONDoc, default=list, server_default=text("'[]'"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Argon2id, as `casework.accounts.passwords` writes it ("$argon2id$v=19$…"); None: the
    # person cannot sign in to the web pages (`casework users set-password`).
    password_hash: Mapped[str | None] = mapped_column(String(200))
