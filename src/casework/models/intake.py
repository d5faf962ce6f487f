"""What the intake keeps: the files imported, their rows, the cross-matching's proposals, people's
decisions on them, and the draws that assigned groups."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Boolean, Float, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from casework.models.base import Base, JSONDoc, UTCDateTime


class IntakeFile(Base):
    """A file imported once: the same bytes again change nothing."""

    __tablename__ = "intake_files"
    __table_args__ = (UniqueConstraint("source", "sha256", name="intake_file_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(10))  # "cma" or "ml"
    name: Mapped[str] = mapped_column(String(255))
    sha256: Mapped[str] = mapped_column(String(64))
    described: Mapped[str] = mapped_column(String(120))  # "CSV cp1252, séparateur …"
    records: Mapped[int] = mapped_column(Integer)  # rows taken
    rejected: Mapped[int] = mapped_column(Integer)  # rows left out (--skip-invalid)
    created: Mapped[int] = mapped_column(Integer)
    updated: Mapped[int] = mapped_column(Integer)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime)
    imported_by: Mapped[str] = mapped_column(String(120))
    # The file's header, to write its rejected rows again (None: imported before 0007).
    header: Mapped[list[str] | None] = mapped_column(JSONDoc, nullable=True)


class IntakeReject(Base):
    """A row a file imported with --skip-invalid left out, as it was, and why: kept with the
    import in its transaction, so that neither a lost `.rejets.csv` nor a re-run that says
    "déjà importé" loses them (`casework intake rejects`)."""

    __tablename__ = "intake_rejects"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    file_id: Mapped[int] = mapped_column(ForeignKey("intake_files.id"), index=True)
    line: Mapped[int] = mapped_column(Integer)
    cells: Mapped[list[str]] = mapped_column(JSONDoc)  # as written, control characters escaped
    reasons: Mapped[list[str]] = mapped_column(JSONDoc)  # « colonne : raison », in French


class IntakeRecord(Base):
    """One row of a source as last imported, by its own key (contract number, ML id)."""

    __tablename__ = "intake_records"
    __table_args__ = (UniqueConstraint("source", "key", name="intake_record_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    source: Mapped[str] = mapped_column(String(10))
    key: Mapped[str] = mapped_column(String(60))
    data: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # the checked values, dates as ISO
    file_id: Mapped[int] = mapped_column(ForeignKey("intake_files.id"))
    line: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MatchProposal(Base):
    """The latest cross-matching's pair for a contract: matched, or to review by a person."""

    __tablename__ = "match_proposals"
    # The review queue, a page at a time, likeliest first, and how many are above a threshold
    # (the staff pages' Rapprochement): read by this index, never by scanning the table.
    __table_args__ = (Index("ix_match_proposals_band_probability", "band", "probability"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cma_key: Mapped[str] = mapped_column(String(60), unique=True)
    ml_key: Mapped[str] = mapped_column(String(60), index=True)
    probability: Mapped[float] = mapped_column(Float)
    band: Mapped[str] = mapped_column(String(10))  # match, review
    explanation: Mapped[list[str]] = mapped_column(JSONDoc)  # field by field, in French
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class MatchDecision(Base):
    """A person's verdict on a pair; every later cross-matching follows it."""

    __tablename__ = "match_decisions"
    __table_args__ = (UniqueConstraint("cma_key", "ml_key", name="match_decision_pair"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cma_key: Mapped[str] = mapped_column(String(60))
    ml_key: Mapped[str] = mapped_column(String(60))
    same: Mapped[bool] = mapped_column(Boolean)
    decided_by: Mapped[str] = mapped_column(String(120))
    decided_at: Mapped[datetime] = mapped_column(UTCDateTime)


class AssignmentDraw(Base):
    """How a batch of cases got its groups: the method, its seed and strata, who and when."""

    __tablename__ = "assignment_draws"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort: Mapped[int] = mapped_column(Integer)
    method: Mapped[str] = mapped_column(String(20))
    seed: Mapped[int | None] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSONDoc)  # strata, block size, table…
    cases: Mapped[int] = mapped_column(Integer)
    drawn_at: Mapped[datetime] = mapped_column(UTCDateTime)
    drawn_by: Mapped[str] = mapped_column(String(120))
