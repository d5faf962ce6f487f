"""`casework demo`: a cohort's six months on a simulated clock, told as it happens.

Each simulated day, the demo's people act (`people.py`) and the sweep fires the timers that
came due, exactly as the service would; the transitions of a few cases are printed.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from datetime import date, datetime, time, timedelta

from sqlalchemy import func, select

from casework import wording
from casework.app import App
from casework.clock import PARIS, FixedClock, to_local
from casework.demo.cohort import seed_cohort
from casework.demo.people import DemoPeople
from casework.labels import MONTHS
from casework.models import Case, ContactLog, Event, LiaisonSheet
from casework.states.requirements import requires

RUPTURED = {
    "rupture",
    "reorientation",
    "positive_exit",
    "exit_without_solution",
    "lost_contact",
    "rupture_recorded",
}
requires(workflow="case", by="la démo (demo/story.py)", states=sorted(RUPTURED), bundled_only=True)


def cohort_start(cohort: int) -> datetime:
    """Identification once the signing season (July–December) is over."""
    return datetime.combine(date(cohort, 12, 15), time(9), tzinfo=PARIS)


def run_story(
    app: App,
    clock: FixedClock,
    echo: Callable[[str], None],
    n_cases: int,
    cohort: int,
    seed: int,
    days: int = 200,
) -> None:
    clock.set(cohort_start(cohort))
    names = seed_cohort(app, n_cases, cohort, seed)
    people = DemoPeople(app, seed)
    with app.db.read() as conn:
        groups = dict(conn.execute(select(Case.id, Case.group)).all())
    tests = sorted(i for i, g in groups.items() if g == "test")
    controls = sorted(i for i, g in groups.items() if g == "control")
    spotlight = set(tests[:2] + controls[:1])
    echo(
        f"Cohorte {cohort} : {len(groups)} apprentis identifiés, {len(tests)} en groupe test, "
        f"{len(controls)} en groupe témoin (parité du jour de naissance)."
    )
    echo("Dossiers suivis en détail : " + ", ".join(f"{i} ({names[i]})" for i in sorted(spotlight)))
    seen, month = 0, None
    for _ in range(days):
        local = to_local(clock.now())
        if local.month != month:
            month = local.month
            echo(f"— {MONTHS[month - 1]} {local.year} —")
        people.act(clock.now())
        app.sweeper.drain(clock.now())
        seen = _tell(app, echo, spotlight, seen)
        clock.advance(timedelta(days=1))
    _summary(app, echo, groups, min(spotlight))


def _tell(app: App, echo: Callable[[str], None], spotlight: set[int], after: int) -> int:
    with app.db.read() as conn:
        new = conn.execute(
            select(Event.__table__)
            .where(Event.id > after, Event.case_id.in_(spotlight), Event.trigger.is_not(None))
            .order_by(Event.id)
        ).all()
        last = conn.execute(select(func.max(Event.id))).scalar_one() or after
    for e in new:
        what = f"dossier {e.case_id}" + (f", fiche {e.entity_id}" if e.entity == "liaison" else "")
        definition = app.workflows.latest(e.entity).definition
        action = wording.action(definition, e.trigger)
        before, after_ = (
            wording.state(definition, e.from_state),
            wording.state(definition, e.to_state),
        )
        if e.to_state is None:
            step = f"{action} : minuteur écarté ({e.data.get('reason')})"
        elif e.from_state == e.to_state:
            step = f"{action} ({after_})"
        else:
            step = f"{action} ({before} → {after_})"
        who = wording.actor(e.actor_kind, e.actor)
        echo(f"  [{to_local(e.at):%d/%m/%Y}] {what} : {step}, par {who}")
    return max(last, after)


def _many(n: int, noun: str) -> str:
    """ "1 dossier", "3 dossiers", "0 rupture" (French: the singular up to 1)."""
    return f"{n} {noun}{'s' if n > 1 else ''}"


def _summary(app: App, echo: Callable[[str], None], groups: dict[int, str], example: int) -> None:
    with app.db.read() as conn:
        states = dict(conn.execute(select(Case.id, Case.state)).all())
        contacts = conn.execute(select(func.count()).select_from(ContactLog)).scalar_one()
        sheets = Counter(conn.execute(select(LiaisonSheet.state)).scalars())
        reminders = Counter(
            conn.execute(
                select(Event.trigger).where(
                    Event.actor_kind == "timer", Event.to_state.is_not(None)
                )
            ).scalars()
        )
    cases, liaison = (app.workflows.latest(n).definition for n in ("case", "liaison"))

    def counted(counts: Counter[str], say: Callable[[str], str], none: str = "aucun") -> str:
        return ", ".join(f"{n} « {say(code)} »" for code, n in counts.most_common()) or none

    echo("")
    echo("Bilan :")
    for group, label in (("test", "groupe test"), ("control", "groupe témoin")):
        members = [i for i, g in groups.items() if g == group]
        broken = sum(states[i] in RUPTURED for i in members)
        rate = f"{100 * broken / len(members) if members else 0.0:.1f}".replace(".", ",")
        by_state = counted(Counter(states[i] for i in members), lambda s: wording.state(cases, s))
        echo(
            f"  {label} : {_many(len(members), 'dossier')}, {_many(broken, 'rupture')} "
            f"({rate} %) — {by_state}"
        )
    echo(
        f"  {_many(contacts, 'contact')} enregistré{'s' if contacts > 1 else ''} ; fiches de "
        f"liaison : {counted(sheets, lambda s: wording.state(liaison, s), 'aucune')}"
    )
    echo(
        "  fait par les minuteurs : "
        + counted(reminders, lambda t: wording.any_action((cases, liaison), t))
    )
    database = app.db.url.render_as_string(hide_password=True)
    echo("Pour voir l'historique d'un dossier :")
    echo(f"  casework --database {database} history {example}")
