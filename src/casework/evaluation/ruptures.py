"""Table 2: contract ruptures by group and entry year, and the difference the programme made.

Intervals are statsmodels' (Wilson for a rate, Newcombe's hybrid score for a difference of
rates, the log method for a relative risk); Fisher's exact test is scipy's. Nothing here is
computed by hand but the point estimates (a count over a count).
"""

from __future__ import annotations

from dataclasses import dataclass

from scipy.stats import fisher_exact
from statsmodels.stats.proportion import confint_proportions_2indep, proportion_confint

from casework.evaluation.extract import Key
from casework.evaluation.format import Cell, Interval, Num, Pct, PValue, percent
from casework.evaluation.model import Block, Table
from casework.evaluation.power import Design, detectable_target
from casework.labels import GROUP

GROUPS = ("test", "control")
DIFFERENCE = "Différence de taux (test − témoin, en points)"


@dataclass(frozen=True)
class Rate:
    ruptures: int
    cases: int

    @property
    def rate(self) -> float | None:
        return self.ruptures / self.cases if self.cases else None

    def wilson(self) -> tuple[float | None, float | None]:
        if not self.cases:
            return None, None
        low, high = proportion_confint(self.ruptures, self.cases, alpha=0.05, method="wilson")
        return float(low), float(high)


@dataclass(frozen=True)
class Comparison:
    difference: float
    difference_ci: tuple[float, float]
    relative_risk: float | None
    relative_risk_ci: tuple[float, float] | None
    fisher_p: float
    detectable: float | None


def rates(counts: dict[Key, int]) -> dict[tuple[str, int | None], Rate]:
    """(group, entry year or None for all years) → its rate."""
    ruptures: dict[tuple[str, int | None], int] = {}
    cases: dict[tuple[str, int | None], int] = {}
    for (group, year, ruptured), n in counts.items():
        for key in ((str(group), int(str(year))), (str(group), None)):
            cases[key] = cases.get(key, 0) + n
            ruptures[key] = ruptures.get(key, 0) + (n if ruptured else 0)
    return {key: Rate(ruptures[key], cases[key]) for key in cases}


def compare(test: Rate, control: Rate) -> Comparison | None:
    """Test − control: None unless both groups have cases."""
    if not test.cases or not control.cases:
        return None
    args = (test.ruptures, test.cases, control.ruptures, control.cases)
    low, high = confint_proportions_2indep(*args, method="newcomb", compare="diff")
    relative_risk, ratio_ci = None, None
    if control.ruptures and test.ruptures:
        relative_risk = (test.ruptures / test.cases) / (control.ruptures / control.cases)
        r_low, r_high = confint_proportions_2indep(*args, method="log", compare="ratio")
        ratio_ci = (float(r_low), float(r_high))
    table = [
        [test.ruptures, test.cases - test.ruptures],
        [control.ruptures, control.cases - control.ruptures],
    ]
    _, p = fisher_exact(table, alternative="two-sided")
    return Comparison(
        difference=test.ruptures / test.cases - control.ruptures / control.cases,
        difference_ci=(float(low), float(high)),
        relative_risk=relative_risk,
        relative_risk_ci=ratio_ci,
        fisher_p=float(p),
        detectable=_detectable(control.ruptures / control.cases, test.cases, control.cases),
    )


def ruptures_table(counts: dict[Key, int]) -> Table:
    by = rates(counts)
    years = sorted({year for _, year in by if year is not None})
    rows: list[list[Cell]] = []
    for year in [*years, None] if len(years) > 1 else [None]:
        for group in GROUPS:
            rate = by.get((group, year), Rate(0, 0))
            low, high = rate.wilson()
            when = "toutes années" if year is None else str(year)
            rows.append(
                [
                    f"{GROUP[group].capitalize()}, {when}",
                    rate.cases,
                    rate.ruptures,
                    Pct(rate.rate),
                    Interval(low, high),
                ]
            )
    blocks = [
        Block(
            ["Groupe", "Dossiers", "Ruptures", "Taux", "IC 95 % (Wilson)"],
            rows,
            "Ruptures par groupe et année d'entrée",
        ),
    ]
    comparison = compare(by.get(("test", None), Rate(0, 0)), by.get(("control", None), Rate(0, 0)))
    notes = []
    if comparison is None:
        notes.append("La comparaison demande des dossiers dans les deux groupes.")
    else:
        blocks.append(_comparison_block(comparison))
        notes.append(_reading(comparison))
    return Table(
        2,
        "Ruptures de contrat",
        [
            "Une rupture est comptée quand le contrat a été rompu à la date d'arrêt au plus "
            "tard (date de rupture connue, du fichier de la chambre ou saisie par le "
            "référent). Taux : ruptures rapportées aux dossiers du groupe.",
            "IC 95 % : l'intervalle de confiance à 95 % (méthode de Wilson), la plage des taux "
            "compatibles avec ce qui est observé.",
            "Différence test − témoin : en points de pourcentage, avec l'intervalle de "
            "Newcombe ; risque relatif : taux du groupe test divisé par celui du groupe "
            "témoin (moins de 1 : moins de ruptures dans le groupe test) ; test exact de "
            "Fisher : la probabilité d'observer un écart au moins aussi grand si le suivi ne "
            "changeait rien (p).",
            "Effet minimal détectable : le taux du groupe test qu'une étude de cette taille "
            "aurait 80 % de chances de distinguer de celui du groupe témoin (test bilatéral à "
            "5 %). Un écart plus petit peut exister sans que l'étude puisse le montrer.",
        ],
        blocks,
        notes,
        empty=None if by else "Aucun dossier dans cette cohorte à cette date.",
    )


def _comparison_block(c: Comparison) -> Block:
    rows: list[list[Cell]] = [
        [
            "Différence de taux (test − témoin, en points)",
            Pct(c.difference),
            Interval(*c.difference_ci),
        ],
        [
            "Risque relatif (test / témoin)",
            Num(c.relative_risk, 2),
            Interval(*c.relative_risk_ci, pct=False, digits=2) if c.relative_risk_ci else None,
        ],
        ["Test exact de Fisher (p)", PValue(c.fisher_p), None],
        ["Taux du groupe test détectable (80 %, 5 %)", Pct(c.detectable), None],
    ]
    return Block(["Comparaison", "Valeur", "IC 95 %"], rows, "Groupe test comparé au groupe témoin")


def _detectable(baseline: float, n_test: int, n_control: int) -> float | None:
    """The test group's rate below `baseline` these sizes could show (`casework power`'s
    computation, 5 %, 80 %): 0 when even no rupture at all could not be told apart; None when
    there is nothing to compare (a group too small, a control rate of 0 or 1)."""
    if n_test < 2 or n_control < 2 or not 0 < baseline < 1:
        return None
    found = detectable_target(baseline, n_test, Design(ratio=n_control / n_test))
    return 0.0 if found.target is None else found.target


def _reading(c: Comparison) -> str:
    if c.fisher_p < 0.05:
        return "L'écart entre les groupes est statistiquement significatif au seuil de 5 %."
    said = "L'écart entre les groupes n'est pas statistiquement significatif au seuil de 5 %"
    if c.detectable is None:
        return f"{said}."
    if c.detectable < 0.0005:
        return (
            f"{said} : à cette taille, l'étude n'aurait pas pu montrer d'écart, même sans "
            "aucune rupture dans le groupe test."
        )
    return (
        f"{said} : à cette taille, l'étude ne pouvait montrer qu'un taux du groupe test de "
        f"{percent(c.detectable)} ou moins."
    )
