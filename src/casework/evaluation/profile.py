"""Table 1: who the cohort's cases are, by group and entry year, and how alike the groups are.

Counts come grouped from the database (`extract.profile_counts`); the standardised difference
of a category is that of its indicator, (p_test − p_control) / √((p_t(1 − p_t) + p_c(1 −
p_c)) / 2), and the age's uses the groups' means and standard deviations from statsmodels'
weighted statistics over the grouped ages. |d| < 0.1 is the usual mark of balanced groups.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Iterable

from statsmodels.stats.weightstats import DescrStatsW

from casework.evaluation.bands import Band, band_label, band_order
from casework.evaluation.extract import Key
from casework.evaluation.format import Cell, Num, Pct
from casework.evaluation.model import Block, Table
from casework.intake.levels import LEVELS, diploma_kind
from casework.labels import LEARNER_STATUS

GROUPS = ("test", "control")
UNKNOWN = "inconnu"
OTHER_DEPARTEMENTS = "autres départements"
SEX = {"F": "femmes", "M": "hommes"}
_OLD_LEVELS = {**LEVELS, 8: "I"}  # the old level I covered today's 7 and 8


def level_label(level: int) -> str:
    """Both nomenclatures: "niveau 3 (ancien V)"."""
    old = _OLD_LEVELS.get(level)
    return f"niveau {level}" + (f" (ancien {old})" if old else "")


def years_of(counts: dict[Key, int]) -> list[int]:
    return sorted({int(key[1]) for key in counts if key[1] is not None})


def collapse(
    counts: dict[Key, int], label: Callable[[object], str]
) -> dict[tuple[str, int, str], int]:
    """(group, year, value) counts → (group, year, label) counts."""
    out: Counter[tuple[str, int, str]] = Counter()
    for (group, year, value), n in counts.items():
        out[(str(group), int(str(year)), label(value))] += n
    return dict(out)


def standardised_difference(p_test: float, p_control: float) -> float | None:
    spread = math.sqrt((p_test * (1 - p_test) + p_control * (1 - p_control)) / 2)
    if spread == 0:
        return 0.0 if p_test == p_control else None
    return (p_test - p_control) / spread


def _columns(years: list[int]) -> list[str]:
    columns = [""]
    if len(years) > 1:
        for year in years:
            columns += [f"Test {year}", "%", f"Témoin {year}", "%"]
    return [*columns, "Test", "%", "Témoin", "%", "Différence standardisée"]


def _totals(counts: dict[tuple[str, int, str], int]) -> dict[tuple[str, int | None], int]:
    totals: Counter[tuple[str, int | None]] = Counter()
    for (group, year, _), n in counts.items():
        totals[(group, year)] += n
        totals[(group, None)] += n
    return dict(totals)


def category_block(
    caption: str,
    counts: dict[tuple[str, int, str], int],
    order: Iterable[str],
    years: list[int],
    keep_empty: Iterable[str] = (),
) -> Block:
    """One variable: a row per category, n and % of each group (per year, then all years),
    and the category's standardised difference over all years."""
    totals = _totals(counts)
    shown = [c for c in order if c in keep_empty or any(k[2] == c for k in counts)]
    rows: list[list[Cell]] = []
    for category in shown:
        row: list[Cell] = [category]
        spans: list[int | None] = [*years, None] if len(years) > 1 else [None]
        shares = {}
        for year in spans:
            for group in GROUPS:
                n = sum(
                    v
                    for (g, y, c), v in counts.items()
                    if g == group and c == category and (year is None or y == year)
                )
                total = totals.get((group, year), 0)
                share = n / total if total else None
                row += [n, Pct(share)]
                if year is None:
                    shares[group] = share
        test, control = shares["test"], shares["control"]
        difference = None
        if test is not None and control is not None:
            difference = standardised_difference(test, control)
        rows.append([*row, Num(difference, 2)])
    return Block(_columns(years), rows, caption)


def age_block(age_counts: dict[Key, int], bands: tuple[Band, ...], years: list[int]) -> Block:
    counts = collapse(age_counts, lambda age: band_label(bands, int(str(age))))
    block = category_block("Âge au début du contrat", counts, band_order(bands), years)
    block.rows.append(_mean_age_row(age_counts, years))
    return block


def _mean_age_row(age_counts: dict[Key, int], years: list[int]) -> list[Cell]:
    """Mean age (years) per group; the standardised difference of the means."""
    row: list[Cell] = ["âge moyen (années)"]
    stats = {}
    spans: list[int | None] = [*years, None] if len(years) > 1 else [None]
    for year in spans:
        for group in GROUPS:
            ages = [
                (int(str(a)), n)
                for (g, y, a), n in age_counts.items()
                if g == group and (year is None or y == year)
            ]
            described = (
                DescrStatsW([a for a, _ in ages], weights=[n for _, n in ages], ddof=1)
                if sum(n for _, n in ages) > 1
                else None
            )
            row += [None if described is None else Num(described.mean, 1), None]
            if year is None:
                stats[group] = described
    test, control = stats["test"], stats["control"]
    difference = None
    if test is not None and control is not None:
        spread = math.sqrt((test.var + control.var) / 2)
        difference = (test.mean - control.mean) / spread if spread else 0.0
    return [*row, Num(difference, 2)]


def profile_table(
    counts: dict[str, dict[Key, int]], bands: tuple[Band, ...], departements_shown: int
) -> Table:
    years = years_of(counts["sex"])
    sizes = collapse(counts["sex"], lambda _: "effectif")
    blocks = [
        _sizes_block(sizes, years),
        age_block(counts["age"], bands, years),
        category_block(
            "Sexe",
            collapse(counts["sex"], lambda s: SEX.get(str(s), UNKNOWN)),
            [*SEX.values(), UNKNOWN],
            years,
        ),
        _levels_block(counts["level"], years),
        category_block(
            "Statut",
            collapse(counts["status"], lambda s: LEARNER_STATUS.get(str(s), UNKNOWN)),
            [*LEARNER_STATUS.values(), UNKNOWN],
            years,
        ),
        _diplomas_block(counts["diploma"], years),
        _departements_block(counts["departement"], years, departements_shown),
    ]
    return Table(
        1,
        "Profil des jeunes",
        [
            "Les dossiers de la cohorte dont le contrat avait commencé à la date d'arrêt, par "
            "groupe (test : accompagné ; témoin : observé seulement) et par année d'entrée "
            "(l'année du début du contrat). Chaque pourcentage se lit dans sa colonne : part "
            "du groupe (de l'année) qui a cette caractéristique.",
            "Âge : en années révolues au début du contrat. Niveau de formation : la "
            "nomenclature de 2019 (3 à 8) et son équivalent d'avant 2019 (V à I). Statut : "
            "apprenti ou étudiant de l'enseignement supérieur, selon le fichier de la chambre. "
            "Diplôme : le type de diplôme préparé, lu dans son intitulé.",
            "Différence standardisée : écart entre les groupes rapporté à leur dispersion, "
            "calculé sur toutes les années ; en valeur absolue, moins de 0,1 signale des "
            "groupes comparables sur ce point.",
        ],
        blocks,
        empty=None if sizes else "Aucun dossier dans cette cohorte à cette date.",
    )


def _sizes_block(sizes: dict[tuple[str, int, str], int], years: list[int]) -> Block:
    """How many: every group is all of itself, so no difference to measure."""
    block = category_block("Effectifs", sizes, ["effectif"], years, keep_empty=["effectif"])
    block.rows[0][-1] = None
    block.columns[-1] = ""
    return block


def _levels_block(level_counts: dict[Key, int], years: list[int]) -> Block:
    counts = collapse(level_counts, lambda v: UNKNOWN if v is None else level_label(int(str(v))))
    order = [level_label(n) for n in range(3, 9)] + [UNKNOWN]
    return category_block("Niveau de formation préparé", counts, order, years)


def _diplomas_block(diploma_counts: dict[Key, int], years: list[int]) -> Block:
    def kind(text: object) -> str:
        if text is None:
            return UNKNOWN
        return diploma_kind(str(text)) or "autre diplôme"

    counts = collapse(diploma_counts, kind)
    order = sorted({k[2] for k in counts} - {UNKNOWN, "autre diplôme"}, key=_by_total(counts))
    return category_block("Diplôme préparé", counts, [*order, "autre diplôme", UNKNOWN], years)


def _departements_block(departement_counts: dict[Key, int], years: list[int], shown: int) -> Block:
    counts = collapse(departement_counts, lambda d: UNKNOWN if d is None else str(d))
    named = sorted({k[2] for k in counts} - {UNKNOWN}, key=_by_total(counts))
    kept = set(named[:shown])
    if len(named) > shown:
        counts = collapse(
            {(g, y, c): n for (g, y, c), n in counts.items()},
            lambda c: str(c) if c in kept or c == UNKNOWN else OTHER_DEPARTEMENTS,
        )
    order = [*named[:shown], OTHER_DEPARTEMENTS, UNKNOWN]
    return category_block("Département de résidence", counts, order, years)


def _by_total(counts: dict[tuple[str, int, str], int]) -> Callable[[str], tuple[int, str]]:
    """Most frequent first, then by name."""
    totals: Counter[str] = Counter()
    for (_, _, category), n in counts.items():
        totals[category] += n
    return lambda category: (-totals[category], category)
