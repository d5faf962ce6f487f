"""The power of a comparison of rupture rates between the test and the control group.

Two questions, one method: how many cases each group needs to detect a given fall of the
rupture rate (`cases_needed`), and which rate a cohort of a given size can detect
(`detectable_target`; the report asks it for a cohort's actual sizes, so that a reader knows
what a non-significant difference means).

The method is statsmodels' `NormalIndPower` on Cohen's h (`proportion_effectsize`: the
difference of the arcsine-transformed rates), two-sided. The arcsine transform makes the
variance of a rate independent of the rate, so a normal test of two independent samples is
exact to first order, and h is what the tables of the literature (Cohen 1988) and G*Power use
for two proportions. `zt_ind_solve_power` was the other candidate: it is the same normal
power function but for a difference of *means* in standard-deviation units, which for rates
means choosing a variance by hand (pooled, or each group's); h needs no such choice. The
classic pooled-variance formula gives 517 per group for 20 % against 13.5 %; this gives 514.

`ratio` is as statsmodels has it: control cases per test case (1: groups of equal size).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize

from casework.errors import CaseworkError

METHOD = (
    "test de deux proportions par l'approximation normale, bilatéral, sur la taille d'effet h "
    "de Cohen (statsmodels NormalIndPower)"
)


class PowerRefused(CaseworkError):
    """A question about power that has no answer as asked (said in French)."""


@dataclass(frozen=True)
class Design:
    """The test's settings: risk of a false positive, power, control cases per test case."""

    alpha: float = 0.05
    power: float = 0.8
    ratio: float = 1.0

    def __post_init__(self) -> None:
        if not 0 < self.alpha < 1:
            raise PowerRefused("le risque alpha doit être strictement entre 0 et 1")
        if not self.alpha < self.power < 1:
            raise PowerRefused(
                "la puissance doit être supérieure au risque alpha et inférieure à 1"
            )
        if not self.ratio > 0:
            raise PowerRefused("le rapport témoin / test doit être positif")


@dataclass(frozen=True)
class SampleSize:
    test: int  # cases in the test group
    control: int  # cases in the control group
    effect_size: float  # Cohen's h (positive: the target is below the baseline)

    @property
    def total(self) -> int:
        return self.test + self.control


@dataclass(frozen=True)
class Detectable:
    """The lowest test-group rate a cohort can tell from the baseline; None when even a rate
    of zero could not be told apart (too few cases)."""

    baseline: float
    test: int
    control: int
    effect_size: float
    target: float | None

    @property
    def difference(self) -> float | None:
        """The fall in rate, as a fraction (0.065 for 6.5 points)."""
        return None if self.target is None else self.baseline - self.target


def _rate(value: float, what: str) -> float:
    if not 0 < value < 1:
        raise PowerRefused(f"{what} doit être un taux strictement entre 0 et 1 (0,20 pour 20 %)")
    return value


def cases_needed(baseline: float, target: float, design: Design | None = None) -> SampleSize:
    """Cases per group to tell a test-group rate `target` from the control group's `baseline`."""
    design = design or Design()
    _rate(baseline, "le taux de référence")
    _rate(target, "le taux visé")
    if target == baseline:
        raise PowerRefused("le taux visé est égal au taux de référence : aucun effet à détecter")
    h = float(proportion_effectsize(baseline, target))
    test = NormalIndPower().solve_power(
        effect_size=abs(h),
        alpha=design.alpha,
        power=design.power,
        ratio=design.ratio,
        alternative="two-sided",
    )
    # Whole cases, rounded up; the solver's last digits (1000.0001) are not a case more.
    test = math.ceil(float(test) - 1e-3)
    return SampleSize(test, math.ceil(test * design.ratio - 1e-9), h)


def detectable_target(baseline: float, test: int, design: Design | None = None) -> Detectable:
    """The lowest test-group rate `test` cases (and `ratio` times as many controls) can tell
    from `baseline` with the design's power: the smallest fall the cohort can see."""
    design = design or Design()
    _rate(baseline, "le taux de référence")
    if test < 2:
        raise PowerRefused("il faut au moins 2 dossiers dans le groupe test")
    h = NormalIndPower().solve_power(
        effect_size=None,
        nobs1=test,
        alpha=design.alpha,
        power=design.power,
        ratio=design.ratio,
        alternative="two-sided",
    )
    h = float(h)
    # Cohen's h is 2·asin(√p₀) − 2·asin(√p₁): solved for p₁ below p₀.
    angle = math.asin(math.sqrt(baseline)) - h / 2
    target = math.sin(angle) ** 2 if angle > 0 else None
    return Detectable(baseline, test, math.ceil(test * design.ratio), h, target)
