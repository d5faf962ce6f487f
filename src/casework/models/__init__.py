"""The domain model: one module per concept, all on one declarative base."""

from casework.models.access_log import AccessLogEntry
from casework.models.account import LoginFailure, StaffSession
from casework.models.alert import Alert
from casework.models.assessment import Assessment
from casework.models.base import (
    ActorKind,
    AssessmentMoment,
    AssignmentMethod,
    Base,
    ContactChannel,
    ContactRole,
    DiplomaOutcome,
    ExitKind,
    Group,
    LearnerStatus,
    NeedCategory,
    PartnerKind,
    RuptureInitiative,
    Sex,
    Situation,
)
from casework.models.beneficiary import Beneficiary
from casework.models.case import Case
from casework.models.contact import ContactLog
from casework.models.contract import Contract
from casework.models.digest import Digest
from casework.models.event import Event
from casework.models.heartbeat import ServiceHeartbeat
from casework.models.inbound import InboundAttachment, InboundKind, InboundMail, InboundStatus
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
from casework.models.outbox import MailStatus, OutboxMail
from casework.models.partner import Partner, PartnerContact
from casework.models.privacy import EventRedactionPermit, PurgeRun
from casework.models.timer import Timer, TimerStatus
from casework.models.user import Role, User

__all__ = [
    "AccessLogEntry",
    "ActionLink",
    "ActorKind",
    "Alert",
    "Assessment",
    "AssessmentMoment",
    "AssignmentDraw",
    "AssignmentMethod",
    "Base",
    "Beneficiary",
    "Case",
    "ContactChannel",
    "ContactLog",
    "ContactRole",
    "Contract",
    "Digest",
    "DiplomaOutcome",
    "Event",
    "EventRedactionPermit",
    "ExitKind",
    "Group",
    "InboundAttachment",
    "InboundKind",
    "InboundMail",
    "InboundStatus",
    "IntakeFile",
    "IntakeRecord",
    "IntakeReject",
    "LearnerStatus",
    "LiaisonSheet",
    "LoginFailure",
    "MailStatus",
    "MatchDecision",
    "MatchProposal",
    "NeedCategory",
    "OutboxMail",
    "Partner",
    "PartnerContact",
    "PartnerKind",
    "PurgeRun",
    "Role",
    "RuptureInitiative",
    "ServiceHeartbeat",
    "Sex",
    "Situation",
    "StaffSession",
    "Timer",
    "TimerStatus",
    "User",
]
