"""Every table as a SQLAlchemy Core `Table`, under one name each, for the set-based queries that
go around the ORM (the engine, the sweep, intake, mail in and out).

Defined here once so that a module says `from casework.models.tables import CASES` instead of
repeating `Case.__table__`; typed `Table` (a mapped class's `__table__` is only a `FromClause`
to a type checker, which has no `.c.<column>` or `.insert()` it can check).
"""

from __future__ import annotations

from typing import cast

from sqlalchemy import Table

from casework.models.access_log import AccessLogEntry
from casework.models.account import LoginFailure, StaffSession
from casework.models.alert import Alert
from casework.models.assessment import Assessment
from casework.models.beneficiary import Beneficiary
from casework.models.case import Case
from casework.models.contact import ContactLog
from casework.models.contract import Contract
from casework.models.digest import Digest
from casework.models.event import Event
from casework.models.heartbeat import ServiceHeartbeat
from casework.models.inbound import InboundAttachment, InboundMail
from casework.models.intake import (
    AssignmentDraw,
    IntakeFile,
    IntakeRecord,
    IntakeReject,
    MatchDecision,
    MatchProposal,
)
from casework.models.liaison import LiaisonSheet
from casework.models.link import ActionLink
from casework.models.outbox import OutboxMail
from casework.models.partner import Partner, PartnerContact
from casework.models.privacy import EventRedactionPermit, PurgeRun
from casework.models.timer import Timer
from casework.models.user import User

ACCESS_LOG = cast(Table, AccessLogEntry.__table__)
ALERTS = cast(Table, Alert.__table__)
ASSESSMENTS = cast(Table, Assessment.__table__)
ATTACHMENTS = cast(Table, InboundAttachment.__table__)
CASES = cast(Table, Case.__table__)
CONTACT_LOGS = cast(Table, ContactLog.__table__)
CONTACTS = cast(Table, PartnerContact.__table__)  # partners' contacts
CONTRACTS = cast(Table, Contract.__table__)
DECISIONS = cast(Table, MatchDecision.__table__)
DIGESTS = cast(Table, Digest.__table__)
DRAWS = cast(Table, AssignmentDraw.__table__)
EVENTS = cast(Table, Event.__table__)
FILES = cast(Table, IntakeFile.__table__)
HEARTBEATS = cast(Table, ServiceHeartbeat.__table__)
INBOUND = cast(Table, InboundMail.__table__)
LINKS = cast(Table, ActionLink.__table__)
LOGIN_FAILURES = cast(Table, LoginFailure.__table__)
OUTBOX = cast(Table, OutboxMail.__table__)
PARTNERS = cast(Table, Partner.__table__)
PEOPLE = cast(Table, Beneficiary.__table__)
PERMITS = cast(Table, EventRedactionPermit.__table__)
PROPOSALS = cast(Table, MatchProposal.__table__)
PURGE_RUNS = cast(Table, PurgeRun.__table__)
RECORDS = cast(Table, IntakeRecord.__table__)
REJECTS = cast(Table, IntakeReject.__table__)
SESSIONS = cast(Table, StaffSession.__table__)  # the staff pages'
SHEETS = cast(Table, LiaisonSheet.__table__)
TIMERS = cast(Table, Timer.__table__)
USERS = cast(Table, User.__table__)
