"""The neutral, frozen form of a workflow definition.

`reader.py` builds these from YAML; `validation.py` checks them; `machine.py` turns them into a
`transitions` Machine. Nothing here knows about YAML or the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

# Units a timer delay can be counted in.
DELAY_UNITS = ("minutes", "hours", "days", "working_days", "months")
# Who may fire a transition (matches casework.models.ActorKind values).
ACTOR_KINDS = frozenset({"person", "partner", "timer", "import", "system"})
# Field types a transition can ask for (the link page and the CLI build their form from them).
FIELD_TYPES = ("text", "int", "bool", "date", "choice", "multichoice")
MISFIRE_POLICIES = ("fire", "skip")
# Whom a mail can be addressed to; the outbox resolves each role to addresses.
RECIPIENTS = frozenset({"counsellor", "partner", "partner_manager", "beneficiary", "guardian"})
# Who acts through a mail's links, by recipient: counsellors as persons, partners as partners.
LINK_ACTORS = {"counsellor": "person", "partner": "partner", "partner_manager": "partner"}
# Date fields a timer can count from, per entity kind.
TIMER_ANCHORS = {
    "case": frozenset(
        {"contract.start_date", "contract.planned_end_date", "contract.trial_end_date"}
    ),
    "liaison": frozenset({"sent_at", "acknowledged_at"}),
}
# Counts a timer's delay may take from the row instead of the YAML (`or:`), per entity kind,
# with the unit they are counted in: a partner's own deadlines, per the charter it signed.
TIMER_COUNTS = {
    "liaison": {"partner.ack_days": "working_days", "partner.feedback_days": "working_days"},
}
# A state tagged so is for cases nobody contacts (the control group): no mail may enter or leave it.
NO_CONTACT_TAG = "no_contact"
# Groups a case can be assigned to (casework.models.Group values): `start:` maps each to the
# trigger that starts its cases from the initial state.
GROUPS = ("test", "control")
# Filters a digest line may apply to its rows (`unless:`), per entity kind; the SQL for each is
# in `casework.notify.digest`. "contacted_in_state": a contact was recorded since the case
# entered its state (this month's check-in is done).
DIGEST_FILTERS = {"case": frozenset({"contacted_in_state"})}


@dataclass(frozen=True)
class Delay:
    amount: int
    unit: str  # one of DELAY_UNITS
    # A count of the row that replaces `amount` when the row has one ("partner.ack_days"),
    # `plus` units more: `{working_days: 6, or: partner.ack_days, plus: 3}`.
    instead: str | None = None
    plus: int = 0

    def for_row(self, count: int | None) -> Delay:
        """The delay for a row whose `instead` count is `count` (None: the YAML's)."""
        if self.instead is None or count is None:
            return self
        return Delay(count + self.plus, self.unit)


@dataclass(frozen=True)
class TimerDef:
    """Fire `trigger` some delay after entering the state, or after a date field of the entity."""

    trigger: str
    delay: Delay
    line: int
    # None: counted from when the state is entered; else a date field, e.g. "contract.start_date".
    anchor: str | None = None
    # After downtime, an overdue timer fires once ("fire") or is dropped with an event ("skip").
    misfire: str = "fire"


@dataclass(frozen=True)
class MailDef:
    """A mail a transition queues: `templates/mail/<workflow>/<template>.<recipient>.*.j2`."""

    template: str
    recipient: str
    line: int
    # Triggers the recipient can fire from signed links in the mail (on the same row).
    links: tuple[str, ...] = ()
    # The mail expects an answer by mail: it gets a Reply-To reply+<token>@ address.
    reply: bool = False


@dataclass(frozen=True)
class FieldDef:
    """A value a transition needs from whoever fires it (a form field on the link page)."""

    name: str
    type: str
    line: int
    label: str = ""
    required: bool = False
    choices: tuple[str, ...] = ()
    minimum: int | None = None
    maximum: int | None = None
    max_length: int | None = None  # a text's own limit (else `text_limits.NOTE`'s)
    # A condition registered in `casework.handlers` ("beneficiary.minor"): the field applies,
    # is shown and may be given only when it holds for the row; None: always.
    when: str | None = None


@dataclass(frozen=True)
class StateDef:
    name: str
    line: int
    label: str = ""
    final: bool = False
    tags: frozenset[str] = frozenset()
    timers: tuple[TimerDef, ...] = ()
    on_enter: tuple[str, ...] = ()
    on_exit: tuple[str, ...] = ()
    # What a partner still owes while a row is here, as a mail says it ("accusé de réception").
    awaits: str = ""


@dataclass(frozen=True)
class TransitionDef:
    trigger: str
    sources: tuple[str, ...]
    # None: an internal transition (the state does not change, nothing is exited or entered).
    dest: str | None
    line: int
    label: str = ""
    guards: tuple[str, ...] = ()
    unless: tuple[str, ...] = ()
    handlers: tuple[str, ...] = ()
    mails: tuple[MailDef, ...] = ()
    fields: tuple[FieldDef, ...] = ()
    by: frozenset[str] = ACTOR_KINDS
    # What the code may look the trigger up by ("rupture", "reminder"): see `requirements.py`.
    tags: frozenset[str] = frozenset()

    @property
    def internal(self) -> bool:
        return self.dest is None

    def destination_from(self, source: str) -> str:
        return source if self.dest is None else self.dest


@dataclass(frozen=True)
class DigestDef:
    """One kind of line in the counsellor's daily digest: rows in `states` wait for the
    counsellor to fire `trigger` (the line's link)."""

    states: tuple[str, ...]
    trigger: str
    says: str  # what the line says, in French ("Consentement à recueillir")
    link: str  # the link's text ("Enregistrer la réponse")
    line: int
    # A filter of `DIGEST_FILTERS` leaving out the rows it holds for; None: every row.
    unless: str | None = None


@dataclass(frozen=True)
class ReplyDef:
    """What a reply by mail does to a row in `state`: fire `trigger` with its text in `field`."""

    state: str
    trigger: str
    field: str
    says: str  # what the inbound list says was recorded ("retour enregistré")
    line: int


@dataclass(frozen=True)
class PhaseDef:
    """A phase of the counsellor's work (`phases:`): the states a case is in during it. A
    contact is counted in the phase of the state the case was in when it was made."""

    name: str
    label: str  # what a report calls it ("Consentement")
    states: tuple[str, ...]
    line: int


@dataclass(frozen=True)
class WorkflowDef:
    name: str
    version: int
    entity: str  # "case" or "liaison"
    initial: str
    file: str
    line: int
    label: str = ""
    states: Mapping[str, StateDef] = field(default_factory=lambda: MappingProxyType({}))
    transitions: tuple[TransitionDef, ...] = ()
    parameters: Mapping[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    # The digest's lines, in the order the mail lists them.
    digest: tuple[DigestDef, ...] = ()
    # By state: what a reply by mail fires (liaison sheets).
    replies: Mapping[str, ReplyDef] = field(default_factory=lambda: MappingProxyType({}))
    # By group: the trigger that starts a case from `initial` (case workflows).
    start: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    # The phases of the counsellor's work, in the order the file gives them (case workflows).
    phases: Mapping[str, PhaseDef] = field(default_factory=lambda: MappingProxyType({}))
    # Line of each top-level section, for problems about a section as a whole.
    section_lines: Mapping[str, int] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def key(self) -> tuple[str, int]:
        return (self.name, self.version)

    @property
    def triggers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions))

    def transitions_from(self, state: str) -> tuple[TransitionDef, ...]:
        return tuple(t for t in self.transitions if state in t.sources)

    def phase_of(self, state: str) -> str | None:
        """The phase a case in `state` is in; None for a state outside every phase (the
        control group's, the final ones)."""
        for phase in self.phases.values():
            if state in phase.states:
                return phase.name
        return None

    def states_tagged(self, tag: str) -> tuple[str, ...]:
        return tuple(name for name, s in self.states.items() if tag in s.tags)

    def triggers_tagged(self, tag: str) -> tuple[str, ...]:
        return tuple(dict.fromkeys(t.trigger for t in self.transitions if tag in t.tags))

    def trigger_tagged(self, tag: str) -> str:
        """The one trigger tagged `tag` (`workflows check` makes sure there is exactly one
        where the code relies on it)."""
        found = self.triggers_tagged(tag)
        if len(found) != 1:
            raise LookupError(f"workflow {self.name!r}: {len(found)} triggers tagged {tag!r}")
        return found[0]

    def reply_needs_text(self, reply: ReplyDef) -> bool:
        """A reply's text is required when the field it fills is (an empty feedback is none)."""
        return any(
            f.name == reply.field and f.required
            for t in self.transitions_from(reply.state)
            if t.trigger == reply.trigger
            for f in t.fields
        )
