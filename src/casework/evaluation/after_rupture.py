"""Table 4: what became of the apprentices after a rupture, and how fast a positive exit came.

A case's situation is its state at the cut-off; one it reached after the cut-off is not known
yet (the case counts as still in progress). The time to a positive exit runs from the rupture
date to the day the case entered `positive_exit` (Paris time) — Kaplan–Meier, censored at an
exit without solution or out of touch (no positive exit known after it) or at the cut-off.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date

from casework.evaluation.extract import AfterRupture
from casework.evaluation.format import Cell, Interval, Num, Pct
from casework.evaluation.model import Block, Table
from casework.evaluation.plots import survival_plot
from casework.evaluation.survival import MONTH_DAYS, Durations, fit
from casework.labels import GROUP, POSITIVE_EXIT
from casework.timers.calendar import Calendar

GROUPS = ("test", "control")
IN_PROGRESS = "en cours (rupture ou réorientation)"
SITUATIONS = [
    IN_PROGRESS,
    *(f"sortie positive : {label}" for label in POSITIVE_EXIT.values()),
    "sortie sans solution",
    "perdu de vue",
    "sans accompagnement (groupe témoin)",
]
EXIT_MONTHS = (1, 3, 6)


def situation(case: AfterRupture, known: bool) -> str:
    if not known:
        return IN_PROGRESS
    if case.state == "positive_exit" and case.exit_kind in POSITIVE_EXIT:
        return f"sortie positive : {POSITIVE_EXIT[case.exit_kind]}"
    return {
        "exit_without_solution": "sortie sans solution",
        "lost_contact": "perdu de vue",
        "rupture_recorded": "sans accompagnement (groupe témoin)",
    }.get(case.state, IN_PROGRESS)


def after_rupture_table(
    cases: Iterable[AfterRupture], calendar: Calendar, cutoff_day: date
) -> Table:
    counts: Counter[tuple[str, str]] = Counter()
    ruptures: Counter[str] = Counter()
    exits: Counter[tuple[int, int]] = Counter()
    for case in cases:
        entered = calendar.local_date(case.state_since)
        known = entered <= cutoff_day
        counts[(case.group, situation(case, known))] += 1
        ruptures[case.group] += 1
        if case.group != "test":
            continue
        if known and case.state == "positive_exit":
            exits[((entered - case.rupture_date).days, 1)] += 1
        elif known and case.state in ("exit_without_solution", "lost_contact"):
            exits[((entered - case.rupture_date).days, 0)] += 1
        else:
            exits[((cutoff_day - case.rupture_date).days, 0)] += 1
    rows: list[list[Cell]] = [["ruptures", *(x for g in GROUPS for x in (ruptures[g], None))]]
    for label in SITUATIONS:
        if any(counts[(g, label)] for g in GROUPS):
            row: list[Cell] = [label]
            for group in GROUPS:
                n = counts[(group, label)]
                row += [n, Pct(n / ruptures[group] if ruptures[group] else None)]
            rows.append(row)
    columns = ["Situation à la date d'arrêt"]
    for group in GROUPS:
        columns += [f"Groupe {GROUP[group]}", "%"]
    blocks = [Block(columns, rows, "Situation des jeunes après une rupture")]
    curve = fit("Groupe test", Durations(dict(exits)))
    figure = None
    if curve is not None and any(e for (_, e) in exits):
        exit_rows: list[list[Cell]] = []
        for months in EXIT_MONTHS:
            still, low, high = curve.at_month(months)
            exit_rows.append(
                [
                    f"{months} mois",
                    Pct(None if still is None else 1 - still),
                    Interval(None if high is None else 1 - high, None if low is None else 1 - low),
                ]
            )
        median = curve.fitter.median_survival_time_
        exit_rows.append(["Délai médian (mois)", _months(median), None])
        blocks.append(
            Block(
                ["Depuis la rupture", "Sortie positive", "IC 95 %"],
                exit_rows,
                "Délai de la rupture à une sortie positive (groupe test, Kaplan–Meier)",
            )
        )
        figure = survival_plot([curve], "Mois depuis la rupture", "Sans sortie positive", 12)
    return Table(
        4,
        "Après une rupture",
        [
            "Les dossiers dont le contrat a été rompu à la date d'arrêt, selon leur situation à "
            "cette date : la réorientation en cours, une sortie positive (un nouveau contrat "
            "dans le même métier, une autre orientation, une formation, un emploi), une sortie "
            "sans solution, ou le contact perdu. Le groupe témoin n'est pas accompagné : sa "
            "situation après la rupture n'est pas connue.",
            "Délai jusqu'à une sortie positive : la part des jeunes du groupe test sortis "
            "positivement 1, 3 et 6 mois après la rupture (Kaplan–Meier), et le délai médian. "
            "Un jeune sorti sans solution ou perdu de vue compte jusqu'à ce jour-là, un jeune "
            "encore en réorientation jusqu'à la date d'arrêt (censure).",
        ],
        blocks,
        figure=figure,
        figure_caption="Part des jeunes du groupe test encore sans sortie positive, selon le "
        "temps écoulé depuis la rupture."
        if figure
        else None,
        empty=None if ruptures else "Aucune rupture à la date d'arrêt.",
    )


def _months(days: float) -> Cell:
    return Num(days / MONTH_DAYS if days != float("inf") else None, 1)
