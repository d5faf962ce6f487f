"""The smallest effect a cohort of this size could show: the rupture rate of the test group that
a two-sided test at 5 % would detect with 80 % power, against the control group's rate.

TODO(h15): use `casework.evaluation.power` (the `casework power` command's module) once it is
merged: the same statsmodels call (`NormalIndPower` on Cohen's h), kept here meanwhile.
"""

from __future__ import annotations

import math

from statsmodels.stats.power import NormalIndPower

ALPHA = 0.05
POWER = 0.8


def detectable_rate(
    baseline: float, n_test: int, n_control: int, alpha: float = ALPHA, power: float = POWER
) -> float | None:
    """The test group's rate below `baseline` detectable with these sizes (None when a group
    is empty or the baseline is 0: no lower rate to detect)."""
    if n_test < 2 or n_control < 2 or baseline <= 0:
        return None
    h = NormalIndPower().solve_power(
        effect_size=None,
        nobs1=n_test,
        alpha=alpha,
        power=power,
        ratio=n_control / n_test,
        alternative="two-sided",
    )
    # Cohen's h = 2 asin √p1 − 2 asin √p2: the rate h below the baseline.
    angle = math.asin(math.sqrt(baseline)) - float(h) / 2
    return 0.0 if angle <= 0 else math.sin(angle) ** 2
