"""A cohort followed from identification to the end of the six months, on a simulated clock.

Everything goes through the engine, as in real use: the people's answers and the partners'
feedback are drawn at random (seeded), the timers' triggers are fired in batches, the clock is
moved forward week by week. What happens is printed in French.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import select

from casework.actors import Actor
from casework.app import App
from casework.clock import PARIS, FixedClock, to_local
from casework.demo_data import insert_partners, insert_people
from casework.errors import TransitionRefused
from casework.models import Case, LiaisonSheet, NeedCategory, Partner

COUNSELLOR = Actor.person("referente")
MONTHS = "janvier février mars avril mai juin juillet août septembre octobre novembre décembre"


class Demo:
    def __init__(self, app: App, clock: FixedClock, echo: Callable[[str], None], seed: int):
        self.app, self.clock, self.echo = app, clock, echo
        self.rng = random.Random(seed)
        self.seed = seed
        self.engine = app.engine
        self.spotlight: set[int] = set()
        self.counts: Counter[str] = Counter()

    # -- helpers ------------------------------------------------------------------------------

    def day(self) -> str:
        return to_local(self.clock.now()).strftime("%d/%m/%Y")

    def fire(self, case_id: int, trigger: str, actor: Actor = COUNSELLOR, **data: object) -> bool:
        try:
            done = self.engine.fire(case_id, trigger, actor, **data)
        except TransitionRefused as refusal:
            if case_id in self.spotlight:
                self.echo(f"  [{self.day()}] dossier {case_id} : {refusal.french()}")
            return False
        self.counts[trigger] += 1
        if case_id in self.spotlight:
            self.echo(
                f"  [{self.day()}] dossier {case_id} : {done.source} → {done.dest} "
                f"({trigger}, par {actor})"
            )
        return True

    def fire_batch(self, trigger: str, ids: list[int], actor: Actor) -> list[int]:
        """Fire one trigger for many cases at once; returns the ids the trigger did not apply to."""
        result = self.engine.fire_many("case", ids, trigger, actor)
        self.counts[trigger] += len(result.applied)
        for done in result.applied:
            if done.entity_id in self.spotlight:
                self.echo(
                    f"  [{self.day()}] dossier {done.entity_id} : {done.source} → {done.dest} "
                    f"({trigger}, par {actor})"
                )
        return [refusal.entity_id for refusal in result.refused]

    def fire_timer(self, trigger: str, ids: list[int]) -> None:
        self.fire_batch(trigger, ids, Actor.timer())

    def ids_in(self, *states: str) -> list[int]:
        with self.app.db.read() as conn:
            return list(conn.execute(select(Case.id).where(Case.state.in_(states))).scalars())

    def advance(self, days: int) -> None:
        self.clock.advance(timedelta(days=days))

    # -- the story ----------------------------------------------------------------------------

    def run(self, n_cases: int, cohort: int) -> None:
        # Identification once the signing season (July–December) is over.
        start = datetime.combine(date(cohort, 12, 15), time(9), tzinfo=PARIS)
        self.clock.set(start)
        with self.app.db.transaction() as conn:
            insert_partners(conn, self.clock.now())
            people = insert_people(conn, self.clock.now(), n_cases, cohort, self.seed)
            ids = self.engine.create_cases(
                conn,
                Actor.importer("demo"),
                [
                    {
                        "beneficiary_id": p.beneficiary_id,
                        "contract_id": p.contract_id,
                        "cohort": cohort,
                        # Year 2 of the pilot: birth-day parity (even: test, odd: control).
                        "group": "test" if p.birth_date.day % 2 == 0 else "control",
                        "assignment_method": "parity",
                        "referent": COUNSELLOR.id,
                    }
                    for p in people
                ],
            )
            groups = dict(conn.execute(select(Case.id, Case.group)).all())
        names = {i: p.name for i, p in zip(ids, people, strict=True)}
        tests = [i for i in ids if groups[i] == "test"]
        controls = [i for i in ids if groups[i] == "control"]
        self.spotlight = set(tests[:2] + controls[:1])
        self.echo(
            f"Cohorte {cohort} : {len(ids)} apprentis identifiés, {len(tests)} en groupe test, "
            f"{len(controls)} en groupe témoin (parité du jour de naissance)."
        )
        self.echo(
            "Dossiers suivis en détail : "
            + ", ".join(f"{i} ({names[i]})" for i in sorted(self.spotlight))
        )

        # The engine's guards choose the path: ask_consent only passes for the test group.
        refused = self.fire_batch("ask_consent", ids, Actor.system())
        self.fire_batch("track_outcomes", refused, Actor.system())
        self.consent_round(tests)
        self.advance(7)
        self.fire_timer("remind_consent", self.ids_in("consent_asked"))
        self.consent_round(self.ids_in("consent_reminded"), late=True)
        self.fire_timer("start_follow_up", self.ids_in("consented"))

        cycles = int(self.app.workflows.latest("case").definition.parameters["follow_up_cycles"])
        for month_number in range(cycles):
            if month_number:
                self.fire_timer("next_cycle", self.ids_in("follow_up"))
            month = to_local(self.clock.now())
            self.echo(f"— {MONTHS.split()[month.month - 1]} {month.year} —")
            for case_id in self.ids_in("follow_up"):
                self.contact(case_id)
            self.ruptures()
            self.reorientations()
            self.advance(30)
        self.echo("— fin des six mois de suivi —")
        self.fire_timer("next_cycle", self.ids_in("follow_up"))
        self.summary(ids, groups)

    def consent_round(self, ids: list[int], late: bool = False) -> None:
        for case_id in ids:
            draw = self.rng.random()
            if draw < 0.1:
                self.fire(case_id, "decline", reason="ne souhaite pas être accompagné(e)")
            elif draw < 0.25 and not late:
                continue  # no answer yet: the reminder timer will fire
            elif not self.fire(case_id, "give_consent", given_by="apprentice", data_checked=True):
                # A minor: consent counts only with the legal guardian's agreement.
                self.fire(
                    case_id,
                    "give_consent",
                    given_by="both",
                    guardian_agreed=True,
                    data_checked=True,
                )

    def contact(self, case_id: int) -> None:
        needs = [
            n for n in NeedCategory if n is not NeedCategory.OTHER and self.rng.random() < 0.06
        ]
        self.fire(
            case_id,
            "record_contact",
            channel=self.rng.choice(["phone", "phone", "sms", "meeting"]),
            duration_min=self.rng.randrange(10, 45),
            difficulties=[n.value for n in needs],
        )
        for need in needs[:1]:
            partner_id = self.partner_for(need)
            if self.fire(
                case_id,
                "refer",
                partner_id=partner_id,
                need_category=need.value,
                description=f"Difficulté repérée lors du point mensuel : {need.value}.",
                consent=True,
            ):
                self.follow_sheet(case_id)

    def partner_for(self, need: NeedCategory) -> int:
        """The partner whose charter role covers the need."""
        with self.app.db.read() as conn:
            rows = conn.execute(select(Partner.id, Partner.need_categories)).all()
        return next(pid for pid, needs in rows if need.value in needs)

    def follow_sheet(self, case_id: int) -> None:
        with self.app.db.read() as conn:
            sheet_id = (
                conn.execute(
                    select(LiaisonSheet.id)
                    .where(LiaisonSheet.case_id == case_id)
                    .order_by(LiaisonSheet.id.desc())
                )
                .scalars()
                .first()
            )
        assert sheet_id is not None
        engine, partner = self.engine, Actor.partner("contact@partenaire.example")
        engine.fire_sheet(sheet_id, "send", COUNSELLOR)
        self.counts["sheets"] += 1
        if self.rng.random() < 0.8:
            engine.fire_sheet(sheet_id, "acknowledge", partner)
        if self.rng.random() < 0.7:
            engine.fire_sheet(
                sheet_id, "give_feedback", partner, feedback="Jeune reçu(e), solution en cours."
            )
            engine.fire_sheet(sheet_id, "close", COUNSELLOR)
            self.counts["sheets closed"] += 1
        if case_id in self.spotlight:
            self.echo(f"  [{self.day()}] dossier {case_id} : fiche de liaison {sheet_id} envoyée")

    def ruptures(self) -> None:
        for case_id in self.ids_in(
            "identified",
            "consent_asked",
            "consent_reminded",
            "consented",
            "follow_up",
            "declined",
            "outcome_tracking",
        ):
            if self.rng.random() < 0.025:
                day = (
                    to_local(self.clock.now()) - timedelta(days=self.rng.randrange(1, 20))
                ).date()
                self.fire(
                    case_id,
                    "rupture",
                    Actor.importer("fichier CMA"),
                    rupture_date=day,
                    initiative=self.rng.choice(["apprentice", "employer", "mutual"]),
                )

    def reorientations(self) -> None:
        for case_id in self.ids_in("rupture"):
            self.fire(case_id, "start_reorientation")
        for case_id in self.ids_in("reorientation"):
            draw = self.rng.random()
            if draw < 0.4:
                self.fire(
                    case_id,
                    "positive_exit",
                    exit_kind=self.rng.choice(["new_contract_same_trade", "training", "job"]),
                )
            elif draw < 0.5:
                self.fire(case_id, "exit_without_solution")

    def summary(self, ids: list[int], groups: dict[int, str]) -> None:
        with self.app.db.read() as conn:
            states = dict(conn.execute(select(Case.id, Case.state)).all())
        ruptured = {
            "rupture",
            "reorientation",
            "positive_exit",
            "exit_without_solution",
            "lost_contact",
            "rupture_recorded",
        }
        self.echo("")
        self.echo("Bilan :")
        for group, label in (("test", "groupe test"), ("control", "groupe témoin")):
            members = [i for i in ids if groups[i] == group]
            broken = sum(states[i] in ruptured for i in members)
            rate = 100 * broken / len(members) if members else 0.0
            by_state = Counter(states[i] for i in members)
            detail = ", ".join(f"{s} {n}" for s, n in sorted(by_state.items()))
            self.echo(
                f"  {label} : {len(members)} dossiers, {broken} ruptures ({rate:.1f} %) — {detail}"
            )
        self.echo(
            f"  {self.counts['record_contact']} contacts enregistrés, "
            f"{self.counts['sheets']} fiches de liaison envoyées "
            f"({self.counts['sheets closed']} closes avec un retour)."
        )
        example = min(self.spotlight)
        database = self.app.db.url.render_as_string(hide_password=True)
        self.echo("Pour voir l'historique d'un dossier :")
        self.echo(f"  casework --database {database} history {example}")
