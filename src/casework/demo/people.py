"""The people of the demo: a counsellor, partners, employers, acting at random through the engine.

`act(now)` plays whatever could have happened since the last call: the longer the gap, the
likelier each action (a rate per day, drawn as a Poisson event), so the story is the same
whether time moves a day per step or three days per real second. Timers do the rest: reminders,
monthly cycles, deadlines, escalations.
"""

from __future__ import annotations

import contextlib
import logging
import math
import random
from collections import Counter
from datetime import date, datetime, timedelta

from sqlalchemy import and_, select

from casework.actors import Actor
from casework.app import App
from casework.clock import format_local, to_local
from casework.errors import CaseworkError
from casework.labels import NEED_CATEGORY
from casework.models import Assessment, Case, ContactLog, Contract, LiaisonSheet, NeedCategory
from casework.partners.proposals import propose_partners
from casework.states.requirements import requires

log = logging.getLogger("casework.demo")
COUNSELLOR = Actor.person("referente")
PARTNER = Actor.partner("contact@partenaire.example")
CMA_FILE = Actor.importer("fichier CMA")
ACTIVE = (
    "identified",
    "consent_asked",
    "consent_reminded",
    "consented",
    "follow_up",
    "monitoring",
    "declined",
    "outcome_tracking",
)

# The demo's people act on the shipped workflows by name: `workflows check` says if one is
# renamed (the demo, not the engine, would break).
requires(
    workflow="case",
    by="la démo (demo/people.py)",
    bundled_only=True,
    states=[*ACTIVE, "rupture", "reorientation", "end_assessment"],
    triggers=[
        "ask_consent",
        "track_outcomes",
        "decline",
        "give_consent",
        "record_contact",
        "refer",
        "rupture",
        "start_reorientation",
        "positive_exit",
        "exit_without_solution",
        "record_assessment",
    ],
)
requires(
    workflow="liaison",
    by="la démo (demo/people.py)",
    bundled_only=True,
    states=["sent", "overdue", "acknowledged", "feedback_received"],
    triggers=["send", "acknowledge", "give_feedback", "close"],
)

# Rates per day.
CONSENT, DECLINE = 0.25, 0.02
CONTACT = 0.2  # a monthly check-in done within a few days of being due
NEED_FOUND = 0.25  # chance a contact finds a difficulty
ACKNOWLEDGE, FEEDBACK, CLOSE_SHEET = 0.25, 0.12, 0.5
RUPTURE = 0.0006  # about one contract in ten breaks in these six months
REORIENT, POSITIVE_EXIT, NO_SOLUTION = 0.5, 0.03, 0.005
ASSESS = 0.15  # an assessment recorded within a week or two of being due
# What the assessments find, and how often (most apprentices still with their employer).
SITUATIONS = {
    "same_employer": 14,
    "other_employer": 2,
    "training_without_contract": 1,
    "employed": 1,
    "unemployed": 1,
    "unknown": 1,
}


class DemoPeople:
    def __init__(
        self,
        app: App,
        seed: int = 53,
        spared_cases: frozenset[int] = frozenset(),
        spared_partner: int | None = None,
    ):
        self.app = app
        self.engine = app.engine
        self.rng = random.Random(seed)
        self.last: datetime | None = None
        # Left to the person trying the demo, who acts from the links in the mails: the
        # simulated counsellor does not touch these cases, the simulated partners do not answer
        # this partner's sheets.
        self.spared_cases = spared_cases
        self.spared_partner = spared_partner

    def chance(self, rate: float, days: float) -> bool:
        return self.rng.random() < 1 - math.exp(-rate * days)

    def ids(self, model: type, *states: str, everyone: bool = False) -> list[int]:
        with self.app.db.read() as conn:
            stmt = select(model.id).where(model.state.in_(states)).order_by(model.id)  # type: ignore[attr-defined]
            if everyone:
                return list(conn.execute(stmt).scalars())
            if model is Case and self.spared_cases:
                stmt = stmt.where(Case.id.not_in(self.spared_cases))
            if model is LiaisonSheet and self.spared_partner is not None:
                stmt = stmt.where(LiaisonSheet.partner_id != self.spared_partner)
            return list(conn.execute(stmt).scalars())

    def act(self, now: datetime) -> None:
        days = 0.0 if self.last is None else (now - self.last) / timedelta(days=1)
        self.last = now
        self.done: Counter[str] = Counter()
        self.assign_new_cases()
        if days > 0:
            self.consent(days)
            self.check_ins(days)
            self.partners(days)
            self.ruptures(days, now)
            self.reorientations(days)
            self.assessments(days, now)
        if self.done:
            actions = ", ".join(f"{t} ×{n}" for t, n in self.done.most_common())
            log.info("people at %s (Paris): %s", format_local(now), actions)

    def fire(self, case_id: int, trigger: str, actor: Actor = COUNSELLOR, **data: object) -> bool:
        try:
            self.engine.fire_case(case_id, trigger, actor, **data)
        except CaseworkError:
            return False  # the case moved on meanwhile (a timer fired): fine in a demo
        self.done[trigger] += 1
        return True

    def fire_sheet(self, sheet_id: int, trigger: str, actor: Actor, **data: object) -> None:
        with contextlib.suppress(CaseworkError):  # moved on meanwhile: fine in a demo
            self.engine.fire_sheet(sheet_id, trigger, actor, **data)
            self.done[f"sheet {trigger}"] += 1

    # -- the story's parts -----------------------------------------------------------------------

    def assign_new_cases(self) -> None:
        """What the import does: the test group is asked for consent, the control group is
        only tracked (the guards decide which is which)."""
        identified = self.ids(Case, "identified", everyone=True)
        if identified:
            asked = self.engine.fire_many("case", identified, "ask_consent", Actor.system())
            controls = [r.entity_id for r in asked.refused]
            tracked = self.engine.fire_many("case", controls, "track_outcomes", Actor.system())
            self.done["ask_consent"] += len(asked.applied)
            self.done["track_outcomes"] += len(tracked.applied)

    def consent(self, days: float) -> None:
        for case_id in self.ids(Case, "consent_asked", "consent_reminded"):
            if self.chance(DECLINE, days):
                self.fire(case_id, "decline", reason="ne souhaite pas être accompagné(e)")
            elif self.chance(CONSENT, days) and not self.fire(
                case_id, "give_consent", given_by="apprentice", data_checked=True
            ):
                # A minor: consent counts only with the legal guardian's agreement.
                self.fire(
                    case_id,
                    "give_consent",
                    given_by="both",
                    guardian_agreed=True,
                    data_checked=True,
                )

    def check_ins(self, days: float) -> None:
        with self.app.db.read() as conn:
            due = conn.execute(
                select(Case.id, Case.cycle)
                .outerjoin(
                    ContactLog, and_(ContactLog.case_id == Case.id, ContactLog.cycle == Case.cycle)
                )
                .where(Case.state == "follow_up", ContactLog.id.is_(None))
                .order_by(Case.id)
            ).all()
        for case_id, _cycle in due:
            if case_id in self.spared_cases or not self.chance(CONTACT, days):
                continue
            needs = [
                n
                for n in NeedCategory
                if n is not NeedCategory.OTHER and self.rng.random() < NEED_FOUND / 8
            ]
            self.fire(
                case_id,
                "record_contact",
                channel=self.rng.choice(["phone", "sms", "meeting"]),
                duration_min=self.rng.randrange(10, 45),
                difficulties=[n.value for n in needs],
            )
            for need in needs[:1]:
                # The counsellor takes the partner proposed first (another would need a reason).
                with self.app.db.read() as conn:
                    proposals = propose_partners(conn, case_id, need.value)
                if not proposals:
                    continue
                partner_id = proposals[0].partner_id
                if self.fire(
                    case_id,
                    "refer",
                    partner_id=partner_id,
                    need_category=need.value,
                    description="Difficulté repérée lors du point mensuel : "
                    f"{NEED_CATEGORY[need.value]}.",
                    consent=True,
                ):
                    self.send_latest_sheet(case_id)

    def send_latest_sheet(self, case_id: int) -> None:
        with self.app.db.read() as conn:
            sheet_id = conn.execute(
                select(LiaisonSheet.id)
                .where(LiaisonSheet.case_id == case_id)
                .order_by(LiaisonSheet.id.desc())
                .limit(1)
            ).scalar_one()
        self.fire_sheet(sheet_id, "send", COUNSELLOR)

    def partners(self, days: float) -> None:
        """Partners answer late, or not at all: some sheets get reminders and escalations."""
        for sheet_id in self.ids(LiaisonSheet, "sent", "overdue"):
            if self.chance(ACKNOWLEDGE, days):
                self.fire_sheet(sheet_id, "acknowledge", PARTNER)
        for sheet_id in self.ids(LiaisonSheet, "acknowledged"):
            if self.chance(FEEDBACK, days):
                self.fire_sheet(
                    sheet_id,
                    "give_feedback",
                    PARTNER,
                    feedback="Jeune reçu(e) ; démarches engagées, solution en vue.",
                )
        for sheet_id in self.ids(LiaisonSheet, "feedback_received"):
            if self.chance(CLOSE_SHEET, days):
                self.fire_sheet(sheet_id, "close", COUNSELLOR)

    def ruptures(self, days: float, now: datetime) -> None:
        for case_id in self.ids(Case, *ACTIVE):
            if self.chance(RUPTURE, days):
                day = to_local(now).date() - timedelta(days=self.rng.randrange(1, 10))
                self.fire(
                    case_id,
                    "rupture",
                    CMA_FILE,
                    rupture_date=day,
                    initiative=self.rng.choice(["apprentice", "employer", "mutual"]),
                )

    def reorientations(self, days: float) -> None:
        for case_id in self.ids(Case, "rupture"):
            if self.chance(REORIENT, days):
                self.fire(case_id, "start_reorientation")
        for case_id in self.ids(Case, "reorientation"):
            if self.chance(POSITIVE_EXIT, days):
                self.fire(
                    case_id,
                    "positive_exit",
                    exit_kind=self.rng.choice(["new_contract_same_trade", "training", "job"]),
                )
            elif self.chance(NO_SOLUTION, days):
                self.fire(case_id, "exit_without_solution")

    def assessments(self, days: float, now: datetime) -> None:
        """The one-year assessment of a watched case whose contract is a year old (the
        workflow's guard says when), and the end-of-contract one."""
        today = to_local(now).date()
        a_year_ago = date(today.year - 1, today.month, min(today.day, 28))  # the guard decides
        with self.app.db.read() as conn:
            due = list(
                conn.execute(
                    select(Case.id)
                    .join(Contract, Contract.id == Case.contract_id)
                    .outerjoin(Assessment, Assessment.case_id == Case.id)
                    .where(
                        Case.state == "monitoring",
                        Contract.start_date <= a_year_ago,
                        Assessment.id.is_(None),
                    )
                    .order_by(Case.id)
                ).scalars()
            )
        due += self.ids(Case, "end_assessment")
        for case_id in due:
            if case_id in self.spared_cases or not self.chance(ASSESS, days):
                continue
            said = self.rng.choice([None, 3, 4, 4, 5, 5])  # None: the apprentice did not say
            self.fire(
                case_id,
                "record_assessment",
                situation=self.rng.choices(list(SITUATIONS), list(SITUATIONS.values()))[0],
                diploma=self.rng.choice(["pending", "pending", "obtained", "not_obtained"]),
                **({} if said is None else {"satisfaction": said}),
            )
