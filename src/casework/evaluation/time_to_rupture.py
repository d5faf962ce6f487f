"""Table 3: how long contracts last before a rupture, by group (Kaplan–Meier), with its plot.

Time runs from the contract's start; a contract still running is counted up to its planned end
or up to the cut-off, whichever comes first (censored there): it is known not to have broken
until then, and nothing after.
"""

from __future__ import annotations

from casework.evaluation.extract import Key
from casework.evaluation.format import Cell, Interval, Num, Pct, PValue
from casework.evaluation.model import Block, Table
from casework.evaluation.plots import survival_plot
from casework.evaluation.survival import Curve, Durations, fit, log_rank
from casework.labels import GROUP

GROUPS = ("test", "control")
MONTHS = (3, 6, 12)


def by_group(counts: dict[Key, int]) -> dict[str, Durations]:
    """(group, year, days, event) counts → each group's durations, all years together."""
    merged: dict[str, dict[tuple[int, int], int]] = {g: {} for g in GROUPS}
    for (group, _year, days, event), n in counts.items():
        into = merged.setdefault(str(group), {})
        key = (int(str(days)), int(str(event)))
        into[key] = into.get(key, 0) + n
    return {group: Durations(found) for group, found in merged.items()}


def curve_rows(
    curves: dict[str, Curve | None], durations: dict[str, Durations]
) -> list[list[Cell]]:
    rows: list[list[Cell]] = []
    for group in GROUPS:
        curve = curves.get(group)
        row: list[Cell] = [f"Groupe {GROUP[group]}", durations[group].size, durations[group].events]
        for months in MONTHS:
            estimate, low, high = curve.at_month(months) if curve else (None, None, None)
            row += [Pct(estimate), Interval(low, high)]
        rows.append(row)
    return rows


def month_columns(first: str) -> list[str]:
    columns = [first, "Dossiers", "Événements"]
    for months in MONTHS:
        columns += [f"À {months} mois", "IC 95 %"]
    return columns


def time_to_rupture_table(counts: dict[Key, int]) -> Table:
    durations = by_group(counts)
    curves = {g: fit(f"Groupe {GROUP[g]}", durations[g]) for g in GROUPS}
    columns = month_columns("Groupe")
    columns[2] = "Ruptures"
    blocks = [
        Block(columns, curve_rows(curves, durations), "Part des contrats non rompus (Kaplan–Meier)")
    ]
    notes = []
    test = log_rank(durations["test"], durations["control"])
    if test is not None:
        blocks.append(
            Block(
                ["Test du log-rank", "Statistique", "p"],
                [
                    [
                        "Groupe test comparé au groupe témoin",
                        Num(test.statistic, 2),
                        PValue(test.p_value),
                    ]
                ],
            )
        )
    else:
        notes.append("Le test du log-rank demande des dossiers dans les deux groupes.")
    drawn = [c for c in curves.values() if c is not None]
    return Table(
        3,
        "Délai avant la rupture",
        [
            "Courbes de Kaplan–Meier : la part des contrats encore en cours (non rompus) à "
            "chaque durée depuis leur début. Un contrat arrivé à son terme prévu, ou encore en "
            "cours à la date d'arrêt, compte jusqu'à ce jour-là puis sort du calcul (censure) : "
            "on sait seulement qu'il n'était pas rompu jusque-là.",
            "À 3, 6 et 12 mois (un mois compté comme 30,4 jours) : la part estimée des "
            "contrats non rompus, avec son intervalle de confiance à 95 % ; « – » au-delà du "
            "plus long suivi.",
            "Test du log-rank : la probabilité (p) d'observer des courbes aussi différentes si "
            "le suivi ne changeait rien au rythme des ruptures.",
        ],
        blocks,
        notes,
        figure=survival_plot(drawn, "Mois depuis le début du contrat", "Contrats non rompus")
        if drawn
        else None,
        figure_caption="Part des contrats non rompus selon le temps écoulé depuis leur début, "
        "par groupe (zone claire : intervalle de confiance à 95 %).",
        empty=None if drawn else "Aucun dossier dans cette cohorte à cette date.",
    )
