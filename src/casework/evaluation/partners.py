"""Table 6: the partners — sheets by partner and need, how fast they acknowledged and reported
back in working days against the charter's deadlines, reminders and escalations.

Working days are the service's calendar (`timers/calendar.py`: no weekends, no French public
holidays): days in (sent, acknowledged], as the deadlines count them. A partner's deadline is
its own (`partners.ack_days`, `feedback_days`), else the charter's, read from the liaison
workflow (`notify/deadlines.py`). A sheet still unanswered at the cut-off counts as late once its
deadline has passed, and is left out of the share until then.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime

import numpy as np

from casework.evaluation.extract_activity import SentSheet
from casework.evaluation.format import Cell, Num, Pct
from casework.evaluation.model import Block, Table
from casework.french import name_and_kind
from casework.labels import NEED_CATEGORY, PARTNER_KIND
from casework.notify.deadlines import feedback_days
from casework.states.definition import WorkflowDef
from casework.timers.calendar import Calendar

REMIND, ESCALATE = "remind", "escalate"


def charter_ack_days(liaison: WorkflowDef) -> int:
    """The charter's days to acknowledge: the `sent` state's reminder less its `plus`."""
    reminder = liaison.trigger_tagged("reminder")
    (timer,) = (t for t in liaison.states["sent"].timers if t.trigger == reminder)
    return timer.delay.amount - timer.delay.plus


@dataclass
class Step:
    """One deadline of one partner's sheets: acknowledging, or reporting back."""

    days: list[int] = field(default_factory=list)  # working days taken, when it was done
    within: int = 0
    late: int = 0  # done late, or not done and past the deadline

    def add(
        self,
        calendar: Calendar,
        start: datetime,
        done: datetime | None,
        deadline: int,
        cutoff: date,
    ) -> None:
        first = calendar.local_date(start)
        if done is not None:
            taken = calendar.working_days_between(first, calendar.local_date(done))
            self.days.append(taken)
            if taken <= deadline:
                self.within += 1
            else:
                self.late += 1
        elif calendar.working_days_between(first, cutoff) > deadline:
            self.late += 1

    def cells(self) -> list[Cell]:
        judged = self.within + self.late
        median = float(np.median(self.days)) if self.days else None
        return [len(self.days), Num(median, 1), Pct(self.within / judged if judged else None)]


@dataclass
class PartnerFigures:
    sheets: int = 0
    ack: Step = field(default_factory=Step)
    feedback: Step = field(default_factory=Step)
    reminded: int = 0
    escalated: int = 0

    def absorb(self, other: PartnerFigures) -> None:
        self.sheets += other.sheets
        for mine, theirs in ((self.ack, other.ack), (self.feedback, other.feedback)):
            mine.days += theirs.days
            mine.within += theirs.within
            mine.late += theirs.late
        self.reminded += other.reminded
        self.escalated += other.escalated

    def row(self, name: str) -> list[Cell]:
        return [
            name,
            self.sheets,
            *self.ack.cells(),
            *self.feedback.cells(),
            self.reminded,
            self.escalated,
        ]


def tally(
    sheets: Iterable[SentSheet],
    events: set[tuple[int, str]],
    calendar: Calendar,
    liaison: WorkflowDef,
    cutoff: date,
) -> tuple[dict[str, PartnerFigures], dict[tuple[str, str], int]]:
    """Each partner's figures, and the sheets by (partner, need)."""
    ack_default = charter_ack_days(liaison)
    figures: dict[str, PartnerFigures] = defaultdict(PartnerFigures)
    by_need: dict[tuple[str, str], int] = defaultdict(int)
    for sheet in sheets:
        name = name_and_kind(
            sheet.partner, PARTNER_KIND.get(sheet.partner_kind, sheet.partner_kind)
        )
        row = figures[name]
        row.sheets += 1
        by_need[(name, NEED_CATEGORY.get(sheet.need, sheet.need))] += 1
        ack_deadline = sheet.ack_days if sheet.ack_days is not None else ack_default
        row.ack.add(calendar, sheet.sent_at, sheet.acknowledged_at, ack_deadline, cutoff)
        if sheet.acknowledged_at is not None:
            own = feedback_days(liaison, sheet.feedback_days)
            row.feedback.add(calendar, sheet.acknowledged_at, sheet.feedback_at, own, cutoff)
        row.reminded += (sheet.id, REMIND) in events
        row.escalated += (sheet.id, ESCALATE) in events
    return figures, by_need


def partners_table(
    sheets: Iterable[SentSheet],
    events: set[tuple[int, str]],
    calendar: Calendar,
    liaison: WorkflowDef,
    cutoff: date,
) -> Table:
    ack_default, feedback_default = charter_ack_days(liaison), feedback_days(liaison, None)
    figures, by_need = tally(sheets, events, calendar, liaison, cutoff)
    total = PartnerFigures()
    rows: list[list[Cell]] = []
    for name in sorted(figures, key=lambda n: (-figures[n].sheets, n)):
        rows.append(figures[name].row(name))
        total.absorb(figures[name])
    if rows:
        rows.append(total.row("Ensemble"))
    columns = [
        "Partenaire",
        "Fiches envoyées",
        "Accusés de réception",
        "Jours ouvrés (médiane)",
        "Dans le délai",
        "Retours",
        "Jours ouvrés (médiane)",
        "Dans le délai",
        "Relancées",
        "Escaladées",
    ]
    need_rows: list[list[Cell]] = [[p, need, n] for (p, need), n in sorted(by_need.items())]
    blocks = [
        Block(columns, rows, "Délais de réponse des partenaires"),
        Block(["Partenaire", "Besoin", "Fiches"], need_rows, "Fiches par partenaire et besoin"),
    ]
    return Table(
        6,
        "Partenaires",
        [
            "Les fiches de liaison envoyées aux partenaires à la date d'arrêt. Accusé de "
            "réception : le délai entre l'envoi et la prise en charge ; retour : entre la prise "
            "en charge et le compte rendu du partenaire. Délais en jours ouvrés (sans "
            "week-ends ni jours fériés), comme la charte les compte.",
            f"Dans le délai : la part des fiches traitées dans le délai de la charte "
            f"({ack_default} jours ouvrés pour accuser réception, {feedback_default} pour le "
            f"retour, sauf délais propres à un partenaire), parmi celles traitées ou dont le "
            f"délai est passé.",
            "Relancées : fiches qui ont reçu une relance faute de réponse dans le délai ; "
            "escaladées : fiches signalées au responsable du partenaire et au référent.",
        ],
        blocks,
        empty=None if rows else "Aucune fiche de liaison envoyée à la date d'arrêt.",
    )
