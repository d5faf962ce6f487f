"""Table 7: the assessments at one year and at the contract's end — the young person's
situation, the diploma, satisfaction — by moment and by group.

Read from the `assessments` table (one row per case and moment, typed columns: a plain GROUP
BY), the assessments recorded by the cut-off; labels from `casework.labels`. Every value of the
closed vocabularies has its row, even at zero, so that two reports line up; a cohort with none
recorded yet gives a table that says so.
"""

from __future__ import annotations

from collections import Counter

from statsmodels.stats.weightstats import DescrStatsW

from casework.evaluation.extract import Key
from casework.evaluation.format import Cell, Num, Pct
from casework.evaluation.model import Block, Table
from casework.labels import ASSESSMENT_MOMENT, DIPLOMA_OUTCOME, GROUP, SITUATION

GROUPS = ("test", "control")
SATISFACTION = {str(n): f"{n} sur 5" for n in range(1, 6)}
NOT_SAID = "non renseignée"


def _block(
    caption: str,
    first: str,
    counts: dict[Key, int],
    position: int,
    labels: dict[str, str],
    totals: Counter[str],
) -> Block:
    """One variable of one moment's assessments: a row per value (the vocabulary's order),
    n and share of each group's assessments."""
    found: Counter[tuple[str, str | None]] = Counter()
    for key, n in counts.items():
        value = key[position]
        found[(str(key[0]), None if value is None else str(value))] += n
    values: list[str | None] = list(labels)
    if any(value is None for _, value in found):
        values.append(None)
    rows: list[list[Cell]] = []
    for value in values:
        row: list[Cell] = [NOT_SAID if value is None else labels[value]]
        for group in GROUPS:
            n = found[(group, value)]
            row += [n, Pct(n / totals[group] if totals[group] else None)]
        rows.append(row)
    columns = [first]
    for group in GROUPS:
        columns += [f"Groupe {GROUP[group]}", "%"]
    return Block(columns, rows, caption)


def _mean_satisfaction(counts: dict[Key, int]) -> list[Cell]:
    row: list[Cell] = ["satisfaction moyenne"]
    for group in GROUPS:
        said = {int(str(k[3])): n for k, n in counts.items() if k[0] == group and k[3] is not None}
        mean = DescrStatsW(list(said), weights=list(said.values())).mean if said else None
        row += [Num(None if mean is None else float(mean), 1), None]
    return row


def assessments_table(counts: dict[Key, int]) -> Table:
    """`counts`: (moment, group, situation, diploma, satisfaction) → assessments."""
    blocks = []
    for moment, said in ASSESSMENT_MOMENT.items():
        of_moment = {key[1:]: n for key, n in counts.items() if key[0] == moment}
        totals: Counter[str] = Counter()
        for key, n in of_moment.items():
            totals[str(key[0])] += n
        title = said.capitalize()
        count_row: list[Cell] = ["bilans enregistrés"]
        for group in GROUPS:
            count_row += [totals[group], None]
        situation = _block(
            f"{title} : situation du jeune", "Situation", of_moment, 1, SITUATION, totals
        )
        situation.rows.insert(0, count_row)
        satisfaction = _block(
            f"{title} : satisfaction", "Satisfaction", of_moment, 3, SATISFACTION, totals
        )
        satisfaction.rows.append(_mean_satisfaction(of_moment))
        blocks += [
            situation,
            _block(f"{title} : diplôme", "Diplôme", of_moment, 2, DIPLOMA_OUTCOME, totals),
            satisfaction,
        ]
    return Table(
        7,
        "Bilans",
        [
            "Les bilans que les référents enregistrent à un an de contrat et en fin de contrat : "
            "la situation du jeune, le diplôme obtenu ou non, sa satisfaction (de 1 à 5, "
            "« non renseignée » quand le jeune ne l'a pas dite). Un dossier a au plus un bilan "
            "de chaque sorte ; les parts se lisent sur les bilans du groupe à ce moment.",
            "Les bilans sont faits dans le groupe test, par les référents ; le groupe témoin, "
            "qui n'est pas suivi, n'en a pas : sa situation se lit dans les ruptures "
            "(tableaux 2 et 3). Un bilan enregistré après la date d'arrêt n'est pas compté.",
        ],
        blocks,
        empty=None if counts else "Aucun bilan enregistré à la date d'arrêt.",
    )
