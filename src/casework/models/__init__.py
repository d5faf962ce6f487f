"""The domain model: one module per concept, all on one declarative base."""

from casework.models.base import (
    ActorKind,
    AssignmentMethod,
    Base,
    ContactChannel,
    ContactRole,
    ExitKind,
    Group,
    NeedCategory,
    PartnerKind,
    RuptureInitiative,
    Sex,
)
from casework.models.beneficiary import Beneficiary
from casework.models.case import Case
from casework.models.contact import ContactLog
from casework.models.contract import Contract
from casework.models.event import Event
from casework.models.heartbeat import ServiceHeartbeat
from casework.models.liaison import LiaisonSheet
from casework.models.partner import Partner, PartnerContact
from casework.models.timer import Timer, TimerStatus

__all__ = [
    "ActorKind",
    "AssignmentMethod",
    "Base",
    "Beneficiary",
    "Case",
    "ContactChannel",
    "ContactLog",
    "ContactRole",
    "Contract",
    "Event",
    "ExitKind",
    "Group",
    "LiaisonSheet",
    "NeedCategory",
    "Partner",
    "PartnerContact",
    "PartnerKind",
    "RuptureInitiative",
    "ServiceHeartbeat",
    "Sex",
    "Timer",
    "TimerStatus",
]
