"""Step 4 of cross-matching, estimating the Fellegi-Sunter model, unsupervised.

Guarantees: u, how often each level happens between two unrelated people, is measured on random
pairs; m, how often it happens for the same person, is estimated by EM on the candidates'
patterns (in sessions, as splink does); then the prior, the share of all pairs that match.
Nothing is tuned on a known truth.
How common a name is adjusts what agreeing on it weighs (`Frequencies`).
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Sequence

import numpy as np

from casework.intake.linkage.compare import among, compare_pairs, count_patterns
from casework.intake.linkage.model import FIELDS, LEVELS, Model
from casework.intake.linkage.normalise import Side, Words

RANDOM_PAIRS = 100_000  # sampled to measure u, and to estimate m on the same day
EM_ROUNDS = 50


def measure_u(a: Side, b: Side, words_: Words, rng: np.random.Generator) -> dict[str, list[float]]:
    """How often each level happens between two people taken at random (almost never the
    same person), smoothed so that no level is impossible."""
    size = min(RANDOM_PAIRS, len(a) * len(b))
    i = rng.integers(0, len(a), size)
    j = rng.integers(0, len(b), size)
    levels = compare_pairs(a, b, i, j, words_).levels
    u = {}
    for column, name in enumerate(FIELDS):
        present = levels[:, column][levels[:, column] >= 0]
        counts = np.bincount(present, minlength=LEVELS[name]).astype(float) + 1.0
        u[name] = (counts / counts.sum()).tolist()
    return u


def same_day_patterns(
    a: Side, b: Side, words_: Words, rng: random.Random
) -> Counter[tuple[int, ...]]:
    """The patterns of every pair born the same day, for a random sample of days (up to
    RANDOM_PAIRS pairs)."""
    days_a: dict[int, list[int]] = {}
    days_b: dict[int, list[int]] = {}
    for side, days in ((a, days_a), (b, days_b)):
        for i, day in enumerate(side.date_code.tolist()):
            if day:
                days.setdefault(day, []).append(i)
    shared = sorted(set(days_a) & set(days_b))
    rng.shuffle(shared)
    left: list[np.ndarray] = []
    right: list[np.ndarray] = []
    budget = RANDOM_PAIRS
    for day in shared:
        la, rb = np.array(days_a[day]), np.array(days_b[day])
        left.append(np.repeat(la, len(rb)))
        right.append(np.tile(rb, len(la)))
        budget -= len(la) * len(rb)
        if budget <= 0:
            break
    if not left:
        return Counter()
    i, j = np.concatenate(left), np.concatenate(right)
    return count_patterns(compare_pairs(a, b, i, j, words_))[1]


def estimate_model(
    patterns: Counter[tuple[int, ...]],
    dates_agree: Counter[tuple[int, ...]],
    u: dict[str, list[float]],
    pairs: int,
) -> Model:
    """m by EM, in two sessions as splink does: among candidates whose names agree exactly
    (m of the date and the postcode), and among pairs born the same day (`dates_agree`, blocked
    on the date alone, so that their names are as unrelated as random people's: m of the names
    and the postcode); a field a session selects on tells nothing there and is left out. Then the
    prior: the share of all `pairs` (every pair of the two lists) that match, from the
    candidates' Bayes factors (pairs never compared are taken as different people)."""
    m = {name: _starting_m(LEVELS[name]) for name in FIELDS}
    names_agree = Counter({k: n for k, n in patterns.items() if k[0] == 3 and k[1] == 3})
    by_names = _em(names_agree, u, m, ("birth_date", "postcode"))
    by_dates = _em(dates_agree, u, m, ("birth_name", "first_name", "postcode"))
    m = {
        "birth_name": by_dates["birth_name"],
        "first_name": by_dates["first_name"],
        "birth_date": by_names["birth_date"],
        "postcode": [
            (x + y) / 2 for x, y in zip(by_names["postcode"], by_dates["postcode"], strict=True)
        ],
    }
    factors = {k: 2 ** Model(m, u, 0.5).weight(k) for k in patterns}
    prior = min(max(1, sum(patterns.values())), pairs) / pairs
    for _ in range(EM_ROUNDS):
        expected = sum(
            n * prior * f / (prior * f + 1 - prior)
            for k, n in patterns.items()
            for f in [factors[k]]
        )
        prior = min(max(expected, 1.0) / pairs, 0.5)
    return Model(m, u, prior)


def _em(
    patterns: Counter[tuple[int, ...]],
    u: dict[str, list[float]],
    start: dict[str, list[float]],
    fields: tuple[str, ...],
) -> dict[str, list[float]]:
    """EM over `patterns` on `fields` only: m and the session's share of matches, u held."""
    m = {name: list(start[name]) for name in FIELDS}
    share = 0.5
    total = sum(patterns.values())
    if not total:
        return m
    used = [FIELDS.index(name) for name in fields]
    for _ in range(EM_ROUNDS):
        expected = {name: [1e-6] * LEVELS[name] for name in fields}
        matched = 0.0
        for levels, count in patterns.items():
            ratio = share / (1 - share)
            for index in used:
                level = levels[index]
                if level >= 0:
                    name = FIELDS[index]
                    ratio *= m[name][level] / u[name][level]
            p = ratio / (1 + ratio)
            matched += p * count
            for index in used:
                if levels[index] >= 0:
                    expected[FIELDS[index]][levels[index]] += p * count
        for name in fields:
            m[name] = [e / sum(expected[name]) for e in expected[name]]
        share = min(max(matched / total, 1e-6), 1 - 1e-6)
    return m


def _starting_m(levels: int) -> list[float]:
    """Agreement likely for the same person: most of the mass on the top level."""
    base = [0.02] * levels
    base[-1] = 1 - 0.02 * (levels - 1)
    return base


class Frequencies:
    """How common each birth name and usual first name is, on both lists together: agreeing on
    a rare name says more than agreeing on "Martin" (splink's term-frequency adjustment)."""

    def __init__(self, a: Side, b: Side, words_: Words, model: Model):
        self.total = len(a) + len(b)
        size = len(words_.text)
        self.birth = np.bincount(a.birth_id, minlength=size) + np.bincount(
            b.birth_id, minlength=size
        )
        self.first = np.bincount(a.first_id, minlength=size) + np.bincount(
            b.first_id, minlength=size
        )
        self.u_birth = model.u["birth_name"][3]
        self.u_first = model.u["first_name"][3]

    def adjust(
        self, a: Side, b: Side, i: np.ndarray, j: np.ndarray, levels: np.ndarray
    ) -> np.ndarray:
        """What to add to the birth name's and first name's weights for exact agreement: the
        generic u replaced by the frequency of the very name."""
        out = np.zeros((len(i), 2))
        if not len(i):
            return out
        birth_share = np.maximum(self.birth[a.birth_id[i]], 1) / self.total
        out[:, 0] = np.where(levels[:, 0] == 3, np.log2(self.u_birth / birth_share), 0.0)
        usual = a.first_id[i]
        known = among(usual, b.firsts[j])
        first_share = np.maximum(self.first[usual], 1) / self.total
        out[:, 1] = np.where((levels[:, 1] == 3) & known, np.log2(self.u_first / first_share), 0.0)
        return out

    def most(self, levels: Sequence[int]) -> float:
        """The largest adjustment any pair with these levels could get."""
        top = 0.0
        if levels[0] == 3:
            top += math.log2(self.u_birth * self.total)
        if levels[1] == 3:
            top += math.log2(self.u_first * self.total)
        return top
