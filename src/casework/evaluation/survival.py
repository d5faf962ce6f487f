"""Kaplan–Meier estimates and the log-rank test (lifelines), fitted on grouped durations.

A million cases are a few thousand (days, event) pairs with a count each: lifelines fits them
with `weights`, which with whole-number weights is the same estimate as one row per case (a
test checks it against lifelines on the rows themselves).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass

from lifelines import KaplanMeierFitter
from lifelines.statistics import logrank_test

# Months as days, for reading a duration in days at "3 months": a mean month (365.25 / 12).
MONTH_DAYS = 30.4375


@dataclass(frozen=True)
class Durations:
    """(days, event 0/1) → how many cases."""

    counts: Mapping[tuple[int, int], int]

    @property
    def size(self) -> int:
        return sum(self.counts.values())

    @property
    def events(self) -> int:
        return sum(n for (_, event), n in self.counts.items() if event)

    def arrays(self) -> tuple[list[int], list[int], list[int]]:
        keys = sorted(self.counts)
        return [d for d, _ in keys], [e for _, e in keys], [self.counts[k] for k in keys]


@dataclass(frozen=True)
class Curve:
    label: str
    # (months, survival, low, high) at each time the estimate changes, from 0.
    steps: list[tuple[float, float, float, float]]
    last_day: int
    fitter: KaplanMeierFitter

    def at_month(self, months: float) -> tuple[float | None, float | None, float | None]:
        """The estimate at `months` and its 95 % interval; None past the last follow-up."""
        day = months * MONTH_DAYS
        if day > self.last_day:
            return None, None, None
        frame = self.fitter.confidence_interval_survival_function_
        estimate = self.fitter.survival_function_
        index = estimate.index[estimate.index <= day][-1]
        low, high = frame.loc[index].iloc[0], frame.loc[index].iloc[1]
        return float(estimate.loc[index].iloc[0]), float(low), float(high)


def fit(label: str, durations: Durations) -> Curve | None:
    if durations.size == 0:
        return None
    days, events, weights = durations.arrays()
    fitter = KaplanMeierFitter()
    with warnings.catch_warnings():
        # lifelines says weights are unusual; ours are whole counts of identical rows.
        warnings.simplefilter("ignore")
        fitter.fit(days, events, weights=weights, label=label)
    survival = fitter.survival_function_.iloc[:, 0]
    bounds = fitter.confidence_interval_survival_function_
    steps = [
        (
            float(t) / MONTH_DAYS,
            float(s),
            float(bounds.loc[t].iloc[0]),
            float(bounds.loc[t].iloc[1]),
        )
        for t, s in survival.items()
    ]
    return Curve(label, steps, max(days), fitter)


@dataclass(frozen=True)
class LogRank:
    statistic: float
    p_value: float


def log_rank(a: Durations, b: Durations) -> LogRank | None:
    """Whether two curves differ (None unless both groups have cases and one an event)."""
    if a.size == 0 or b.size == 0 or a.events + b.events == 0:
        return None
    days_a, events_a, weights_a = a.arrays()
    days_b, events_b, weights_b = b.arrays()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = logrank_test(
            days_a, days_b, events_a, events_b, weights_A=weights_a, weights_B=weights_b
        )
    return LogRank(float(result.test_statistic), float(result.p_value))
